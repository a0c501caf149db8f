"""Underlay routes for every fat-tree switch, computed from the topology alone.

Aggregated, hierarchical routing as in the lecture: an edge switch knows its own servers and sends
everything else up an ECMP group; an aggregation switch knows its pod's racks (one /24 each) and
sends the rest up; a core switch knows one /16 per pod. No table grows with anything but k, and no
VM address ever appears here. Servers' ARP is answered by their edge switch, so none crosses the
fabric.

An edge switch also guards the fabric's door (table 0): it takes packets only from its uplinks and
from each server port with that server's own source address, so a rogue host on a spare port, or a
server forging another's address, never gets a packet into the underlay. Table 1 routes.

Failed links (and switches, as all their links) are an input too. A switch's ECMP group then holds
the uplinks that still lead to most destinations, and a detour (a route to a rack or a pod, through a
group of its own, or a drop when nothing leads there) covers the rest: when core c0 loses its link to
pod 3, every aggregation switch above c0 stops sending pod 3's traffic to it. A failure adds a number
of detours bounded by k per switch; with none, the tables are exactly the ones above.
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
from controller.purpose import ARP_RESPONDER, DETOUR, DOOR, DROP, ECMP, UNDERLAY_ROUTE
from topologies.fattree import AGG, CORE, EDGE, FatTree, Server, Switch, gateway_of, mac_of, pod_net, rack_net

PRIO_ARP, PRIO_ROUTE, PRIO_DETOUR, PRIO_BLACKHOLE, PRIO_UP, PRIO_MISS = 300, 200, 150, 100, 10, 0
Down = frozenset[frozenset[str]]  # failed links, each as the names of its two ends
NONE_DOWN: Down = frozenset()
PRIO_INGRESS = 100
T_INGRESS, T_ROUTE = 0, 1  # edge switches only; the others route in table 0
UPLINK_GROUP = 1


def compile_underlay(fabric: FatTree, down: Down = NONE_DOWN) -> dict[str, Tables]:
    """Desired tables for every underlay switch, by switch name, with the links in `down` failed."""
    reach = Reach(fabric, down)
    return {s.name: switch_tables(fabric, s, reach) for s in fabric.switches}


def links_of(fabric: FatTree, node: str) -> Down:
    """Every link of a node: what failing a whole switch means."""
    return frozenset(frozenset((link.a, link.b)) for link in fabric.links if node in (link.a, link.b))


def switch_tables(fabric: FatTree, switch: Switch, reach: Reach | None = None) -> Tables:
    reach = reach or Reach(fabric, NONE_DOWN)
    if switch.role == CORE:
        flows = _core(fabric)
    elif switch.role == AGG:
        flows = _agg(fabric, switch)
    else:
        flows = _edge(fabric, switch)
    table = T_ROUTE if switch.role == EDGE else 0
    groups, detours = _up_routes(fabric, switch, reach, table)
    miss = Flow(PRIO_MISS, match(), table=table, note="anything else: drop, never flood", purpose=DROP)
    return Tables(switch.name, switch.dpid, (*flows, *detours, miss), groups)


class Reach:
    """Which uplinks of a switch still lead to a rack, with some links failed (hierarchical routing:
    up to some aggregation or core switch, then only down)."""

    def __init__(self, fabric: FatTree, down: Down) -> None:
        self.fabric, self.down = fabric, down

    def alive(self, a: str, b: str) -> bool:
        return frozenset((a, b)) not in self.down

    def _agg_down(self, agg: str, pod: int, edge: int) -> bool:
        return self.alive(agg, f"p{pod}e{edge}")

    def _core_down(self, core: Switch, pod: int, edge: int) -> bool:
        agg = f"p{pod}a{core.index // self.fabric.half}"  # a core's only switch in each pod
        return self.alive(core.name, agg) and self._agg_down(agg, pod, edge)

    def _leads(self, switch: Switch, upper: str, pod: int, edge: int) -> bool:
        """Does the uplink from `switch` to `upper` lead to rack (pod, edge)?"""
        if not self.alive(switch.name, upper):
            return False
        above = self.fabric.switch(upper)
        if above is None:
            return False
        if above.role == CORE:
            return self._core_down(above, pod, edge)
        if above.pod == pod:
            return self._agg_down(upper, pod, edge)
        return any(self._leads(above, core, pod, edge) for core in self.uppers(above).values())

    def uppers(self, switch: Switch) -> dict[int, str]:
        """The switch's uplinks: port -> the switch above."""
        return {port: peer[0] for port in self.fabric.uplinks(switch)
                if (peer := self.fabric.peer(switch.name, port)) is not None}

    def next_hops(self, switch: Switch, pod: int, edge: int) -> tuple[int, ...]:
        """The uplinks of `switch` that still lead to rack (pod, edge)."""
        return tuple(port for port, upper in self.uppers(switch).items() if self._leads(switch, upper, pod, edge))


def _up_routes(fabric: FatTree, switch: Switch, reach: Reach, table: int) -> tuple[tuple[SelectGroup, ...], list[Flow]]:
    """The ECMP group (the uplinks that lead to most of the racks this switch sends up) and a detour for
    every rack whose uplinks differ, one per pod where a whole pod's do."""
    if switch.role == CORE:
        return (), []
    own = (lambda p, e: p == switch.pod) if switch.role == AGG else (lambda p, e: (p, e) == (switch.pod, switch.index))
    racks = [(p, e) for p in range(fabric.k) for e in range(fabric.half) if not own(p, e)]
    hops = {rack: reach.next_hops(switch, *rack) for rack in racks}
    common = max(sorted(set(hops.values()), reverse=True), key=list(hops.values()).count)
    groups = {common: UPLINK_GROUP}
    for ports in sorted(set(hops.values()) - {common, ()}):
        groups[ports] = len(groups) + 1
    detours = []
    for pod in range(fabric.k):
        mine = {rack: ports for rack, ports in hops.items() if rack[0] == pod and ports != common}
        whole = len(mine) == fabric.half and len(set(mine.values())) == 1 and pod != switch.pod
        targets = [(pod_net(pod), f"pod {pod}", mine[(pod, 0)])] if whole else [
            (rack_net(*rack), f"rack p{rack[0]}e{rack[1]}", ports) for rack, ports in sorted(mine.items())]
        detours += [_detour(prefix, what, groups.get(ports), table) for prefix, what, ports in targets]
    return tuple(SelectGroup(i, ports) for ports, i in groups.items()), detours  # group 1 even if empty


def _detour(prefix: IPv4Network, what: str, group: int | None, table: int) -> Flow:
    if group is None:
        return Flow(PRIO_DETOUR, match(eth_type=ETH_IP, ipv4_dst=prefix), table=table,
                    note=f"{what}: no uplink leads there since the failure: drop", purpose=DETOUR)
    return Flow(PRIO_DETOUR, match(eth_type=ETH_IP, ipv4_dst=prefix), (DecTtl(), Group(group)), table=table,
                note=f"{what}: only the uplinks that still lead there (failure detour)", purpose=DETOUR)


def _route(prefix: IPv4Network, port: int, note: str, *rewrite: SetField, table: int = 0) -> Flow:
    return Flow(PRIO_ROUTE, match(eth_type=ETH_IP, ipv4_dst=prefix),
                (DecTtl(), *rewrite, Output(port)), table=table, note=note, purpose=UNDERLAY_ROUTE)


def _up_and_blackhole(own: IPv4Network, scope: str, table: int = 0) -> tuple[Flow, Flow]:
    """Send unknown destinations up, except inside our own prefix: those have nowhere to go."""
    return (Flow(PRIO_BLACKHOLE, match(eth_type=ETH_IP, ipv4_dst=own), table=table,
                 note=f"no such server in this {scope}: drop rather than bounce it back up", purpose=DROP),
            Flow(PRIO_UP, match(eth_type=ETH_IP), (DecTtl(), Group(UPLINK_GROUP)), table=table,
                 note="other destinations: up, spread over the ECMP group", purpose=ECMP))


def _edge(fabric: FatTree, switch: Switch) -> list[Flow]:
    pod, edge = switch.pod or 0, switch.index
    router = mac_of(gateway_of(pod, edge))
    servers = [s for s in fabric.servers if (s.pod, s.edge) == (pod, edge)]
    hosts = [_route(host(s.ip), s.host + 1, f"server {s.name}",
                    SetField("eth_src", router), SetField("eth_dst", s.mac), table=T_ROUTE) for s in servers]
    return [*(f for s in servers for f in _server_door(s, router)),
            *(Flow(PRIO_INGRESS, match(in_port=port), table=T_INGRESS, goto=T_ROUTE, note="from the fabric above",
                  purpose=DOOR)
              for port in fabric.uplinks(switch)),
            Flow(PRIO_MISS, match(), table=T_INGRESS, note="not a known server with its own address: keep out",
                 purpose=DROP),
            *hosts, *_up_and_blackhole(rack_net(pod, edge), "rack", T_ROUTE)]


def _server_door(server: Server, router: str) -> tuple[Flow, Flow]:
    """A server's port admits IP from its own address only, and ARP only when it asks as itself."""
    port, own = server.host + 1, host(server.ip)
    return (Flow(PRIO_INGRESS, match(in_port=port, eth_type=ETH_IP, ipv4_src=own), table=T_INGRESS,
                 goto=T_ROUTE, note=f"from {server.name}, with its own address", purpose=DOOR),
            _arp_responder(port, own, server.rack, router))


def _arp_responder(port: int, asker: IPv4Network, rack: IPv4Network, router: str) -> Flow:
    """Answer a server's ARP request for a rack address with the router's MAC (proxy ARP)."""
    actions = (Move("eth_src", "eth_dst"), SetField("eth_src", router),
               SetField("arp_op", ARP_REPLY),
               Move("arp_sha", "arp_tha"), SetField("arp_sha", router),
               Move("arp_tpa", "reg0"), Move("arp_spa", "arp_tpa"), Move("reg0", "arp_spa"),
               Output(IN_PORT))
    return Flow(PRIO_ARP, match(in_port=port, eth_type=ETH_ARP, arp_op=ARP_REQUEST, arp_spa=asker, arp_tpa=rack),
                actions, table=T_INGRESS, note="ARP for the rack: answered here with the router MAC, never flooded",
                purpose=ARP_RESPONDER)


def _agg(fabric: FatTree, switch: Switch) -> list[Flow]:
    pod = switch.pod or 0
    racks = [_route(rack_net(pod, e), e + 1, f"rack p{pod}e{e}") for e in range(fabric.half)]
    return [*racks, *_up_and_blackhole(pod_net(pod), "pod")]


def _core(fabric: FatTree) -> list[Flow]:
    return [_route(pod_net(p), p + 1, f"pod {p}") for p in range(fabric.k)]
