"""Underlay route compilation, proved by walking every server-to-server packet through the tables."""
import random
from ipaddress import IPv4Address

import pytest

from controller.flows import ETH_IP, Flow, Output, Tables, ofctl_flow
from controller.trace import arp_request, describe, ip_packet, trace, walk
from controller.underlay import compile_underlay
from topologies.fattree import FatTree, mac_of

KS = list(range(2, 17, 2))
EVERY_PAIR_UP_TO_K = 8  # beyond, a fixed sample of pairs (k=16 has 1,047,552 ordered pairs)


@pytest.fixture(scope="module", params=KS)
def compiled(request):
    fabric = FatTree(request.param)
    return fabric, compile_underlay(fabric)


def test_every_switch_has_tables(compiled):
    fabric, tables = compiled
    assert set(tables) == {s.name for s in fabric.switches}
    assert all(t.dpid == fabric.switch(n).dpid for n, t in tables.items())


def test_tables_grow_with_k_only(compiled):
    fabric, tables = compiled
    k = fabric.k
    sizes = {role: {len(tables[s.name].flows) for s in fabric.switches if s.role == role}
             for role in ("edge", "agg", "core")}
    assert sizes == {"edge": {2 * k + 4}, "agg": {k // 2 + 3}, "core": {k + 1}}
    assert max(len(t.flows) for t in tables.values()) <= 2 * k + 10


def test_no_flow_is_ambiguous(compiled):
    _, tables = compiled
    for t in tables.values():
        keys = [(f.table, f.priority, f.match) for f in t.flows]
        assert len(keys) == len(set(keys)), t.name


def server_pairs(fabric):
    pairs = [(a, b) for a in fabric.servers for b in fabric.servers if a != b]
    return pairs if fabric.k <= EVERY_PAIR_UP_TO_K else random.Random(fabric.k).sample(pairs, 400)


def test_every_server_pair_is_delivered_on_every_ecmp_path(compiled):
    fabric, tables = compiled
    half = fabric.half
    for src, dst in server_pairs(fabric):
        paths = trace(fabric, tables, src.name, ip_packet(src, dst.ip))
        same_rack, same_pod = (src.pod, src.edge) == (dst.pod, dst.edge), src.pod == dst.pod
        expected, switches = (1, 1) if same_rack else (half, 3) if same_pod else (half ** 2, 5)
        assert len(paths) == expected, (src.name, dst.name)
        for path in paths:
            assert path.delivered_to == dst.name, describe(path)
            assert path.packet["eth_dst"] == dst.mac
            assert [h.node for h in path.hops][:2] == [f"p{src.pod}e{src.edge}"] * 2  # door, then route
            assert len({h.node for h in path.hops}) == switches
            assert path.packet["ttl"] == 64 - switches


def test_edge_answers_arp_for_its_rack_without_flooding():
    fabric = FatTree(4)
    tables = compile_underlay(fabric)
    src = fabric.server("p1e0h0")
    for target in (src.gateway, fabric.server("p1e0h1").ip):
        (path,) = trace(fabric, tables, src.name, arp_request(src.mac, src.ip, target))
        assert path.delivered_to == src.name and [h.node for h in path.hops] == ["p1e0"]
        reply = path.packet
        assert reply["arp_op"] == 2 and reply["arp_spa"] == target and reply["arp_tpa"] == src.ip
        assert reply["arp_sha"] == reply["eth_src"] == mac_of(src.gateway)
        assert reply["arp_tha"] == reply["eth_dst"] == src.mac


def test_arp_for_other_racks_and_unknown_addresses_are_dropped():
    fabric = FatTree(4)
    tables = compile_underlay(fabric)
    src = fabric.server("p0e0h0")
    (path,) = trace(fabric, tables, src.name, arp_request(src.mac, src.ip, IPv4Address("10.2.0.2")))
    assert path.delivered_to is None and "drop" in path.verdict
    unknown_in_rack = trace(fabric, tables, src.name, ip_packet(src, IPv4Address("10.2.1.77")))
    assert len(unknown_in_rack) == 4  # every ECMP path reaches the rack's edge and stops there
    assert all(p.delivered_to is None and p.hops[-1].node == "p2e1" for p in unknown_in_rack)
    outside = trace(fabric, tables, src.name, ip_packet(src, IPv4Address("172.16.0.1")))
    assert all(p.delivered_to is None and p.hops[-1].node.startswith("c") for p in outside)


def test_ttl_expiry_stops_a_packet():
    fabric = FatTree(4)
    tables = compile_underlay(fabric)
    src, dst = fabric.server("p0e0h0"), fabric.server("p3e1h1")
    paths = trace(fabric, tables, src.name, ip_packet(src, dst.ip, ttl=3))
    assert paths and all(p.delivered_to is None and "TTL" in p.verdict for p in paths)


def test_tracer_reports_a_missing_flow():
    fabric = FatTree(2)
    tables = compile_underlay(fabric)
    broken = Tables("p0e0", tables["p0e0"].dpid, ())  # an empty table: nothing gets in
    (path,) = trace(fabric, {**tables, "p0e0": broken}, "p0e0h0", ip_packet(fabric.servers[0], fabric.servers[1].ip))
    assert path.delivered_to is None and "no flow" in path.verdict


def test_ofctl_rendering():
    fabric = FatTree(4)
    edge = compile_underlay(fabric)["p0e0"]
    text = [ofctl_flow(f) for f in edge.flows]
    assert "table=1,priority=200,ip,nw_dst=10.0.0.2 actions=dec_ttl,set_field:02:00:0a:00:00:01->eth_src," \
           "set_field:02:00:0a:00:00:02->eth_dst,output:1" in text
    assert "table=0,priority=100,ip,in_port=1,nw_src=10.0.0.2 actions=goto_table:1" in text
    assert "table=0,priority=0 actions=drop" in text and "table=1,priority=0 actions=drop" in text
    assert ofctl_flow(Flow(5, (("eth_type", ETH_IP),), (Output("in_port"),))) == "table=0,priority=5,ip actions=IN_PORT"


@pytest.mark.parametrize("spoof", [{"ipv4_src": IPv4Address("10.0.0.3")}, {"ipv4_src": IPv4Address("10.3.1.3")}])
def test_a_server_cannot_forge_another_servers_address(spoof):
    fabric = FatTree(4)
    tables = compile_underlay(fabric)
    src, dst = fabric.server("p0e0h0"), fabric.server("p3e1h1")
    (path,) = trace(fabric, tables, src.name, {**ip_packet(src, dst.ip), **spoof})
    assert path.delivered_to is None and [h.node for h in path.hops] == ["p0e0"] and "keep out" in path.verdict


def test_a_spare_edge_port_gets_nothing_into_the_fabric():
    fabric = FatTree(4)
    tables = compile_underlay(fabric)
    rogue = {**ip_packet(fabric.server("p0e0h0"), fabric.server("p3e1h1").ip)}
    (path,) = walk(fabric, tables, "p0e0", fabric.k + 1, rogue)
    assert path.delivered_to is None and "keep out" in path.verdict
    (path,) = walk(fabric, tables, "p0e0", fabric.k + 1, arp_request("02:00:00:00:00:66", IPv4Address("10.0.0.250"),
                                                                       IPv4Address("10.0.0.1")))
    assert path.delivered_to is None
