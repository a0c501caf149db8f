"""A fake OpenFlow datapath that executes what the controller sends it (Faucet's FakeOFTable idea).

Every message is serialized to wire bytes and decoded back from them (with controller.osken_fixes), so
what is executed is what a switch would receive. Flow mods and group mods change the fake's tables; `run` sends a packet
(a dict of OXM fields, as controller.trace uses) through them and returns where copies leave.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

from os_ken.ofproto import ofproto_parser, ofproto_v1_3, ofproto_v1_3_parser, ofproto_v1_5, ofproto_v1_5_parser

VERSIONS = {ofproto_v1_3.OFP_VERSION: (ofproto_v1_3, ofproto_v1_3_parser),
            ofproto_v1_5.OFP_VERSION: (ofproto_v1_5, ofproto_v1_5_parser)}
Packet = dict[str, object]


@dataclass
class Entry:
    table: int
    priority: int
    match: dict[str, Any]
    instructions: list[Any]
    ofmatch: Any = None  # the decoded OFPMatch itself, for flow_stats


@dataclass(frozen=True)
class Stats:
    """One flow as the switch reports it in a flow stats reply (the fields the controller reads)."""

    table_id: int
    priority: int
    match: Any
    instructions: list[Any]


@dataclass(frozen=True)
class GroupDesc:
    group_id: int
    buckets: list[Any]


@dataclass
class FakeDatapath:
    """What dp.send_msg reaches: tables that change as a switch's would."""

    id: int
    version: int
    entries: list[Entry] = field(default_factory=list)
    groups: dict[int, list[Any]] = field(default_factory=dict)  # group id -> buckets
    meters: dict[int, Any] = field(default_factory=dict)  # meter id -> its meter mod, as a config reply's body
    received: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ofproto, self.ofproto_parser = VERSIONS[self.version]

    def send_msg(self, msg: Any) -> None:
        msg.set_xid(len(self.received) + 1)
        msg.serialize()  # a message that cannot be encoded fails here, as it would in the controller
        msg = self._parsed(msg)
        self.received.append(msg)
        if isinstance(msg, self.ofproto_parser.OFPFlowMod):
            self._flow_mod(msg)
        elif isinstance(msg, self.ofproto_parser.OFPGroupMod):
            self._group_mod(msg)
        elif isinstance(msg, self.ofproto_parser.OFPMeterMod):
            self._meter_mod(msg)

    def _parsed(self, msg: Any) -> Any:
        """A flow or group mod as the switch decodes it from the wire (os-ken has no 1.3 group mod decoder:
        those are executed as built)."""
        if not isinstance(msg, self.ofproto_parser.OFPFlowMod) and self.version < ofproto_v1_5.OFP_VERSION:
            return msg
        return ofproto_parser.msg(self, self.version, msg.msg_type, msg.msg_len, msg.xid, bytes(msg.buf))

    def _flow_mod(self, msg: Any) -> None:
        ofp = self.ofproto
        match = dict(msg.match.items())
        if msg.command == ofp.OFPFC_DELETE and msg.table_id == ofp.OFPTT_ALL and not match:
            self.entries.clear()
            return
        same = [e for e in self.entries if (e.table, e.priority, e.match) == (msg.table_id, msg.priority, match)]
        for entry in same:
            self.entries.remove(entry)
        if msg.command == ofp.OFPFC_ADD:
            assert self._metered(list(msg.instructions)) <= set(self.meters), f"a flow names an unknown meter: {msg}"
            self.entries.append(Entry(msg.table_id, msg.priority, match, list(msg.instructions), msg.match))
        elif msg.command != ofp.OFPFC_DELETE_STRICT:
            raise AssertionError(f"the fake does not execute flow mod command {msg.command}")

    def _meter_mod(self, msg: Any) -> None:
        ofp = self.ofproto
        if msg.command == ofp.OFPMC_DELETE:
            assert msg.meter_id in self.meters, f"meter {msg.meter_id} deleted before it was added"
            assert not any(msg.meter_id in self._metered(e.instructions) for e in self.entries), \
                f"meter {msg.meter_id} deleted while a flow uses it (a switch would delete the flow too)"
            del self.meters[msg.meter_id]
            return
        assert (msg.meter_id in self.meters) == (msg.command == ofp.OFPMC_MODIFY), f"meter {msg.meter_id}: {msg}"
        self.meters[msg.meter_id] = msg

    def _metered(self, instructions: list[Any]) -> set[int]:
        meter = getattr(self.ofproto_parser, "OFPInstructionMeter", ())  # 1.3's; 1.5 has none
        return {i.meter_id for i in instructions if isinstance(i, meter)}

    def meter_configs(self) -> list[Any]:
        """What a meter configuration request would return (the fields the controller reads)."""
        return list(self.meters.values())

    def _group_mod(self, msg: Any) -> None:
        ofp = self.ofproto
        if msg.command == ofp.OFPGC_DELETE:
            self.groups = {} if msg.group_id == ofp.OFPG_ALL else {
                i: b for i, b in self.groups.items() if i != msg.group_id}
        elif msg.command == ofp.OFPGC_ADD:
            assert msg.group_id not in self.groups, f"group {msg.group_id} added twice"
            self.groups[msg.group_id] = list(msg.buckets)
        else:
            assert msg.group_id in self.groups, f"group {msg.group_id} modified before it was added"
            self.groups[msg.group_id] = list(msg.buckets)

    def flow_stats(self) -> list[Stats]:
        """What a flow stats request for every table would return."""
        return [Stats(e.table, e.priority, e.ofmatch, e.instructions) for e in self.entries]

    def group_descs(self) -> list[GroupDesc]:
        return [GroupDesc(i, buckets) for i, buckets in self.groups.items()]

    def run(self, packet: Packet, in_port: int, table: int = 0) -> set[tuple[int, frozenset[tuple[str, str]]]]:
        """Every (port, packet) that leaves when `packet` arrives on `in_port` (and meets `table`
        first); empty: dropped."""
        out: set[tuple[int, frozenset[tuple[str, str]]]] = set()
        pkt = {**packet, "in_port": in_port}
        while True:
            entry = self._lookup(pkt, table)
            if entry is None:
                return out
            table = -1
            for inst in entry.instructions:
                if isinstance(inst, self.ofproto_parser.OFPInstructionActions):
                    for act in inst.actions:
                        out |= self._act(act, pkt)
                elif isinstance(inst, self.ofproto_parser.OFPInstructionWriteMetadata):
                    old = int(pkt.get("metadata", 0))  # type: ignore[call-overload]
                    pkt["metadata"] = (old & ~inst.metadata_mask) | (inst.metadata & inst.metadata_mask)
                elif isinstance(inst, self.ofproto_parser.OFPInstructionGotoTable):
                    table = inst.table_id
            if table < 0:
                return out

    def _lookup(self, pkt: Packet, table: int) -> Entry | None:
        hits = [e for e in self.entries if e.table == table and all(_matches(v, pkt.get(k)) for k, v in e.match.items())]
        assert len({e.priority for e in hits}) == len(hits), f"overlapping entries of one priority: {hits}"
        return max(hits, key=lambda e: e.priority, default=None)

    def _act(self, act: Any, pkt: Packet) -> set[tuple[int, frozenset[tuple[str, str]]]]:
        parser, ofp = self.ofproto_parser, self.ofproto
        if isinstance(act, parser.OFPActionOutput):
            if act.port == pkt["in_port"]:
                return set()  # never back where it came from, unless to OFPP_IN_PORT
            port = pkt["in_port"] if act.port == ofp.OFPP_IN_PORT else act.port
            return {(int(port), _frozen(pkt))}  # type: ignore[call-overload]
        if isinstance(act, parser.OFPActionGroup):
            return {leaving for bucket in self.groups[act.group_id] for a in bucket.actions
                    for leaving in self._act(a, dict(pkt))}
        if isinstance(act, parser.OFPActionSetField):
            pkt[act.key] = act.value
        elif isinstance(act, parser.NXActionRegMove):
            pkt[act.dst_field] = pkt.get(act.src_field)
        elif self.version == ofproto_v1_5.OFP_VERSION and isinstance(act, parser.OFPActionCopyField):
            src, dst = (oxm.type for oxm in act.oxm_ids)
            pkt[dst] = pkt.get(src)
        elif isinstance(act, parser.OFPActionDecNwTtl):
            pkt["ttl"] = int(pkt.get("ttl", 64)) - 1  # type: ignore[call-overload]
        else:
            raise AssertionError(f"the fake does not execute {act}")
        return set()


def _matches(want: Any, have: object) -> bool:
    """One match field against a packet's value; masked IPv4 values are (address, netmask)."""
    if have is None:
        return False
    if isinstance(want, tuple):
        value, mask = want
        if isinstance(value, int):
            return (int(have) & mask) == value  # type: ignore[call-overload]
        if str(value).count(":") == 5 and len(str(value)) == 17:  # a masked MAC
            bits = [int(str(m).replace(":", ""), 16) for m in (have, value, mask)]
            return bits[0] & bits[2] == bits[1] & bits[2]
        prefix = bin(int(ip_address(mask))).count("1")
        return ip_address(str(have)) in ip_network(f"{value}/{prefix}")
    return _text(want) == _text(have)


def frozen(pkt: Packet) -> frozenset[tuple[str, str]]:
    """A packet in a form both the fake and the model's packets compare equal in."""
    return _frozen(pkt)


def _text(value: object) -> str:
    if isinstance(value, IPv4Network | IPv6Network) and value.prefixlen == value.max_prefixlen:
        value = value.network_address
    return str(value).lower()


def _frozen(pkt: Packet) -> frozenset[tuple[str, str]]:
    return frozenset((k, _text(v)) for k, v in pkt.items() if v is not None and k != "in_port")
