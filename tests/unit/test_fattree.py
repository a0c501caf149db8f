"""The fat-tree's shape, names, ports and hierarchical addresses."""
from collections import Counter
from ipaddress import IPv4Address

import pytest

from topologies.fattree import FatTree, k_problem, mac_of
from topologies.mininet_topo import FatTreeTopo

KS = list(range(2, 17, 2))


@pytest.mark.parametrize("k", KS)
def test_counts_follow_k(k):
    fabric = FatTree(k)
    assert len(fabric.switches) == 5 * k * k // 4
    assert len(fabric.servers) == k ** 3 // 4
    assert len(fabric.cores) == (k // 2) ** 2
    assert len(fabric.links) == k ** 3 // 4 * 3  # one per server at each of 3 layers


@pytest.mark.parametrize("k", KS)
def test_every_switch_port_is_cabled_once(k):
    fabric = FatTree(k)
    ports = Counter()
    for link in fabric.links:
        ports[(link.a, link.a_port)] += 1
        ports[(link.b, link.b_port)] += 1
    assert set(ports.values()) == {1}
    for switch in fabric.switches:
        used = sorted(p for (node, p) in ports if node == switch.name)
        assert used == list(range(1, k + 1)), switch.name


@pytest.mark.parametrize("k", KS)
def test_names_dpids_addresses_are_unique_and_short(k):
    fabric = FatTree(k)
    names = [n.name for n in (*fabric.switches, *fabric.servers)]
    assert len(set(names)) == len(names)
    assert len({s.dpid for s in fabric.switches}) == len(fabric.switches)
    assert len({s.ip for s in fabric.servers}) == len(fabric.servers)
    assert max(len(f"{n}-eth{k}") for n in names) <= 15


def test_addresses_are_hierarchical():
    server = FatTree(4).server("p3e1h0")
    assert server.ip == IPv4Address("10.3.1.2")
    assert str(server.gateway) == "10.3.1.1"
    assert server.ip in server.rack
    assert server.mac == "02:00:0a:03:01:02" == mac_of(server.ip)


def test_dpids_read_as_role_pod_index():
    fabric = FatTree(4)
    assert fabric.switch("p2e1").dpid == 0x30201
    assert fabric.switch("p2a0").dpid == 0x20200
    assert fabric.switch("c3").dpid == 0x10003


def test_core_reaches_every_pod_once():
    fabric = FatTree(6)
    for core in fabric.cores:
        pods = {fabric.peer(core.name, p)[0][:2] for p in range(1, 7)}
        assert pods == {f"p{i}" for i in range(6)}


@pytest.mark.parametrize("k", [0, 1, 3, 5, 18, -2, "4", True, 4.0])
def test_bad_k_is_explained(k):
    assert k_problem(k)
    with pytest.raises(ValueError):
        FatTree(k)


def test_mininet_topo_matches_the_model():
    topo = FatTreeTopo(4)
    assert len(topo.switches()) == 20 and len(topo.hosts()) == 16
    assert topo.nodeInfo("p0e0h1")["ip"] == "10.0.0.3/24"
    assert topo.nodeInfo("c2")["dpid"] == "0000000000010002"
    info = topo.linkInfo("p0e0", "p0a1")
    assert {info["port1"], info["port2"]} == {4, 1}
