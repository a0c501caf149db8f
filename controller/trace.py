"""Walk a packet through compiled tables, offline, as `ovn-trace` does: every ECMP branch, every hop.

The tests use it to prove the compiled routes deliver every server pair; the lab CLI's `trace`
uses it to explain a path to a class before the same packet is sent for real.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from controller.flows import (ETH_ARP, ETH_IP, ARP_REQUEST, IN_PORT, DecTtl, Flow, Group, Move, Output,
                              SetField, Tables, lookup, ofctl_flow)
from topologies.fattree import FatTree, Server, mac_of

Packet = dict[str, object]
MAX_HOPS = 16


@dataclass(frozen=True)
class Hop:
    node: str
    in_port: int
    flow: Flow | None


@dataclass(frozen=True)
class Path:
    """One way the packet went; `delivered_to` names the server it reached, if any."""

    hops: tuple[Hop, ...]
    packet: Packet
    delivered_to: str | None
    verdict: str


def ip_packet(src: Server, dst: IPv4Address, ttl: int = 64) -> Packet:
    """What a server sends to `dst` once ARP has told it the gateway's MAC."""
    return {"eth_type": ETH_IP, "eth_src": src.mac, "eth_dst": mac_of(src.gateway),
            "ipv4_src": src.ip, "ipv4_dst": dst, "ttl": ttl}


def arp_request(src: Server, target: IPv4Address) -> Packet:
    return {"eth_type": ETH_ARP, "eth_src": src.mac, "eth_dst": "ff:ff:ff:ff:ff:ff",
            "arp_op": ARP_REQUEST, "arp_sha": src.mac, "arp_spa": src.ip,
            "arp_tha": "00:00:00:00:00:00", "arp_tpa": target}


def trace(fabric: FatTree, tables: dict[str, Tables], src: str, packet: Packet) -> list[Path]:
    """Every path the packet takes when server `src` sends it."""
    switch, port = fabric.peer(src, 0) or (None, 0)
    if switch is None:
        return [Path((), packet, None, f"{src} is not cabled")]
    return _at_switch(fabric, tables, switch, port, dict(packet), ())


def _at_switch(fabric: FatTree, tables: dict[str, Tables], node: str, in_port: int, packet: Packet,
               hops: tuple[Hop, ...]) -> list[Path]:
    flow = lookup(tables[node], {**packet, "in_port": in_port})
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
            port = in_port if action.port == IN_PORT else int(action.port)
            paths += _leave(fabric, tables, node, port, dict(out), hops)
        elif isinstance(action, Group):
            for port in _group_ports(tables[node], action.group_id):
                paths += _leave(fabric, tables, node, port, dict(out), hops)
    return paths or [Path(hops, out, None, f"dropped at {node}: {flow.note or 'drop flow'}")]


def _group_ports(tables: Tables, group_id: int) -> tuple[int, ...]:
    return next((g.ports for g in tables.groups if g.group_id == group_id), ())


def _leave(fabric: FatTree, tables: dict[str, Tables], node: str, port: int, packet: Packet,
           hops: tuple[Hop, ...]) -> list[Path]:
    peer = fabric.peer(node, port)
    if peer is None:
        return [Path(hops, packet, None, f"dropped at {node}: port {port} is not cabled")]
    name, peer_port = peer
    if name in tables:
        return _at_switch(fabric, tables, name, peer_port, packet, hops)
    return [Path(hops, packet, name, f"delivered to {name}")]


def describe(path: Path) -> str:
    """A path as lines a student can read: each switch, the flow that matched, then the verdict."""
    lines = [f"  {hop.node} (in port {hop.in_port}): "
             f"{ofctl_flow(hop.flow) if hop.flow else 'no matching flow'}"
             + (f"  # {hop.flow.note}" if hop.flow and hop.flow.note else "")
             for hop in path.hops]
    return "\n".join([*lines, f"  => {path.verdict}"])
