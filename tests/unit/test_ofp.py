"""The controller's OpenFlow rendering, executed: what `push` sends a datapath, decoded from the wire by
a fake switch, must forward every packet exactly as the compiled model says (controller.trace)."""
from ipaddress import IPv4Address, IPv4Network, IPv6Network

import pytest

from controller import ofp
from controller.delta import diff
from controller.flows import ETH_ARP, Tables
from controller.overlay import compile_overlay
from controller.trace import walk
from controller.underlay import compile_underlay
from tests.unit.fakeoftable import FakeDatapath, frozen
from topologies.scenario import BUNDLED, load

OF13, OF15 = 0x04, 0x06
BASE = {"eth_type": 0x0800, "eth_src": "02:00:00:00:00:aa", "eth_dst": "02:00:00:00:00:bb",
        "ipv4_src": IPv4Address("10.9.9.9"), "ipv4_dst": IPv4Address("10.9.9.8"), "ttl": 64,
        "arp_sha": "02:00:00:00:00:aa", "arp_spa": IPv4Address("192.0.2.99"), "arp_tha": "00:00:00:00:00:00",
        "arp_tpa": IPv4Address("192.0.2.98"), "arp_op": 1}


class Loose:
    """Every port of the one datapath leads out, to `port<n>`, where the walk stops."""

    def peer(self, _node, port):
        return (f"port{port}", 0)


def datapaths(name):
    scenario = load(BUNDLED / name)
    return [*((t, OF15) for t in compile_underlay(scenario.fabric).values()),
            *((t, OF13) for t in compile_overlay(scenario).values())]


def pushed(tables, version):
    dp = FakeDatapath(tables.dpid, version)
    for msg in ofp.delta_messages(dp, diff(None, tables)):
        dp.send_msg(msg)
    return dp


def packets_for(tables):
    """For each flow, a packet its match selects (an address inside a prefix), meeting its table."""
    for flow in tables.flows:
        fields = {k: v.network_address + (1 if v.prefixlen < v.max_prefixlen else 0)
                  if isinstance(v, IPv4Network | IPv6Network)
                  else v.split("/")[0] if isinstance(v, str) else v for k, v in flow.match}  # a masked MAC: its value
        in_port = int(fields.pop("in_port", 4242))  # a port no flow outputs to, unless it matches one
        if fields.get("eth_type") == ETH_ARP:
            fields.setdefault("arp_op", 1)
        yield {**BASE, **fields}, in_port, flow.table


def model(tables, packet, in_port, table):
    paths = walk(Loose(), {tables.name: tables}, tables.name, in_port, packet, table=table)
    return {(int(p.delivered_to[4:]), frozen(p.packet)) for p in paths if p.delivered_to}


def outcomes(tables, version):
    """Per packet: what the fake switch did with it, and what the model says it must do."""
    dp = pushed(tables, version)
    return [(dp.run(packet, in_port, table), model(tables, packet, in_port, table))
            for packet, in_port, table in packets_for(tables)]


def disagreements(tables, version):
    return [(tables.name, fake, expected) for fake, expected in outcomes(tables, version) if fake != expected]


@pytest.mark.parametrize("name", ["lecture.yaml", "datacenter.yaml", "dualstack.yaml"])
def test_every_datapath_forwards_as_the_model_says(name):
    forwarded = 0
    for tables, version in datapaths(name):
        assert disagreements(tables, version) == []
        forwarded += sum(bool(fake) for fake, _ in outcomes(tables, version))
    assert forwarded > 150  # most packets leave somewhere: the comparison is not of two empty sets


def test_a_rendering_bug_is_caught_without_a_live_lab(monkeypatch):
    """Render every prefix as its bare address (a plausible slip): the fake switch then misroutes."""
    monkeypatch.setattr(ofp, "_match_value", lambda v: str(v.network_address) if isinstance(v, IPv4Network) else v)
    assert any(disagreements(t, v) for t, v in datapaths("lecture.yaml"))


def test_a_push_sends_only_the_difference_and_the_switch_ends_up_equal():
    (old, version), (new, _) = datapaths("lecture.yaml")[0], datapaths("datacenter.yaml")[0]
    dp = pushed(old, version)
    before = len(dp.received)
    moved = Tables(new.name, old.dpid, new.flows, new.groups)
    for msg in ofp.delta_messages(dp, diff(old, moved)):
        dp.send_msg(msg)
    fresh = pushed(moved, version)
    assert sorted((e.table, e.priority, sorted(e.match.items())) for e in dp.entries) == \
        sorted((e.table, e.priority, sorted(e.match.items())) for e in fresh.entries)
    assert len(dp.received) - before == len(diff(old, moved).add_flows) + len(diff(old, moved).remove_flows) + \
        len(diff(old, moved).modify_groups) + len(diff(old, moved).add_groups) + len(diff(old, moved).remove_groups)


def held(dp, tables):
    """What the fake switch holds, read back as the controller reads a connecting switch."""
    return Tables(tables.name, tables.dpid, tuple(ofp.read_flow(dp, s) for s in dp.flow_stats()),
                  tuple(ofp.read_group(dp, g) for g in dp.group_descs()),
                  tuple(ofp.read_meter(m) for m in dp.meter_configs()))


@pytest.mark.parametrize("name", ["lecture.yaml", "datacenter.yaml", "dualstack.yaml"])
def test_a_switch_that_holds_its_tables_reads_back_equal_so_a_reconnect_sends_nothing(name):
    for tables, version in datapaths(name):
        dp = pushed(tables, version)
        assert not diff(held(dp, tables), tables), tables.name


def test_reconciling_a_tampered_switch_sends_exactly_the_repairs():
    tables, version = next((t, v) for t, v in datapaths("lecture.yaml") if t.name == "p0e0h0/br-int")
    dp = pushed(tables, version)
    lost = dp.entries.pop(3)
    dp.send_msg(dp.ofproto_parser.OFPFlowMod(dp, table_id=2, priority=200, match=dp.ofproto_parser.OFPMatch(
        metadata=5001, eth_dst="02:00:13:8a:02:02"), instructions=[dp.ofproto_parser.OFPInstructionActions(
            dp.ofproto.OFPIT_APPLY_ACTIONS, [dp.ofproto_parser.OFPActionOutput(2)])]))  # a leak, added by hand
    delta = diff(held(dp, tables), tables)
    assert len(delta.add_flows) == 1 and delta.add_flows[0].table == lost.table
    assert [(f.table, f.priority) for f in delta.remove_flows] == [(2, 200)]
    for msg in ofp.delta_messages(dp, delta):
        dp.send_msg(msg)
    assert not diff(held(dp, tables), tables)


@pytest.mark.parametrize(("tables", "version"), datapaths("lecture.yaml")[::5], ids=lambda x: getattr(x, "name", x))
def test_a_delta_goes_on_the_wire_as_its_messages_would_and_a_flows_bytes_are_made_once(tables, version):
    dp = FakeDatapath(tables.dpid, version)
    delta = diff(None, tables)
    expected = b"".join(ofp.wire(msg) for msg in ofp.delta_messages(dp, delta))
    assert ofp.delta_wire(dp, delta) == expected == ofp.delta_wire(dp, delta)
    assert all((version, flow) in ofp._FLOW_WIRE for flow in delta.add_flows)
