"""A bare-metal tenant member: a server that is not virtualized, whose VTEP is the Linux kernel's own
VXLAN device (a second, independent implementation that must interoperate with OVS's).

Made over netlink (pyroute2) inside the server's namespace. The kernel learns nothing from the wire:
its forwarding database and its neighbours are filled from the scenario, as the controller fills the
virtual switches' tables.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from ipaddress import IPv4Address

from pyroute2 import NetNS
from pyroute2.netlink.exceptions import NetlinkError

from topologies.encap import Encap
from topologies.scenario import VM

NUD_PERMANENT = 0x80


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


def start_vtep(pid: int, member: VM, peers: list[Peer]) -> None:
    """In the namespace of process `pid`: the VXLAN device with the member's MAC and address, a
    forwarding entry and a permanent neighbour for every tenant peer."""
    dev, step = device(member), "open the namespace"
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        with NetNS(fd, flags=0) as ns:
            step = "create"
            ns.link("add", ifname=dev, kind="vxlan", vxlan_id=member.vni, vxlan_local=str(member.server.ip),
                    vxlan_port=Encap.VXLAN.udp_port, vxlan_learning=0)
            index = ns.link_lookup(ifname=dev)[0]
            step = "address and bring up"
            ns.link("set", index=index, address=member.mac, mtu=Encap.VXLAN.inner_mtu)
            ns.addr("add", index=index, address=str(member.ip.ip), prefixlen=member.ip.network.prefixlen)
            ns.link("set", index=index, state="up")
            for peer in peers:
                step = f"add the forwarding entry and neighbour of {peer.ip} to"
                ns.fdb("append", ifindex=index, lladdr=peer.mac, dst=str(peer.server_ip))
                ns.neigh("replace", ifindex=index, dst=str(peer.ip), lladdr=peer.mac, state=NUD_PERMANENT)
    except NetlinkError as exc:
        raise VtepError(f"cannot {step} {dev}: {exc.args[1] if len(exc.args) > 1 else exc}") from None
    finally:
        os.close(fd)
