"""The few route-netlink requests the lab's wiring makes, packed by hand.

pyroute2 0.9 spends about a millisecond of Python on each request (its asyncio core), and a k=8 lab makes
about 2,000 of them while nothing else can run. Here a request is a few struct.packs and one send. Layouts
are the kernel's (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/veth.h).
"""
from __future__ import annotations

import os
import socket
import struct
from ipaddress import IPv4Address, IPv6Address

NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x100, 0x200, 0x400
RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE = 16, 20, 24
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINKINFO, IFLA_NET_NS_PID = 1, 3, 4, 18, 19
IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 1, 2, 1
IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST = 1, 2, 4
RTA_GATEWAY, RTA_OIF = 5, 4
IFF_UP = 0x1
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 3, 0, 1
HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port


def attr(kind: int, data: bytes) -> bytes:
    """One attribute (rtattr), padded to 4 bytes."""
    size = 4 + len(data)
    return struct.pack("=HH", size, kind) + data + bytes(-size % 4)


def _name(name: str) -> bytes:
    return attr(IFLA_IFNAME, name.encode() + b"\0")


def _mac(mac: str | None) -> bytes:
    return attr(IFLA_ADDRESS, bytes.fromhex(mac.replace(":", ""))) if mac else b""


def _ifinfo(up: bool) -> bytes:
    """ifinfomsg: any family, no index (the name says which), IFF_UP set (or left as it is)."""
    flags = IFF_UP if up else 0
    return struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, flags, flags)


def veth_request(end1: str, pid1: int, mac1: str | None, end2: str, pid2: int, mac2: str | None) -> bytes:
    """RTM_NEWLINK's body for a veth pair, each end in the namespace of its process, `end1` up (the peer
    cannot be: the kernel opens it before the pair is joined, and refuses with ENOTCONN)."""
    peer = _ifinfo(False) + _name(end2) + attr(IFLA_NET_NS_PID, struct.pack("=I", pid2)) + _mac(mac2)
    info = attr(IFLA_INFO_KIND, b"veth") + attr(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer))
    return (_ifinfo(True) + _name(end1) + attr(IFLA_NET_NS_PID, struct.pack("=I", pid1)) + _mac(mac1)
            + attr(IFLA_LINKINFO, info))


def link_request(name: str, mac: str | None = None, mtu: int | None = None) -> bytes:
    """RTM_NEWLINK's body that brings an existing interface up, with this MAC and MTU if given."""
    return _ifinfo(True) + _name(name) + _mac(mac) + (attr(IFLA_MTU, struct.pack("=I", mtu)) if mtu else b"")


def address_request(index: int, address: IPv4Address | IPv6Address, prefixlen: int,
                    broadcast: IPv4Address | None = None, flags: int = 0) -> bytes:
    """RTM_NEWADDR's body: `address`/`prefixlen` on interface `index`."""
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    body = struct.pack("=BBBBI", family, prefixlen, flags, RT_SCOPE_UNIVERSE, index)
    body += attr(IFA_LOCAL, address.packed) + attr(IFA_ADDRESS, address.packed)
    return body + (attr(IFA_BROADCAST, broadcast.packed) if broadcast else b"")


def default_route_request(index: int, gateway: IPv4Address | IPv6Address) -> bytes:
    """RTM_NEWROUTE's body: the default route via `gateway` out of interface `index`."""
    family = socket.AF_INET if gateway.version == 4 else socket.AF_INET6
    body = struct.pack("=BBBBBBBBI", family, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
    return body + attr(RTA_GATEWAY, gateway.packed) + attr(RTA_OIF, struct.pack("=I", index))


class Rtnl:
    """A route-netlink socket of the network namespace its thread was in when it was made."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def request(self, kind: int, body: bytes, flags: int = 0) -> None:
        """Send one request and wait for the kernel's answer: nothing, or an OSError saying why not."""
        self.seq += 1
        flags |= NLM_F_REQUEST | NLM_F_ACK
        self.sock.sendto(HEADER.pack(HEADER.size + len(body), kind, flags, self.seq, 0) + body, (0, 0))
        while True:
            reply = self.sock.recv(65536)
            _, answer, _, seq, _ = HEADER.unpack_from(reply)
            if answer == NLMSG_ERROR and seq == self.seq:
                error = -struct.unpack_from("=i", reply, HEADER.size)[0]
                if error:
                    raise OSError(error, os.strerror(error))
                return

    def make(self, body: bytes) -> None:
        self.request(RTM_NEWLINK, body, NLM_F_CREATE | NLM_F_EXCL)

    def set(self, body: bytes) -> None:
        self.request(RTM_NEWLINK, body)

    def add_address(self, body: bytes) -> None:
        self.request(RTM_NEWADDR, body, NLM_F_CREATE | NLM_F_REPLACE)

    def add_route(self, body: bytes) -> None:
        self.request(RTM_NEWROUTE, body, NLM_F_CREATE | NLM_F_REPLACE)
