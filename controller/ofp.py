"""Render the flow model into OpenFlow messages for one datapath, in the version it negotiated (1.3 for
virtual switches, 1.5 for the underlay), and read what a switch reports back into the model, so the
controller can compare what a switch holds with what it should; Ryu API, so os-ken or Ryu."""
from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

from controller import osken_fixes  # noqa: F401 - os-ken must decode what the switches report
from controller.delta import Delta
from controller.flows import (
    ADDRESS_FIELDS,
    FIELD_BITS,
    IN_PORT,
    Action,
    DecTtl,
    Flow,
    Foreign,
    Group,
    MatchValue,
    Meter,
    Move,
    Output,
    SelectGroup,
    SetField,
    match,
)

METADATA_MASK = 2 ** 64 - 1
OF15 = 0x06
NTR_VENDOR_ID, NTRT_SELECTION_METHOD = 0x0000154D, 1
# OXM headers (class 0x8000, field << 9, length) of ipv4_src, ipv4_dst, tcp_src, tcp_dst, udp_src, udp_dst
HASH_FIELDS = (0x80001604, 0x80001804, 0x80001A02, 0x80001C02, 0x80001E02, 0x80002002)


# How OVS names, in its NXM reg_move, the fields the compilers name by OXM
_NXM_NAMES = {"nd_tll": "ipv6_nd_tll", "nd_sll": "ipv6_nd_sll", "nd_target": "ipv6_nd_target"}


def _match_value(value: MatchValue) -> Any:
    if isinstance(value, IPv4Network | IPv6Network):
        if value.prefixlen == value.max_prefixlen:
            return str(value.network_address)
        return (str(value.network_address), str(value.netmask))
    if isinstance(value, str) and "/" in value:  # a masked MAC
        return tuple(value.split("/"))
    return value


def action(dp: Any, act: Action) -> Any:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    if isinstance(act, Output):
        return parser.OFPActionOutput(ofp.OFPP_IN_PORT if act.port == IN_PORT else int(act.port))
    if isinstance(act, Group):
        return parser.OFPActionGroup(act.group_id)
    if isinstance(act, SetField):
        value = str(act.value) if isinstance(act.value, IPv4Address | IPv6Address) else act.value
        return parser.OFPActionSetField(**{act.field: value})
    if isinstance(act, Move) and ofp.OFP_VERSION >= OF15:  # copy_field is standard from 1.5 on
        return parser.OFPActionCopyField(n_bits=FIELD_BITS[act.src], oxm_ids=[act.src, act.dst])
    if isinstance(act, Move):
        return parser.NXActionRegMove(src_field=act.src, dst_field=act.dst, n_bits=FIELD_BITS[act.src],
                                      src_ofs=0, dst_ofs=0)
    assert isinstance(act, DecTtl)
    return parser.OFPActionDecNwTtl()


def flow_mod(dp: Any, flow: Flow) -> Any:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    actions = [action(dp, a) for a in flow.actions]
    instructions = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)] if actions else []
    if flow.meter is not None:  # an instruction in 1.3 (virtual switches), the only version with meters here
        instructions.insert(0, parser.OFPInstructionMeter(flow.meter))
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
    """An ECMP group. In OpenFlow 1.5 it also asks OVS to pick buckets by a hash of the addresses and
    ports, with this switch's DPID as the hash basis: in 1.3 OVS's default hash ignores the ports
    (measured: 400 flows, 400/0), so all tunnels between two servers would share one path; and with one basis everywhere
    an aggregation switch would repeat its edge's choice and send all it gets to one core."""
    ofp, parser = dp.ofproto, dp.ofproto_parser
    if command == "delete":  # by its id alone: OVS refuses a 1.5 delete that carries buckets
        return parser.OFPGroupMod(dp, ofp.OFPGC_DELETE, ofp.OFPGT_SELECT, group.group_id)
    cmd = {"add": ofp.OFPGC_ADD, "modify": ofp.OFPGC_MODIFY}[command]
    if ofp.OFP_VERSION >= OF15:  # each bucket watches its port: OVS skips a dead one by itself
        buckets = [parser.OFPBucket(bucket_id=i, actions=[parser.OFPActionOutput(p)], properties=[
            parser.OFPGroupBucketPropWatch(type_=ofp.OFPGBPT_WATCH_PORT, watch=p)]) for i, p in enumerate(group.ports)]
        return parser.OFPGroupMod(dp, cmd, ofp.OFPGT_SELECT, group.group_id, buckets=buckets,
                                  properties=[_hash_selection(dp)])
    buckets = [parser.OFPBucket(weight=1, watch_port=p, actions=[parser.OFPActionOutput(p)]) for p in group.ports]
    return parser.OFPGroupMod(dp, cmd, ofp.OFPGT_SELECT, group.group_id, buckets)


def _hash_selection(dp: Any) -> Any:
    """OVS's group selection method, a Netronome experimenter property (os-ken has no class for it):
    `hash` over HASH_FIELDS, each an OXM header with an all-ones mask, the switch's DPID as basis."""
    fields = b"".join(struct.pack("!I", oxm) + b"\xff" * (oxm & 0xFF) for oxm in HASH_FIELDS)
    body = bytes(4) + b"hash".ljust(16, b"\0") + struct.pack("!Q", dp.id) + fields  # pad, name, basis
    return dp.ofproto_parser.OFPGroupPropExperimenter(
        type_=dp.ofproto.OFPGPT_EXPERIMENTER, experimenter=NTR_VENDOR_ID, exp_type=NTRT_SELECTION_METHOD,
        data=list(struct.unpack(f"!{len(body) // 4}I", body)))


def meter_mod(dp: Any, meter: Meter, command: str = "add") -> Any:
    """A rate limit in packets per second, its excess dropped."""
    ofp, parser = dp.ofproto, dp.ofproto_parser
    cmd = {"add": ofp.OFPMC_ADD, "modify": ofp.OFPMC_MODIFY, "delete": ofp.OFPMC_DELETE}[command]
    bands = [] if command == "delete" else [parser.OFPMeterBandDrop(rate=meter.rate, burst_size=meter.burst)]
    return parser.OFPMeterMod(dp, command=cmd, flags=ofp.OFPMF_PKTPS | ofp.OFPMF_BURST, meter_id=meter.meter_id,
                              bands=bands)


def delta_messages(dp: Any, delta: Delta) -> list[Any]:
    """The messages that turn what a datapath holds into what it should: removed flows first (nothing
    then uses a removed group or meter), then the groups and meters, then the new flows that use them."""
    return [*_before_new_flows(dp, delta), *(flow_mod(dp, f) for f in delta.add_flows)]


def _before_new_flows(dp: Any, delta: Delta) -> list[Any]:
    return [*(flow_delete_strict(dp, f) for f in delta.remove_flows),
            *(group_mod(dp, g, "delete") for g in delta.remove_groups),
            *(meter_mod(dp, m, "delete") for m in delta.remove_meters),
            *(group_mod(dp, g, "add") for g in delta.add_groups),
            *(group_mod(dp, g, "modify") for g in delta.modify_groups),
            *(meter_mod(dp, m, "add") for m in delta.add_meters),
            *(meter_mod(dp, m, "modify") for m in delta.modify_meters)]


def wire(msg: Any, xid: int = 0) -> bytes:
    """A message as it goes on the wire, with this transaction id."""
    msg.set_xid(xid)
    msg.serialize()
    return bytes(msg.buf)


def delta_wire(dp: Any, delta: Delta) -> bytes:
    """`delta_messages`, serialized for one write, each with transaction id 0 (nothing waits on them but the
    barrier sent after them). A new flow's bytes are made once per OpenFlow version: at k=8 the 26,368 flows of
    128 virtual switches are 2,316 different ones, and os-ken builds a message in Python."""
    version = dp.ofproto.OFP_VERSION
    for flow in delta.add_flows:
        if (version, flow) not in _FLOW_WIRE:
            _FLOW_WIRE[version, flow] = wire(flow_mod(dp, flow))
    return b"".join([*map(wire, _before_new_flows(dp, delta)), *(_FLOW_WIRE[version, f] for f in delta.add_flows)])


_FLOW_WIRE: dict[tuple[int, Flow], bytes] = {}  # (OpenFlow version, flow): its flow mod's bytes


def read_flow(dp: Any, stats: Any) -> Flow:
    """A flow as a switch reports it (one OFPFlowStats), in the model: the inverse of flow_mod."""
    parser = dp.ofproto_parser
    actions: tuple[Action, ...] = ()
    metadata, goto, meter = None, None, None
    for inst in stats.instructions:
        if isinstance(inst, parser.OFPInstructionActions):
            actions = tuple(_read_action(dp, a) for a in inst.actions)
        elif isinstance(inst, parser.OFPInstructionWriteMetadata):
            metadata = inst.metadata
        elif isinstance(inst, parser.OFPInstructionGotoTable):
            goto = inst.table_id
        elif dp.ofproto.OFP_VERSION < OF15 and isinstance(inst, parser.OFPInstructionMeter):
            meter = inst.meter_id
        else:
            actions += (Foreign(repr(inst)),)
    fields = {name: _model_value(name, value) for name, value in stats.match.items()}
    return Flow(stats.priority, match(**fields), actions, stats.table_id, metadata, goto, meter=meter)


def read_meter(stats: Any) -> Meter:
    """A meter as a switch reports it (one meter configuration): its first band's rate and burst."""
    band = stats.bands[0] if stats.bands else None
    return Meter(stats.meter_id, band.rate if band else 0, band.burst_size if band else 0)


def read_group(dp: Any, desc: Any) -> SelectGroup:
    """An ECMP group as a switch reports it (one group description): the ports of its buckets."""
    ports = tuple(a.port for b in desc.buckets for a in b.actions if isinstance(a, dp.ofproto_parser.OFPActionOutput))
    return SelectGroup(desc.group_id, ports)


def _model_value(name: str, value: Any) -> MatchValue:
    if name in ADDRESS_FIELDS:
        address, mask = value if isinstance(value, tuple) else (value, None)
        bits = ip_address(address).max_prefixlen if mask is None else bin(int(ip_address(mask))).count("1")
        return ip_network(f"{address}/{bits}")
    if isinstance(value, tuple):  # a masked MAC, as the compilers write it
        return "/".join(value)
    return value  # type: ignore[no-any-return]


def _read_action(dp: Any, act: Any) -> Action:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    if isinstance(act, parser.OFPActionOutput):
        return Output(IN_PORT if act.port == ofp.OFPP_IN_PORT else act.port)
    if isinstance(act, parser.OFPActionGroup):
        return Group(act.group_id)
    if isinstance(act, parser.OFPActionSetField):
        return SetField(act.key, ip_address(act.value) if act.key in ADDRESS_FIELDS else act.value)
    if isinstance(act, parser.NXActionRegMove):  # OVS reports its fields by their NXM names: eth_src_nxm
        src, dst = (_NXM_NAMES.get(f, f.removesuffix("_nxm")) for f in (act.src_field, act.dst_field))
        return Move(src, dst)
    if ofp.OFP_VERSION >= OF15 and isinstance(act, parser.OFPActionCopyField):
        src, dst = (oxm.type for oxm in act.oxm_ids)
        return Move(src, dst)
    if isinstance(act, parser.OFPActionDecNwTtl):
        return DecTtl()
    return Foreign(repr(act))

