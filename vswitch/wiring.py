"""A node's cables and addresses made from the lab's own process over netlink, with no command forked.

Mininet makes a cable and sets a host up with one `ip` or `ifconfig` after another, each a round trip
through the node's shell: k=8's 641 cables and 394 hosts took about 4,500 of them, 9 of the network's
13.5 s on 2 cores. Here a cable is two netlink requests (made, each end in its namespace; its far end up), and a
host one pass in its namespace (vswitch.rtnetlink). Nodes on other machines get the same
`Setup` as shell commands (`commands`), run over ssh.
"""
from __future__ import annotations

import ctypes
import fcntl
import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv6Interface, ip_address
from pathlib import Path

from probes.netns import entered
from vswitch.rtnetlink import Rtnl, address_request, default_route_request, link_request, veth_request

SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17  # set tx checksum offload (what `ethtool -K IF tx` sets)
IFA_F_NODAD = 0x02
IPV6_OFF = (("net/ipv6/conf/all/disable_ipv6", "1"), ("net/ipv6/conf/default/disable_ipv6", "1"))


class WiringError(Exception):
    """The kernel refused a cable or an address: what was tried, where, and why."""


@dataclass(frozen=True)
class Setup:
    """How a host's namespace is set up: `lo` up, IPv6 off (but on its interface when it has an IPv6
    address), and its data interface (`intf`; None: it has none) with these MAC, MTU and addresses,
    default routes, and tx checksum offload off (TCP through userspace OVS needs it)."""

    intf: str | None = None
    mac: str | None = None
    ip: str | None = None  # 10.0.1.2/24
    gateway: str | None = None
    mtu: int | None = None
    ip6: str | None = None
    gateway6: str | None = None

    def sysctls(self) -> list[tuple[str, str]]:
        """In order: IPv6 off, then on for the interface alone when it has an address, without router
        solicitation, autoconfiguration or duplicate detection (which would hold the address back a second)."""
        if not (self.ip6 and self.intf):
            return list(IPV6_OFF)
        conf = f"net/ipv6/conf/{self.intf}"
        return [*IPV6_OFF, ("net/ipv6/conf/all/disable_ipv6", "0"), (f"{conf}/disable_ipv6", "0"),
                (f"{conf}/accept_dad", "0"), (f"{conf}/accept_ra", "0"), (f"{conf}/router_solicitations", "0"),
                (f"{conf}/dad_transmits", "0")]


@contextmanager
def _kernel(action: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise WiringError(f"cannot {action}: {exc.strerror or exc}") from None


def veth(end1: str, pid1: int, mac1: str | None, end2: str, pid2: int, mac2: str | None) -> None:
    """A cable: a veth pair made, up, with each end in the namespace of its node's process."""
    with _kernel(f"make the cable {end1}-{end2}"):
        with Rtnl() as rtnl:
            rtnl.make(veth_request(end1, pid1, mac1, end2, pid2, mac2))
        with entered(pid2), Rtnl() as rtnl:
            rtnl.set(link_request(end2))


def apply(pid: int, setup: Setup) -> None:
    """Set up the namespace of process `pid` as `setup` says."""
    with _kernel(f"set up the namespace of {pid} ({setup.intf or 'no data interface'})"), entered(pid):
        for key, value in setup.sysctls():
            Path("/proc/sys", key).write_text(value)  # this thread's namespace's
        with Rtnl() as rtnl:
            rtnl.set(link_request("lo"))
            if setup.intf:
                _interface(rtnl, setup.intf, setup)
        if setup.intf:
            _checksums_off(setup.intf)


def _interface(rtnl: Rtnl, intf: str, setup: Setup) -> None:
    rtnl.set(link_request(intf, setup.mac, setup.mtu))
    index = socket.if_nametoindex(intf)
    if setup.ip:
        ip = IPv4Interface(setup.ip)
        rtnl.add_address(address_request(index, ip.ip, ip.network.prefixlen, ip.network.broadcast_address))
    if setup.gateway:
        rtnl.add_route(default_route_request(index, ip_address(setup.gateway)))
    if setup.ip6:
        ip6 = IPv6Interface(setup.ip6)
        rtnl.add_address(address_request(index, ip6.ip, ip6.network.prefixlen, flags=IFA_F_NODAD))
    if setup.gateway6:
        rtnl.add_route(default_route_request(index, ip_address(setup.gateway6)))


def _checksums_off(intf: str) -> None:
    """`ethtool -K intf tx off`, as its ioctl, from a socket of this thread's namespace."""
    value = ctypes.create_string_buffer(struct.pack("II", ETHTOOL_STXCSUM, 0))
    request = struct.pack("16sP", intf.encode(), ctypes.addressof(value)).ljust(40, b"\0")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock, SIOCETHTOOL, request)


def commands(setup: Setup) -> str:
    """The same set-up as one shell line, for a host on another machine."""
    steps = ["ip link set lo up", f"sysctl -qw {' '.join(f'{k}={v}' for k, v in setup.sysctls())}"]
    intf = setup.intf
    if intf:
        steps += [f"ip link set dev {intf}" + (f" address {setup.mac}" if setup.mac else "")
                  + (f" mtu {setup.mtu}" if setup.mtu else "") + " up"]
        if setup.ip:
            steps += [f"ip addr replace {setup.ip} brd + dev {intf}"]
        if setup.gateway:
            steps += [f"ip route replace default via {setup.gateway} dev {intf}"]
        if setup.ip6:
            steps += [f"ip -6 addr replace {setup.ip6} dev {intf} nodad"]
        if setup.gateway6:
            steps += [f"ip -6 route replace default via {setup.gateway6} dev {intf}"]
        steps += [f"ethtool -K {intf} tx off >/dev/null 2>&1"]
    return "; ".join(steps)
