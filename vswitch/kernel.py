"""A bare-metal tenant member: a server that is not virtualized, whose VTEP is the Linux kernel's own
VXLAN device (a second, independent implementation that must interoperate with OVS's).

Made over netlink (pyroute2) inside the server's namespace. The kernel learns nothing from the wire:
its forwarding database and its neighbours are filled from the scenario, as the controller fills the
virtual switches' tables.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from probes.netns import netlink
from topologies.encap import Encap
from topologies.scenario import VM

NUD_PERMANENT = 0x80
ALL_ZEROS = "00:00:00:00:00:00"  # the forwarding entry for broadcast, multicast and unknown MACs: one per server


class VtepError(RuntimeError):
    """The kernel refused a step; the message names the device and the step."""


def device(vm: VM) -> str:
    """The member's VXLAN device: `vx<VNI>`, at most 10 characters."""
    return f"vx{vm.vni}"


@dataclass(frozen=True)
class Peer:
    mac: str
    ip: IPv4Address
    server_ip: IPv4Address


@contextmanager
def _netlink(pid: int, dev: str) -> Iterator[tuple[IPRoute, list[str]]]:
    """Netlink inside the namespace of process `pid`, with the step under way: a refusal names the
    device and the step."""
    ipr = netlink(pid)
    step = ["create"]
    try:
        with ipr:
            yield ipr, step
    except NetlinkError as exc:
        raise VtepError(f"cannot {step[0]} {dev}: {exc.args[1] if len(exc.args) > 1 else exc}") from None


def start_vtep(pid: int, member: VM, peers: list[Peer]) -> None:
    """In the namespace of process `pid`: the VXLAN device with the member's MAC and address, a
    forwarding entry and a permanent neighbour for every tenant peer, and one all-zeros entry per peer
    server, so that a broadcast is copied once to each."""
    dev = device(member)
    with _netlink(pid, dev) as (ipr, step):
        ipr.link("add", ifname=dev, kind="vxlan", vxlan_id=member.vni, vxlan_local=str(member.server.ip),
                 vxlan_port=Encap.VXLAN.udp_port, vxlan_learning=0)
        index = ipr.link_lookup(ifname=dev)[0]
        step[0] = "address and bring up"
        ipr.link("set", index=index, address=member.mac, mtu=Encap.VXLAN.inner_mtu)
        ipr.addr("add", index=index, address=str(member.v4.ip), prefixlen=member.v4.network.prefixlen)
        ipr.link("set", index=index, state="up")
        for peer in peers:
            step[0] = f"add the forwarding entry and neighbour of {peer.ip} to"
            ipr.fdb("append", ifindex=index, lladdr=peer.mac, dst=str(peer.server_ip))
            ipr.neigh("replace", ifindex=index, dst=str(peer.ip), lladdr=peer.mac, state=NUD_PERMANENT)
        for server_ip in sorted({peer.server_ip for peer in peers}):
            step[0] = f"add the broadcast entry of {server_ip} to"  # the kernel's own ingress replication
            ipr.fdb("append", ifindex=index, lladdr=ALL_ZEROS, dst=str(server_ip))


def vtep_script(member: VM, peers: list[Peer]) -> str:
    """The same VTEP as `start_vtep` makes, as shell commands a line each, for a server on another machine."""
    dev, port, mtu = device(member), Encap.VXLAN.udp_port, Encap.VXLAN.inner_mtu
    lines = [f"ip link add {dev} type vxlan id {member.vni} local {member.server.ip} dstport {port} nolearning",
             f"ip link set {dev} address {member.mac} mtu {mtu}", f"ip addr add {member.v4} dev {dev}",
             f"ip link set {dev} up"]
    for peer in peers:
        lines += [f"bridge fdb append {peer.mac} dev {dev} dst {peer.server_ip}",
                  f"ip neigh replace {peer.ip} lladdr {peer.mac} dev {dev} nud permanent"]
    lines += [f"bridge fdb append {ALL_ZEROS} dev {dev} dst {ip}" for ip in sorted({p.server_ip for p in peers})]
    return "\n".join(lines) + "\n"


def stop_vtep(pid: int, member: VM) -> None:
    """The member's VXLAN device goes (with its forwarding entries and neighbours)."""
    with _netlink(pid, device(member)) as (ipr, step):
        step[0] = "delete"
        ipr.link("del", ifname=device(member))
