"""Probe crafting and the verdicts drawn from what was seen: pure, no network needed."""
from ipaddress import IPv4Address

import pytest

from probes import arpcheck, attacks, matrix, wire
from probes.endpoint import Endpoint
from probes.packets import Host, arp, arp_answer, describe_frame, dissect, encapsulated, probe, token_in
from probes.session import Outcome, Probe, Tokens
from probes.verdicts import Status
from topologies.encap import Encap

IP = IPv4Address


def ep(label, tenant, vni, encap, mac, ip, server_ip):
    return Endpoint(label, tenant, vni, encap, mac, IP(ip), IP(server_ip), 0, "eth0")


WEB = ep("pepsi/web", "pepsi", 5001, Encap.VXLAN, "02:00:13:89:02:02", "192.0.2.2", "10.0.0.2")
DB = ep("pepsi/db", "pepsi", 5001, Encap.VXLAN, "02:00:13:89:02:03", "192.0.2.3", "10.3.1.3")
COKE = ep("coke/web", "coke", 5002, Encap.GENEVE, "02:00:13:8a:02:02", "192.0.2.2", "10.0.0.2")
ENDPOINTS = [WEB, DB, COKE]
UNDERLAY = wire.Underlay({IP("10.0.0.2"): "p0e0h0", IP("10.3.1.3"): "p3e1h1"},
                         frozenset({IP("10.0.0.1"), IP("10.3.1.1")}), tuple(ENDPOINTS), {})


@pytest.mark.parametrize("proto", ["icmp", "udp", "tcp"])
def test_a_probe_carries_its_token_and_replies_do_not(proto):
    token = Tokens()()
    frame = probe(proto, WEB.host, DB.host, token, flow=3)
    assert token_in(frame) == token and len(token) == 10
    tunneled = encapsulated(Encap.VXLAN, Host("02:00:0a:00:00:02", IP("10.0.0.2")), "02:00:0a:00:00:01",
                            IP("10.3.1.3"), 5001, frame)
    assert token_in(tunneled) is None  # a probe inside a tunnel has not arrived anywhere yet


def test_every_probe_is_a_flow_of_its_own():
    tokens = Tokens()
    planned = matrix.matrix(ENDPOINTS, tokens)
    assert len(planned) == 3 * 2 * 3 and len({p.probe.token for p in planned}) == 18
    assert {(p.src, p.dst, p.expected) for p in planned if p.proto == "udp"} >= {
        ("pepsi/web", "pepsi/db", "deliver"), ("pepsi/web", "coke/web", "isolate")}
    assert all(p.probe.expect is None for p in planned if p.expected == "isolate")


def test_pair_results_name_what_went_wrong():
    planned = matrix.matrix(ENDPOINTS, Tokens(), ("icmp",))
    to_db = next(p for p in planned if (p.src, p.dst) == ("pepsi/web", "pepsi/db"))
    to_coke = next(p for p in planned if (p.src, p.dst) == ("pepsi/web", "coke/web"))
    outcome = Outcome()
    outcome.arrivals[to_db.probe.token] = {"pepsi/db"}
    outcome.arrivals[to_coke.probe.token] = {"coke/web"}
    assert matrix.result(to_db, outcome).ok
    leak = matrix.result(to_coke, outcome)
    assert not leak.ok and leak.observed == "deliver" and leak.as_json()["ok"] is False
    outcome.arrivals[to_db.probe.token] = {"pepsi/db", "coke/web"}
    assert matrix.result(to_db, outcome).elsewhere == ("coke/web",)


def test_arp_questions_expect_the_tenants_own_mac_or_silence():
    asked = {(q.asker, q.ip): q.answer for q in arpcheck.questions(ENDPOINTS)}
    assert asked[("pepsi/db", IP("192.0.2.2"))] == WEB.mac  # not coke's, which owns the same address
    assert asked[("coke/web", IP("192.0.2.3"))] is None
    assert asked[("coke/web", IP("10.0.0.2"))] is None  # its own server: never visible to a VM
    reply = arp("is-at", Host(WEB.mac, WEB.ip), DB.ip, DB.mac, DB.mac)
    assert arp_answer(reply) == (WEB.ip, WEB.mac)


def test_attacks_cover_the_issue_and_expect_isolation():
    rogue = attacks.Rogue("rogue", Host("02:00:0a:00:00:fa", IP("10.0.0.250")), "02:00:0a:00:00:01")
    coke_db = ep("coke/db", "coke", 5002, Encap.GENEVE, "02:00:13:8a:02:03", "192.0.2.3", "10.3.1.3")
    tried = attacks.attacks([*ENDPOINTS, coke_db], Tokens(), rogue)
    assert {a.name for a in tried} == {"IP spoofing", "MAC spoofing", "ARP spoofing", "broadcast", "multicast",
                                       "tunnel forgery", "rogue host"}
    assert all(a.probe.expect is None for a in tried)
    rogue_from_server = next(a for a in tried if "real server" in a.detail)
    outer = dissect(rogue_from_server.probe.frame)
    assert (outer.kind, outer.vni, outer.src, outer.dst) == (Encap.GENEVE, 5002, IP("10.3.1.3"), IP("10.0.0.2"))
    outcome = Outcome()
    outcome.arrivals[rogue_from_server.probe.token] = {"coke/web"}
    assert rogue_from_server.as_json(outcome)["observed"] == "reached coke/web"


def tunnel(kind, vni, inner, src="10.0.0.2", dst="10.3.1.3", sport_flow=0):
    frame = encapsulated(kind, Host("02:00:0a:00:00:02", IP(src)), "02:00:0a:00:00:01", IP(dst), vni, inner)
    if sport_flow and kind is not Encap.GRE:
        frame = frame[:34] + (49152 + sport_flow).to_bytes(2, "big") + frame[36:]
    return frame


def findings(frames, underlay=UNDERLAY):
    return {f.name.removeprefix("wire: "): f for f in wire.analyze(frames, underlay)}


def test_wire_checks_pass_on_clean_tunnels():
    frames = [tunnel(Encap.VXLAN, 5001, probe("udp", WEB.host, DB.host, Tokens()(), flow=i), sport_flow=i) for i in range(4)]
    got = findings(frames)
    assert all(f.ok for f in got.values()), got
    assert got["outer source ports"].status is Status.PASS
    assert "4 inner flows used 4 outer source ports" in got["outer source ports"].detail
    assert got["inner packets intact"].status is Status.NOT_APPLICABLE  # no sent probe to compare with


def test_wire_checks_with_nothing_to_judge_say_so_instead_of_passing():
    (nothing,) = wire.analyze([], UNDERLAY)
    assert nothing.status is Status.NOT_APPLICABLE and "no frame crossed" in nothing.detail
    one_flow = findings([tunnel(Encap.VXLAN, 5001, probe("udp", WEB.host, DB.host, Tokens()()))])
    assert one_flow["outer source ports"].status is Status.NOT_APPLICABLE
    assert one_flow["outer source ports"].detail == "not applicable: no server pair carried 3 or more inner flows"


def test_wire_checks_catch_a_wrong_vni_a_bare_tenant_packet_and_a_foreign_address():
    inner = probe("udp", WEB.host, DB.host, Tokens()())
    got = findings([tunnel(Encap.VXLAN, 5002, inner), inner, tunnel(Encap.VXLAN, 5001, inner, src="10.0.0.250")])
    assert not got["encapsulation"].ok and "went as vxlan VNI 5002" in got["encapsulation"].detail
    assert not got["nothing unencapsulated"].ok
    assert not got["outer addresses"].ok and "10.0.0.250" in got["outer addresses"].detail


def test_wire_checks_catch_a_changed_inner_packet_and_one_source_port_for_many_flows():
    tokens = Tokens()
    sent = {}
    frames = []
    for i in range(4):
        token = tokens()
        sent[token] = probe("udp", WEB.host, DB.host, token, flow=i)
        changed = sent[token][:22] + b"\x01" + sent[token][23:]  # the TTL, rewritten on the way
        frames.append(tunnel(Encap.VXLAN, 5001, changed))
    got = findings(frames, wire.Underlay(UNDERLAY.servers, UNDERLAY.gateways, UNDERLAY.endpoints, sent))
    assert not got["inner packets intact"].ok
    assert not got["outer source ports"].ok and "4 flows, 1 port" in got["outer source ports"].detail


def test_outcome_allows_only_where_a_probe_may_go():
    p = Probe(b"OLAB000000", "pepsi/web", b"", None, frozenset({"pepsi/db"}))
    outcome = Outcome()
    assert outcome.ok(p)
    outcome.arrivals[p.token] = {"pepsi/db"}
    assert outcome.ok(p)
    outcome.arrivals[p.token].add("coke/web")
    assert not outcome.ok(p)


def test_a_tunnel_frame_is_described_outside_in():
    inner = probe("icmp", WEB.host, DB.host, Tokens()())
    line = describe_frame(tunnel(Encap.GENEVE, 5002, inner))
    assert line.startswith("10.0.0.2 -> 10.3.1.3 GENEVE sport 49152 VNI 5002 | inside: Ether / IP / ICMP 192.0.2.2 > 192.0.2.3")
    assert "ICMP" in describe_frame(inner)


def test_in_flat_mode_bare_vm_packets_are_the_rule_and_a_tunnel_frame_is_wrong():
    flat = wire.Underlay(UNDERLAY.servers, UNDERLAY.gateways, (WEB, DB), {}, flat=True)
    bare = probe("udp", WEB.host, DB.host, Tokens()())
    got = findings([bare], flat)
    assert set(got) == {"outer addresses", "no encapsulation", "fast dissection"} and all(f.ok for f in got.values())
    assert "1 frames carried VM addresses bare" in got["no encapsulation"].detail
    got = findings([bare, tunnel(Encap.VXLAN, 5001, bare)], flat)
    assert not got["no encapsulation"].ok and "vxlan VNI 5001 10.0.0.2 -> 10.3.1.3" in got["no encapsulation"].detail
    assert not findings([bare])["nothing unencapsulated"].ok  # the same frame, in overlay mode
