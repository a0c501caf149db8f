"""A bare-metal tenant member: a server that is not virtualized, whose VTEP is the Linux kernel's own
VXLAN device (a second, independent implementation that must interoperate with OVS's).

Pure: the shell commands that make it, run inside the server's namespace. The kernel learns nothing
from the wire: its forwarding database and its neighbours are filled from the scenario, as the
controller fills the virtual switches' tables.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from topologies.encap import Encap
from topologies.scenario import VM


def device(vm: VM) -> str:
    """The member's VXLAN device: `vx<VNI>`, at most 10 characters."""
    return f"vx{vm.vni}"


@dataclass(frozen=True)
class Peer:
    mac: str
    ip: IPv4Address
    server_ip: IPv4Address


def vtep_script(member: VM, local_ip: IPv4Address, peers: list[Peer]) -> str:
    """One shell line: the VXLAN device with the member's MAC and address, a forwarding entry and a
    permanent neighbour for every tenant peer; prints VTEP-OK only if every step worked."""
    dev = device(member)
    steps = [f"ip link add {dev} type vxlan id {member.vni} local {local_ip} dstport {Encap.VXLAN.udp_port} nolearning",
             f"ip link set {dev} address {member.mac} mtu {Encap.VXLAN.inner_mtu}",
             f"ip addr add {member.ip} dev {dev}",
             f"ip link set {dev} up"]
    for peer in peers:
        steps += [f"bridge fdb append {peer.mac} dev {dev} dst {peer.server_ip}",
                  f"ip neigh replace {peer.ip} lladdr {peer.mac} dev {dev} nud permanent"]
    return f"( set -e; {'; '.join(steps)} ) 2>&1 && echo VTEP-OK"
