"""Every compiled flow has a purpose in the lecture's words, and the counts add up."""
from collections import Counter

from controller.overlay import compile_overlay
from controller.purpose import UNDERLAY_PURPOSES, VSWITCH_PURPOSES, purpose
from controller.underlay import compile_underlay, links_of
from topologies.scenario import load

LECTURE = load()


def counts(tables, underlay):
    return Counter(purpose(f, underlay) for f in tables.flows)


def test_an_edge_switch_has_doors_arp_responders_routes_ecmp_and_drops():
    edge = compile_underlay(LECTURE.fabric)["p0e0"]
    assert counts(edge, True) == {"door": 4, "ARP responder": 2, "underlay route": 2, "ECMP": 1, "drop": 3}


def test_a_virtual_switch_flows_are_port_security_tunnels_arp_encapsulation_delivery_and_drops():
    vswitch = compile_overlay(LECTURE)["p0e0h0/br-int"]
    assert counts(vswitch, False) == {"port security": 4, "tunnel accept": 3, "ARP responder": 5,
                                      "encapsulate": 3, "deliver": 4, "drop": 4}


def test_a_failure_adds_detours_and_every_flow_of_every_datapath_has_a_known_purpose():
    fabric = LECTURE.fabric
    for name, tables in compile_underlay(fabric, links_of(fabric, "c0")).items():
        assert set(counts(tables, True)) <= set(UNDERLAY_PURPOSES), name
    pod3_cut = frozenset({frozenset(("c0", "p3a0"))})  # c0 still serves pods 0-2: only pod 3 needs a detour
    assert counts(compile_underlay(fabric, pod3_cut)["p1a0"], True)["detour"] == 1
    for name, tables in compile_overlay(load("topologies/datacenter.yaml")).items():
        assert set(counts(tables, False)) <= set(VSWITCH_PURPOSES), name
