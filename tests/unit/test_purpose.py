"""Every compiled flow carries its purpose from the compiler, in the lecture's words, and the counts add up."""
from collections import Counter

from controller.codec import tables_doc, tables_of
from controller.overlay import compile_overlay
from controller.purpose import UNDERLAY_PURPOSES, VSWITCH_PURPOSES
from controller.underlay import compile_underlay, links_of
from topologies.scenario import load

LECTURE = load()


def counts(tables):
    return Counter(f.purpose for f in tables.flows)


def test_an_edge_switch_has_doors_arp_responders_routes_ecmp_and_drops():
    edge = compile_underlay(LECTURE.fabric)["p0e0"]
    assert counts(edge) == {"door": 4, "ARP responder": 2, "underlay route": 2, "ECMP": 1, "drop": 3}


def test_a_virtual_switch_flows_are_port_security_tunnels_arp_encapsulation_delivery_and_drops():
    vswitch = compile_overlay(LECTURE)["p0e0h0/br-int"]
    # port security: 3 per VM (IP, ARP, its broadcasts through its meter)
    assert counts(vswitch) == {"port security": 6, "tunnel accept": 3, "ARP responder": 5,
                                      "encapsulate": 3, "replicate": 4, "deliver": 4, "drop": 4}


def test_a_failure_adds_detours_and_every_flow_of_every_datapath_has_a_known_purpose():
    fabric = LECTURE.fabric
    for name, tables in compile_underlay(fabric, links_of(fabric, "c0")).items():
        assert set(counts(tables)) <= set(UNDERLAY_PURPOSES), name
    pod3_cut = frozenset({frozenset(("c0", "p3a0"))})  # c0 still serves pods 0-2: only pod 3 needs a detour
    assert counts(compile_underlay(fabric, pod3_cut)["p1a0"])["detour"] == 1
    for name, tables in compile_overlay(load("topologies/datacenter.yaml")).items():
        assert set(counts(tables)) <= set(VSWITCH_PURPOSES), name


def test_the_purpose_survives_the_api_and_a_flow_read_back_has_none():
    """The lab groups flows by the purpose the controller's compiler gave them (controller.codec carries it);
    what a switch reports back is compared without it."""
    edge = compile_underlay(LECTURE.fabric)["p0e0"]
    assert [f.purpose for f in tables_of(tables_doc(edge)).flows] == [f.purpose for f in edge.flows]
    assert all(f.purpose for f in edge.flows)
