"""Render the flow model into OpenFlow 1.3 messages for one datapath (Ryu API, so os-ken or Ryu)."""
from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Any

from controller.flows import (FIELD_BITS, IN_PORT, Action, DecTtl, Flow, Group, MatchValue, Move, Output,
                              SelectGroup, SetField)


METADATA_MASK = 2 ** 64 - 1


def _match_value(value: MatchValue) -> Any:
    if isinstance(value, IPv4Network):
        if value.prefixlen == 32:
            return str(value.network_address)
        return (str(value.network_address), str(value.netmask))
    return value


def action(dp: Any, act: Action) -> Any:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    if isinstance(act, Output):
        return parser.OFPActionOutput(ofp.OFPP_IN_PORT if act.port == IN_PORT else int(act.port))
    if isinstance(act, Group):
        return parser.OFPActionGroup(act.group_id)
    if isinstance(act, SetField):
        value = str(act.value) if isinstance(act.value, IPv4Address) else act.value
        return parser.OFPActionSetField(**{act.field: value})
    if isinstance(act, Move):
        return parser.NXActionRegMove(src_field=act.src, dst_field=act.dst, n_bits=FIELD_BITS[act.src],
                                      src_ofs=0, dst_ofs=0)
    assert isinstance(act, DecTtl)
    return parser.OFPActionDecNwTtl()


def flow_mod(dp: Any, flow: Flow) -> Any:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    actions = [action(dp, a) for a in flow.actions]
    instructions = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)] if actions else []
    if flow.metadata is not None:
        instructions.append(parser.OFPInstructionWriteMetadata(flow.metadata, METADATA_MASK))
    if flow.goto is not None:
        instructions.append(parser.OFPInstructionGotoTable(flow.goto))
    match = parser.OFPMatch(**{name: _match_value(v) for name, v in flow.match})
    return parser.OFPFlowMod(dp, table_id=flow.table, priority=flow.priority, match=match,
                             command=ofp.OFPFC_ADD, instructions=instructions)


def flow_delete_strict(dp: Any, flow: Flow) -> Any:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    match = parser.OFPMatch(**{name: _match_value(v) for name, v in flow.match})
    return parser.OFPFlowMod(dp, table_id=flow.table, priority=flow.priority, match=match,
                             command=ofp.OFPFC_DELETE_STRICT, out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY)


def group_mod(dp: Any, group: SelectGroup, command: str = "add") -> Any:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    buckets = [parser.OFPBucket(weight=1, actions=[parser.OFPActionOutput(p)]) for p in group.ports]
    cmd = {"add": ofp.OFPGC_ADD, "modify": ofp.OFPGC_MODIFY, "delete": ofp.OFPGC_DELETE}[command]
    return parser.OFPGroupMod(dp, cmd, ofp.OFPGT_SELECT, group.group_id, buckets)


def wipe(dp: Any) -> list[Any]:
    """Delete every flow and group: a switch that (re)connects starts from a known state."""
    ofp, parser = dp.ofproto, dp.ofproto_parser
    return [parser.OFPFlowMod(dp, table_id=ofp.OFPTT_ALL, command=ofp.OFPFC_DELETE,
                              out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY),
            parser.OFPGroupMod(dp, ofp.OFPGC_DELETE, 0, ofp.OFPG_ALL)]
