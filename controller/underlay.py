"""Underlay routes for every fat-tree switch, computed from the topology alone.

Aggregated, hierarchical routing as in the lecture: an edge switch knows its own servers and sends
everything else up an ECMP group; an aggregation switch knows its pod's racks (one /24 each) and
sends the rest up; a core switch knows one /16 per pod. No table grows with anything but k, and no
VM address ever appears here. Servers' ARP is answered by their edge switch, so none crosses the
fabric.

An edge switch also guards the fabric's door (table 0): it takes packets only from its uplinks and
from each server port with that server's own source address, so a rogue host on a spare port, or a
server forging another's address, never gets a packet into the underlay. Table 1 routes.
"""
from __future__ import annotations

from ipaddress import IPv4Network

from controller.flows import (
    ARP_REPLY,
    ARP_REQUEST,
    ETH_ARP,
    ETH_IP,
    IN_PORT,
    DecTtl,
    Flow,
    Group,
    Move,
    Output,
    SelectGroup,
    SetField,
    Tables,
    host,
    match,
)
from topologies.fattree import AGG, CORE, EDGE, FatTree, Server, Switch, gateway_of, mac_of, pod_net, rack_net

PRIO_ARP, PRIO_ROUTE, PRIO_BLACKHOLE, PRIO_UP, PRIO_MISS = 300, 200, 100, 10, 0
PRIO_INGRESS = 100
T_INGRESS, T_ROUTE = 0, 1  # edge switches only; the others route in table 0
UPLINK_GROUP = 1


def compile_underlay(fabric: FatTree) -> dict[str, Tables]:
    """Desired tables for every underlay switch, by switch name."""
    return {s.name: switch_tables(fabric, s) for s in fabric.switches}


def switch_tables(fabric: FatTree, switch: Switch) -> Tables:
    if switch.role == CORE:
        flows = _core(fabric)
    elif switch.role == AGG:
        flows = _agg(fabric, switch)
    else:
        flows = _edge(fabric, switch)
    uplinks = fabric.uplinks(switch)
    groups = (SelectGroup(UPLINK_GROUP, uplinks),) if uplinks else ()
    table = T_ROUTE if switch.role == EDGE else 0
    miss = Flow(PRIO_MISS, match(), table=table, note="anything else: drop, never flood")
    return Tables(switch.name, switch.dpid, (*flows, miss), groups)


def _route(prefix: IPv4Network, port: int, note: str, *rewrite: SetField, table: int = 0) -> Flow:
    return Flow(PRIO_ROUTE, match(eth_type=ETH_IP, ipv4_dst=prefix),
                (DecTtl(), *rewrite, Output(port)), table=table, note=note)


def _up_and_blackhole(own: IPv4Network, scope: str, table: int = 0) -> tuple[Flow, Flow]:
    """Send unknown destinations up, except inside our own prefix: those have nowhere to go."""
    return (Flow(PRIO_BLACKHOLE, match(eth_type=ETH_IP, ipv4_dst=own), table=table,
                 note=f"no such server in this {scope}: drop rather than bounce it back up"),
            Flow(PRIO_UP, match(eth_type=ETH_IP), (DecTtl(), Group(UPLINK_GROUP)), table=table,
                 note="other destinations: up, spread over the ECMP group"))


def _edge(fabric: FatTree, switch: Switch) -> list[Flow]:
    pod, edge = switch.pod or 0, switch.index
    router = mac_of(gateway_of(pod, edge))
    servers = [s for s in fabric.servers if (s.pod, s.edge) == (pod, edge)]
    hosts = [_route(host(s.ip), s.host + 1, f"server {s.name}",
                    SetField("eth_src", router), SetField("eth_dst", s.mac), table=T_ROUTE) for s in servers]
    return [*(f for s in servers for f in _server_door(s, router)),
            *(Flow(PRIO_INGRESS, match(in_port=port), table=T_INGRESS, goto=T_ROUTE, note="from the fabric above")
              for port in fabric.uplinks(switch)),
            Flow(PRIO_MISS, match(), table=T_INGRESS, note="not a known server with its own address: keep out"),
            *hosts, *_up_and_blackhole(rack_net(pod, edge), "rack", T_ROUTE)]


def _server_door(server: Server, router: str) -> tuple[Flow, Flow]:
    """A server's port admits IP from its own address only, and ARP only when it asks as itself."""
    port, own = server.host + 1, host(server.ip)
    return (Flow(PRIO_INGRESS, match(in_port=port, eth_type=ETH_IP, ipv4_src=own), table=T_INGRESS,
                 goto=T_ROUTE, note=f"from {server.name}, with its own address"),
            _arp_responder(port, own, server.rack, router))


def _arp_responder(port: int, asker: IPv4Network, rack: IPv4Network, router: str) -> Flow:
    """Answer a server's ARP request for a rack address with the router's MAC (proxy ARP)."""
    actions = (Move("eth_src", "eth_dst"), SetField("eth_src", router),
               SetField("arp_op", ARP_REPLY),
               Move("arp_sha", "arp_tha"), SetField("arp_sha", router),
               Move("arp_tpa", "reg0"), Move("arp_spa", "arp_tpa"), Move("reg0", "arp_spa"),
               Output(IN_PORT))
    return Flow(PRIO_ARP, match(in_port=port, eth_type=ETH_ARP, arp_op=ARP_REQUEST, arp_spa=asker, arp_tpa=rack),
                actions, table=T_INGRESS, note="ARP for the rack: answered here with the router MAC, never flooded")


def _agg(fabric: FatTree, switch: Switch) -> list[Flow]:
    pod = switch.pod or 0
    racks = [_route(rack_net(pod, e), e + 1, f"rack p{pod}e{e}") for e in range(fabric.half)]
    return [*racks, *_up_and_blackhole(pod_net(pod), "pod")]


def _core(fabric: FatTree) -> list[Flow]:
    return [_route(pod_net(p), p + 1, f"pod {p}") for p in range(fabric.k)]
