"""The flow model: diffs push only what changed, and the OpenFlow rendering serializes."""
from dataclasses import replace
from types import SimpleNamespace

from os_ken.ofproto import ofproto_v1_3, ofproto_v1_3_parser, ofproto_v1_5, ofproto_v1_5_parser

from controller import ofp
from controller.delta import diff
from controller.flows import Flow, SelectGroup, Tables, match
from controller.underlay import compile_underlay
from topologies.fattree import FatTree

EDGE = compile_underlay(FatTree(4))["p0e0"]


def test_diff_from_nothing_adds_everything():
    delta = diff(None, EDGE)
    assert delta.add_flows == EDGE.flows and delta.add_groups == EDGE.groups
    assert not delta.remove_flows and not delta.modify_groups


def test_diff_of_identical_tables_is_empty():
    assert not diff(EDGE, EDGE)


def test_diff_carries_only_the_change():
    changed = Flow(1, match(eth_type=0x0800), ())
    new = Tables(EDGE.name, EDGE.dpid, (*EDGE.flows[1:], changed), (SelectGroup(1, (3,)),))
    delta = diff(EDGE, new)
    assert delta.remove_flows == (EDGE.flows[0],) and delta.add_flows == (changed,)
    assert delta.modify_groups == (SelectGroup(1, (3,)),) and not delta.add_groups


def test_notes_do_not_make_flows_differ():
    flow = EDGE.flows[0]
    assert replace(flow, note="another reason") == flow


def test_every_compiled_message_serializes_as_openflow13():
    dp = SimpleNamespace(ofproto=ofproto_v1_3, ofproto_parser=ofproto_v1_3_parser, id=EDGE.dpid)
    messages = [*(ofp.group_mod(dp, g) for g in EDGE.groups),
                *(ofp.flow_mod(dp, f) for f in EDGE.flows), *(ofp.flow_delete_strict(dp, f) for f in EDGE.flows)]
    for msg in messages:
        msg.serialize()
        assert msg.buf[0] == ofproto_v1_3.OFP_VERSION
    arp = ofp.flow_mod(dp, next(f for f in EDGE.flows if f.priority == 300))
    assert arp.match["arp_tpa"] == ("10.0.0.0", "255.255.255.0") and arp.match["arp_spa"] == "10.0.0.2"
    assert len(arp.instructions[0].actions) == 9
    door = ofp.flow_mod(dp, EDGE.flows[0])
    assert door.match["in_port"] == 1 and door.instructions[-1].table_id == 1


def test_openflow15_carries_the_hash_selection_and_copies_fields():
    """Underlay switches speak 1.5: the ECMP group names OVS's `hash` method, over addresses and
    ports, with the DPID as basis; moves are standard copy_field actions."""
    dp = SimpleNamespace(ofproto=ofproto_v1_5, ofproto_parser=ofproto_v1_5_parser, id=0x20001)
    group = ofp.group_mod(dp, EDGE.groups[0])
    group.serialize()
    (prop,) = group.properties
    body = b"".join(d.to_bytes(4, "big") for d in prop.data)
    assert prop.experimenter == 0x154D and body[4:8] == b"hash" and int.from_bytes(body[20:28], "big") == 0x20001
    assert len(body) == 28 + 2 * 8 + 4 * 6
    arp = ofp.flow_mod(dp, next(f for f in EDGE.flows if f.priority == 300))
    arp.serialize()
    assert any(type(a).__name__ == "OFPActionCopyField" for a in arp.instructions[0].actions)
