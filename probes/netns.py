"""Open sockets inside other network namespaces from this one process: a socket stays in the
namespace it was created in, so one probe process can send and sniff in every VM at once."""
from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import IPv4Address

from pyroute2 import IPRoute
from pyroute2.netns import setns

from probes.packets import BROADCAST, Host, arp

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33  # root may exceed net.core.rmem_max
RCVBUF = 8 << 20


@contextmanager
def entered(pid: int) -> Iterator[None]:
    """Run the block in the network namespace of process `pid` (this thread only), then come back."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        setns(target)  # an open descriptor: pyroute2 neither creates nor closes it
        try:
            yield
        finally:
            setns(home)
    finally:
        os.close(target)
        os.close(home)


def packet_socket(pid: int, iface: str) -> socket.socket:
    """A raw Ethernet socket on `iface` inside the namespace of `pid`: sends frames as if the host
    sent them, and sees every frame the host receives. It is made with protocol 0 (receiving nothing)
    and given ETH_P_ALL only when bound: a socket made with ETH_P_ALL receives from every interface of
    its namespace until bound (the root namespace's `lo` and management bridge included)."""
    with entered(pid):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
        sock.bind((iface, ETH_P_ALL))  # CPython applies htons itself
    sock.setblocking(False)
    return sock


def namespace_id(pid: int) -> str | None:
    """The network namespace of a process, as the kernel names it (`net:[4026532...]`)."""
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


def netlink(pid: int) -> IPRoute:
    """Netlink in the namespace of process `pid`: a socket stays in the namespace it is made in (and
    pyroute2's own NetNS would fork this multi-threaded process)."""
    with entered(pid):
        return IPRoute()


def announce(pid: int, iface: str, host: Host) -> None:
    """A gratuitous ARP from `host` on its interface, as a hypervisor sends one for a VM it just moved."""
    assert isinstance(host.ip, IPv4Address), "gratuitous ARP is IPv4's"
    sock = packet_socket(pid, iface)
    try:
        sock.send(arp("is-at", host, host.ip, BROADCAST, BROADCAST))
    finally:
        sock.close()



def addresses(pid: int, iface: str) -> list[str]:
    """The IPv4 addresses (`192.0.2.2/24`) of `iface` in the namespace of `pid`, as the kernel holds them."""
    with netlink(pid) as ipr:
        index = ipr.link_lookup(ifname=iface)
        found = ipr.get_addr(family=socket.AF_INET, index=index[0]) if index else []
        return [f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}" for a in found]
