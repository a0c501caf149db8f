"""Verdicts on results made by hand: each check passes, fails with the culprits named, or has nothing
to judge and says so."""
from ipaddress import IPv4Address as IP

from overlaylab.verify.check import ECMP_MIN_PACKETS, ecmp_check
from probes.attacks import Attack
from probes.endpoint import Endpoint
from probes.matrix import DELIVER, ISOLATE, PairResult
from probes.session import Outcome, Probe, Question
from probes.verdicts import Check, Status, arp_check, attack_check, interop_check, matrix_check
from topologies.encap import Encap, Vtep


def pair(src, dst, expected, observed, elsewhere=(), tries=1, proto="udp"):
    return PairResult(src, dst, proto, expected, observed, elsewhere, tries)


def test_a_check_with_nothing_to_judge_is_neither_a_pass_nor_a_failure():
    na = Check.not_applicable("x", "nothing here")
    assert na.ok and na.status is Status.NOT_APPLICABLE
    assert na.as_json() == {"name": "x", "ok": True, "status": "not applicable", "detail": "not applicable: nothing here"}
    assert Check.judged("x", False, "d").as_json()["status"] == "fail"


def test_the_matrix_passes_on_delivered_and_isolated_probes_and_counts_re_sends():
    check = matrix_check([pair("a/w", "a/d", DELIVER, DELIVER, tries=3), pair("a/w", "b/w", ISOLATE, ISOLATE)])
    assert check.status is Status.PASS
    assert check.detail.startswith("2/2 probes as expected (2 udp; 1 to deliver within a tenant, 1 to isolate "
                                   "across tenants; 2 re-sends)")


def test_the_matrix_names_a_lost_probe_and_a_leak_with_where_it_went():
    check = matrix_check([pair("a/w", "a/d", DELIVER, ISOLATE, tries=4),
                          pair("a/w", "b/w", ISOLATE, DELIVER), pair("a/w", "a/d", DELIVER, DELIVER, ("b/d",))])
    assert check.status is Status.FAIL
    assert "a/w->a/d udp lost after 4 tries" in check.detail
    assert "a/w->b/w udp deliver" in check.detail and "(reached b/d)" in check.detail


def test_the_matrix_quotes_ten_failures_at_most():
    check = matrix_check([pair(f"a/{i}", "b/w", ISOLATE, DELIVER) for i in range(25)])
    assert check.detail.count("->") == 10 and check.detail.endswith(" ...")


def test_an_empty_matrix_is_not_applicable():
    assert matrix_check([]).status is Status.NOT_APPLICABLE


def member(label="a/legacy"):
    return Endpoint(label, "a", 1, Encap.VXLAN, "02:00:00:00:00:09", IP("192.0.2.9"), IP("10.2.0.2"), 0, "vx1",
                    Vtep.KERNEL)


def test_interop_is_about_the_bare_metal_members_share_only():
    results = [pair("a/legacy", "a/d", DELIVER, DELIVER), pair("a/w", "a/d", DELIVER, ISOLATE)]
    check = interop_check([member()], results)
    assert check and check.status is Status.PASS
    assert check.detail == "a/legacy (kernel VXLAN VTEP): 1/1 probes as expected, reaching a/d"
    assert interop_check([], results) is None
    failed = interop_check([member()], [pair("a/d", "a/legacy", DELIVER, ISOLATE)])
    assert failed and failed.status is Status.FAIL and "0/1" in failed.detail and "reaching nobody" in failed.detail


def question(ip, answer):
    return Question("a/w", IP(ip), b"", answer)


def test_arp_must_answer_with_the_tenants_own_mac_and_stay_silent_otherwise():
    asked = [question("192.0.2.3", "02:00:00:00:00:03"), question("192.0.2.4", None)]
    outcome = Outcome()
    outcome.answers[("a/w", IP("192.0.2.3"))] = {"02:00:00:00:00:03"}
    check = arp_check(asked, outcome)
    assert check.status is Status.PASS and check.detail.startswith("2/2 ARP questions answered as they must: 1 ")
    outcome.answers[("a/w", IP("192.0.2.4"))] = {"02:00:00:00:00:66"}  # another tenant's MAC leaked
    check = arp_check(asked, outcome)
    assert check.status is Status.FAIL
    assert "a/w asked 192.0.2.4, got ['02:00:00:00:00:66'] (expected nothing)" in check.detail
    assert arp_check([], Outcome()).status is Status.NOT_APPLICABLE


def test_an_attack_that_reaches_anyone_outside_what_it_may_reach_fails_named():
    flood = Attack("broadcast", "a/w broadcasts", Probe(b"T1", "a/w", b"", None, frozenset({"a/d"})))
    spoof = Attack("IP spoofing", "a/w spoofs", Probe(b"T2", "a/w", b"", None))
    outcome = Outcome()
    outcome.arrivals[b"T1"] = {"a/d"}
    assert attack_check([flood, spoof], outcome).status is Status.PASS
    outcome.arrivals[b"T2"] = {"b/w"}
    check = attack_check([flood, spoof], outcome)
    assert check.status is Status.FAIL and check.detail.endswith("NOT isolated: IP spoofing (a/w spoofs): reached b/w")
    assert attack_check([], outcome).status is Status.NOT_APPLICABLE


def test_ecmp_judges_only_busy_switches_and_names_an_idle_uplink():
    quiet = {"p0e0": [1, 2]}
    assert ecmp_check(quiet).status is Status.NOT_APPLICABLE
    spread = {"p0e0": [15, 9], "p0a0": [ECMP_MIN_PACKETS, 0], "p1e0": [3, 0]}
    check = ecmp_check(spread)
    assert check.status is Status.FAIL and check.detail.startswith("1/2 switches")
    assert check.detail.endswith("idle uplinks on: p0a0 20/0")
    assert ecmp_check({"p0e0": [15, 9]}).status is Status.PASS


def test_probes_lost_to_a_server_known_down_are_one_line_per_cause_not_one_per_pair():
    results = [pair("a/w", "a/d", DELIVER, ISOLATE, tries=4, proto=p) for p in ("icmp", "udp", "tcp")]
    results += [pair("a/d", "a/w", DELIVER, ISOLATE, tries=4), pair("a/w", "a/x", DELIVER, DELIVER),
                pair("a/w", "b/w", ISOLATE, DELIVER)]
    check = matrix_check(results, {"a/d": "p1e0h1's virtual switch is not connected"})
    assert check.status is Status.FAIL and check.detail.startswith("1/6 probes as expected")
    assert "unreachable because p1e0h1's virtual switch is not connected: a/d (4 probes)" in check.detail
    assert check.detail.endswith("unexpected: a/w->b/w udp deliver")  # a leak is never explained away
