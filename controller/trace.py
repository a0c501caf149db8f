"""Walk a packet through compiled tables, offline, as `ovn-trace` does: every ECMP branch, every hop.

A VM's packet is followed through its server's virtual switch, into a tunnel (the walk then carries
the outer packet across the underlay, from server to server), and through the receiving virtual
switch to the VM it is delivered to, if any. The tests use it to prove the compiled tables right;
the lab CLI's `trace` uses it to explain a path before the same packet is sent for real.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv6Address
from typing import Protocol

from controller.flows import (
    ARP_REQUEST,
    ETH_ARP,
    ETH_IP,
    ETH_IP6,
    ICMP6,
    IN_PORT,
    ND_SOLICIT,
    DecTtl,
    Flow,
    Group,
    Move,
    Output,
    SetField,
    Tables,
    lookup,
    ofctl_flow,
)
from controller.overlay import virtualized
from topologies.encap import Encap
from topologies.fattree import FatTree, Server, mac_of
from topologies.names import PATCH, vswitch_name
from topologies.scenario import VM, Scenario

Packet = dict[str, object]
MAX_HOPS = 32
TUNNEL = "tunnel:"  # endpoints named tunnel:<encap> are a vswitch's tunnel ports
UPLINK = "uplink"  # flat mode: a vswitch's patch port, the way out to its server's uplink


class Cabling(Protocol):
    def peer(self, node: str, port: int) -> tuple[str, int] | None: ...


@dataclass(frozen=True)
class Hop:
    node: str
    in_port: int
    flow: Flow | None


@dataclass(frozen=True)
class Path:
    """One way the packet went; `delivered_to` names the server or VM it reached, if any."""

    hops: tuple[Hop, ...]
    packet: Packet
    delivered_to: str | None
    verdict: str


def ip_packet(src: Server, dst: IPv4Address, ttl: int = 64) -> Packet:
    """What a server sends to `dst` once ARP has told it the gateway's MAC."""
    return {"eth_type": ETH_IP, "eth_src": src.mac, "eth_dst": mac_of(src.gateway),
            "ipv4_src": src.ip, "ipv4_dst": dst, "ttl": ttl}


def arp_request(src_mac: str, src_ip: IPv4Address, target: IPv4Address) -> Packet:
    return {"eth_type": ETH_ARP, "eth_src": src_mac, "eth_dst": "ff:ff:ff:ff:ff:ff",
            "arp_op": ARP_REQUEST, "arp_sha": src_mac, "arp_spa": src_ip,
            "arp_tha": "00:00:00:00:00:00", "arp_tpa": target}


def vm_packet(src: VM, dst: VM) -> Packet:
    """What VM `src` sends to `dst` once the virtual switch has answered its ARP (for its gateway, when
    `dst` is on another subnet of a routed tenant)."""
    return {"eth_type": ETH_IP, "eth_src": src.mac, "eth_dst": src.next_hop_mac(dst),
            "ipv4_src": src.v4.ip, "ipv4_dst": dst.v4.ip, "ttl": 64}


UDP = 17


def vm_packet6(src: VM, dst: VM) -> Packet:
    """The same over IPv6, between two dual-stack VMs (a UDP datagram; its hop limit kept as `ttl`)."""
    assert src.ip6 is not None and dst.ip6 is not None
    return {"eth_type": ETH_IP6, "eth_src": src.mac, "eth_dst": src.next_hop_mac(dst, v6=True), "ip_proto": UDP,
            "ipv6_src": src.ip6.ip, "ipv6_dst": dst.ip6.ip, "ttl": 64}


def solicitation(src: VM, target: IPv6Address) -> Packet:
    """A neighbour solicitation from a dual-stack VM, as its kernel sends one."""
    assert src.ip6 is not None
    return {"eth_type": ETH_IP6, "eth_src": src.mac, "eth_dst": "33:33:ff:" + target.packed[-3:].hex(":"),
            "ip_proto": ICMP6, "icmpv6_type": ND_SOLICIT, "icmpv6_code": 0, "ipv6_src": src.ip6.ip,
            "ipv6_nd_target": target, "ttl": 255}


def trace(fabric: FatTree, tables: dict[str, Tables], src: str, packet: Packet) -> list[Path]:
    """Every path the packet takes through the underlay when server `src` sends it."""
    switch, port = fabric.peer(src, 0) or ("", 0)
    return walk(fabric, tables, switch, port, packet)


def walk(cabling: Cabling, tables: dict[str, Tables], node: str, in_port: int, packet: Packet,
         hops: tuple[Hop, ...] = (), table: int = 0) -> list[Path]:
    """Every path from `packet` arriving at switch `node` on `in_port`."""
    flow = lookup(tables[node], {**packet, "in_port": in_port}, table)
    hops = (*hops, Hop(node, in_port, flow))
    if flow is None:
        return [Path(hops, packet, None, f"dropped at {node}: no flow matches")]
    if len(hops) > MAX_HOPS:
        return [Path(hops, packet, None, f"dropped at {node}: more than {MAX_HOPS} hops (a loop)")]
    paths: list[Path] = []
    out = dict(packet)
    for action in flow.actions:
        if isinstance(action, DecTtl):
            out["ttl"] = int(out.get("ttl", 64)) - 1  # type: ignore[call-overload]
            if out["ttl"] <= 0:  # type: ignore[operator]
                return [*paths, Path(hops, out, None, f"dropped at {node}: TTL expired")]
        elif isinstance(action, SetField):
            out[action.field] = action.value
        elif isinstance(action, Move):
            out[action.dst] = out.get(action.src)
        elif isinstance(action, Output):
            if action.port == in_port:
                continue  # OpenFlow never sends a packet back where it came from, unless told IN_PORT
            port = in_port if action.port == IN_PORT else int(action.port)
            paths += _leave(cabling, tables, node, port, dict(out), hops)
        elif isinstance(action, Group):
            for port in next((g.ports for g in tables[node].groups if g.group_id == action.group_id), ()):
                if port != in_port:
                    paths += _leave(cabling, tables, node, port, dict(out), hops)
    if flow.metadata is not None:
        out["metadata"] = flow.metadata
    if flow.goto is not None:
        paths += walk(cabling, tables, node, in_port, out, hops, flow.goto)
    return paths or [Path(hops, out, None, f"dropped at {node}: {flow.note or 'drop flow'}")]


def _leave(cabling: Cabling, tables: dict[str, Tables], node: str, port: int, packet: Packet,
           hops: tuple[Hop, ...]) -> list[Path]:
    peer = cabling.peer(node, port)
    if peer is None:
        return [Path(hops, packet, None, f"dropped at {node}: port {port} is not cabled")]
    name, peer_port = peer
    if name in tables:
        return walk(cabling, tables, name, peer_port, packet, hops)
    return [Path(hops, packet, name, f"delivered to {name}")]


class LabCabling:
    """The fat-tree's cables plus each virtual switch's VM and tunnel ports."""

    def __init__(self, scenario: Scenario) -> None:
        self.fabric = scenario.fabric
        self.kernel: dict[tuple[str, object, object], str] = {
            (vm.server.name, vm.vni, vm.mac): vm.label for vm in scenario.vms if vm.bare_metal}
        self.kernel_vni = {(server, vni): label for (server, vni, _), label in self.kernel.items()}
        self.ports: dict[tuple[str, int], tuple[str, int]] = {}
        for vm in scenario.vms:
            if not vm.bare_metal:
                self.ports[(vswitch_name(vm.server), vm.port)] = (vm.label, 0)
        for server in {vm.server for vm in scenario.vms}:
            for encap in Encap:
                self.ports[(vswitch_name(server), encap.ofport)] = (f"{TUNNEL}{encap}", 0)
        if scenario.flat:
            for server in virtualized(scenario):
                self.ports[(vswitch_name(server), PATCH)] = (UPLINK, 0)

    def peer(self, node: str, port: int) -> tuple[str, int] | None:
        return self.ports.get((node, port)) or self.fabric.peer(node, port)

    def member(self, server: str, vni: object, mac: object) -> str | None:
        """The bare-metal member a kernel VXLAN device hands a frame to: the one with that MAC, or with
        that VNI when the frame is a broadcast or multicast."""
        if isinstance(mac, str) and int(mac[:2], 16) & 1:
            return self.kernel_vni.get((server, vni))
        return self.kernel.get((server, vni, mac))


def trace_vm(scenario: Scenario, tables: dict[str, Tables], src: VM, packet: Packet) -> list[Path]:
    """Every path of a VM's packet: its vswitch, the tunnel across the underlay, the far vswitch (or a
    bare-metal member's kernel VTEP). A bare-metal member's packet starts in its kernel's VXLAN device."""
    cabling = LabCabling(scenario)
    if src.bare_metal:
        paths = [_kernel_sends(scenario, src, packet)]
    else:
        paths = walk(cabling, tables, vswitch_name(src.server), src.port, packet)
    return [p for path in paths for p in (_routed(scenario, cabling, tables, src, path) if path.delivered_to == UPLINK
                                          else _through_tunnel(scenario, cabling, tables, src, path))]


def _kernel_sends(scenario: Scenario, src: VM, packet: Packet) -> Path:
    """A kernel VTEP encapsulates for the tenant peers it was told of (by MAC), and for nothing else."""
    peer = next((vm for vm in scenario.vms if vm.tenant == src.tenant and vm.mac == packet.get("eth_dst")
                 and vm is not src), None)
    if peer is None:
        return Path((), packet, None, f"dropped by {src.server.name}'s kernel VXLAN device: no such peer in "
                                      f"its forwarding database")
    tunnelled = {**packet, "tunnel_id": src.vni, "tun_ipv4_dst": peer.server.ip}
    return Path((), tunnelled, f"{TUNNEL}{Encap.VXLAN}", f"encapsulated by {src.server.name}'s kernel VXLAN device")


def _routed(scenario: Scenario, cabling: LabCabling, tables: dict[str, Tables], src: VM, path: Path) -> list[Path]:
    """Flat mode: the VM's own packet crosses the underlay, routed by its address, and enters the far
    server's virtual switch by its patch port."""
    bare = {k: v for k, v in path.packet.items() if k != "metadata"}
    result = []
    for crossing in trace(scenario.fabric, tables, src.server.name, bare):
        hops = path.hops + crossing.hops
        far = scenario.fabric.server(str(crossing.delivered_to))
        if far is None or vswitch_name(far) not in tables:
            result.append(replace(crossing, hops=hops))
        else:
            result += walk(cabling, tables, vswitch_name(far), PATCH, crossing.packet, hops)
    return result


def _through_tunnel(scenario: Scenario, cabling: LabCabling, tables: dict[str, Tables], src: VM,
                    path: Path) -> list[Path]:
    """Encapsulate, cross the underlay between the two servers, decapsulate at the far end."""
    if not (path.delivered_to or "").startswith(TUNNEL):
        return [path]
    encap = Encap.named((path.delivered_to or "")[len(TUNNEL):])
    inner = path.packet
    remote = IPv4Address(str(inner["tun_ipv4_dst"]))
    outer = trace(scenario.fabric, tables, src.server.name, ip_packet(src.server, remote))
    arriving = {k: v for k, v in inner.items() if k not in ("metadata", "tun_ipv4_dst")}
    arriving["tun_ipv4_src"] = src.server.ip
    result = []
    for crossing in outer:
        hops = path.hops + crossing.hops
        member = cabling.member(str(crossing.delivered_to), inner.get("tunnel_id"), inner.get("eth_dst"))
        far = scenario.fabric.server(str(crossing.delivered_to))
        if member and encap is Encap.VXLAN:
            result.append(Path(hops, arriving, member, f"decapsulated by {crossing.delivered_to}'s kernel VXLAN "
                                                       f"device: delivered to {member}"))
        elif far is None or encap is None or vswitch_name(far) not in tables:
            result.append(replace(crossing, hops=hops, delivered_to=None, verdict=f"{encap}: {crossing.verdict}"))
        else:
            result += walk(cabling, tables, vswitch_name(far), encap.ofport, arriving, hops)
    return result


def describe(path: Path) -> str:
    """A path as lines a student can read: each switch, the flow that matched, then the verdict."""
    lines = [f"  {hop.node} (in port {hop.in_port}): "
             f"{ofctl_flow(hop.flow) if hop.flow else 'no matching flow'}"
             + (f"  # {hop.flow.note}" if hop.flow and hop.flow.note else "")
             for hop in path.hops]
    return "\n".join([*lines, f"  => {path.verdict}"])


def cables(paths: list[Path], source: str, target: str) -> set[frozenset[str]]:
    """The cables the paths cross, as pairs of node names (see `cables_along`)."""
    return {cable for path in paths for cable in cables_along(path, source, target)}


def cables_along(path: Path, source: str, target: str) -> list[frozenset[str]]:
    """The cables one path crosses in order: from server `source` through every hop (a server's virtual
    switch `p0e0h0/br-int` stands for the server) to server `target` when delivered."""
    nodes = [source, *(hop.node.split("/")[0] for hop in path.hops), *([target] if path.delivered_to else [])]
    return [frozenset(pair) for pair in zip(nodes, nodes[1:], strict=False) if pair[0] != pair[1]]
