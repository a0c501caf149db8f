"""The tenant checks of `overlaylab check`: one probing session (matrix, ARP, attacks) with a
sniffer in every VM and taps on the underlay's server uplinks and core links, then the verdicts."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from overlaylab.lab import Lab
from overlaylab.network import ROGUE
from overlaylab.system import Stopwatch
from probes import arpcheck, attacks, matrix, wire
from probes.capture import Capture
from probes.endpoint import Endpoint
from probes.packets import Host
from probes.session import Outcome, Progress, Question, Tokens, run_session
from topologies.fattree import mac_of


@dataclass
class Verdicts:
    """What the session showed, as (name, ok, detail) checks plus the report's detailed lists."""

    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    pairs: list[dict[str, Any]] = field(default_factory=list)
    attacks: list[dict[str, Any]] = field(default_factory=list)
    probes_sent: int = 0
    resent: int = 0
    frames_seen: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def underlay_taps(lab: Lab) -> list[str]:
    """Every server uplink (its edge switch's side) and every core link (the core's side)."""
    fabric = lab.scenario.fabric
    uplinks = [f"p{s.pod}e{s.edge}-eth{s.host + 1}" for s in fabric.servers]
    core = [f"{c.name}-eth{p + 1}" for c in fabric.cores for p in range(fabric.k)]
    return uplinks + core


def _rogue(lab: Lab) -> attacks.Rogue:
    """The rogue host, sending towards the router of its edge switch (p0e0, whose first server is p0e0h0)."""
    node = lab.net[ROGUE]  # type: ignore[index]
    return attacks.Rogue(ROGUE, Host(node.MAC(), IPv4Address(node.IP())),
                         mac_of(lab.scenario.fabric.servers[0].gateway))


def probe_tenants(lab: Lab, progress: Progress | None = None) -> Verdicts:
    """One session: the matrix, ARP and the attacks, with the wire checks reading the taps as they go."""
    endpoints = lab.endpoints()
    watch = Stopwatch()
    capture = Capture()
    try:
        with watch.timed("craft"):
            tokens = Tokens()
            pairs = matrix.matrix(endpoints, tokens)
            questions = arpcheck.questions(endpoints)
            tried = attacks.attacks(endpoints, tokens, _rogue(lab))
            checks = wire.WireChecks(_underlay(lab, endpoints, pairs))
            _open_sockets(lab, capture, endpoints, checks)
        with watch.timed("send and listen"), muted(lab, endpoints):
            outcome = run_session(capture, [p.probe for p in pairs] + [a.probe for a in tried], questions,
                                  progress=progress)
    finally:
        capture.close()
    verdicts = Verdicts(probes_sent=outcome.sent, resent=outcome.resent, timings=watch.timings)
    with watch.timed("verdicts"):
        results = [matrix.result(p, outcome) for p in pairs]
        _matrix_verdict(verdicts, results)
        _interop_verdict(verdicts, [ep for ep in endpoints if ep.bare_metal], results)
        _arp_verdict(verdicts, questions, outcome)
        _attack_verdict(verdicts, tried, outcome)
    with watch.timed("wire checks"):
        verdicts.checks += [(f"wire: {f.name}", f.ok, f.detail) for f in checks.findings()]
        verdicts.frames_seen = checks.frames
    return verdicts


MUTE = "ip rule add pref 100 lookup local && ip rule del pref 0 && ip rule add pref 10 iif {iface} blackhole"
UNMUTE = "ip rule add pref 0 lookup local; ip rule del pref 10; ip rule del pref 100"


@contextmanager
def muted(lab: Lab, endpoints: list[Endpoint]) -> Iterator[None]:
    """While probed, a member's own IP stack ignores what arrives on its interface: the sniffer there
    is the receiver, so no kernel answers a probe (echo replies, TCP resets, ICMP errors would double
    what the fabric carries at scale, and none of it is evidence). ARP is untouched."""
    for ep in endpoints:
        lab.vm(ep.label).cmd(MUTE.format(iface=ep.iface))
    try:
        yield
    finally:
        for ep in endpoints:
            lab.vm(ep.label).cmd(UNMUTE)


def _underlay(lab: Lab, endpoints: list[Endpoint], pairs: list[matrix.PairProbe]) -> wire.Underlay:
    fabric = lab.scenario.fabric
    return wire.Underlay({s.ip: s.name for s in fabric.servers}, frozenset(s.gateway for s in fabric.servers),
                         tuple(endpoints), {p.probe.token: p.probe.frame for p in pairs})


def _open_sockets(lab: Lab, capture: Capture, endpoints: list[Endpoint], checks: wire.WireChecks) -> None:
    """A sniffer in every VM and the rogue host; a tap on every underlay link, feeding the wire checks."""
    for ep in endpoints:
        capture.listen(ep.label, ep.pid, ep.iface)
    rogue = lab.net[ROGUE]  # type: ignore[index]
    capture.listen(ROGUE, rogue.pid, rogue.defaultIntf().name)
    for link in underlay_taps(lab):
        capture.tap(link, lab.port_pid(link), link, checks.feed)


def _matrix_verdict(verdicts: Verdicts, results: list[matrix.PairResult]) -> None:
    verdicts.pairs = [r.as_json() for r in results]
    wrong = [r for r in results if not r.ok]
    by_proto = Counter(r.proto for r in results)
    delivered = sum(r.expected == matrix.DELIVER for r in results)
    resent = sum(r.tries - 1 for r in results)
    detail = (f"{len(results) - len(wrong)}/{len(results)} probes as expected "
              f"({', '.join(f'{n} {p}' for p, n in by_proto.items())}; {delivered} to deliver within a tenant, "
              f"{len(results) - delivered} to isolate across tenants; {resent} re-sends)")
    if wrong:
        detail += "; unexpected: " + ", ".join(
 f"{r.src}->{r.dst} {r.proto} {r.verdict}" + (f" (reached {', '.join(r.elsewhere)})" if r.elsewhere else "")
            for r in wrong[:10]) + (" ..." if len(wrong) > 10 else "")
    verdicts.checks.append(("tenant delivery and isolation", not wrong, detail))


def _interop_verdict(verdicts: Verdicts, members: list[Endpoint], results: list[matrix.PairResult]) -> None:
    """Bare-metal members (kernel VXLAN VTEPs) against OVS: their share of the matrix, told apart."""
    if not members:
        return
    parts, all_ok = [], True
    for member in members:
        mine = [r for r in results if member.label in (r.src, r.dst)]
        wrong = [r for r in mine if not r.ok]
        peers = sorted({r.dst for r in mine if r.src == member.label and r.observed == matrix.DELIVER})
        all_ok &= not wrong
        parts.append(f"{member.label} (kernel VXLAN VTEP): {len(mine) - len(wrong)}/{len(mine)} probes as "
                     f"expected, reaching {', '.join(peers) or 'nobody'}")
    verdicts.checks.append(("bare-metal interop", all_ok, "; ".join(parts)))


def _arp_verdict(verdicts: Verdicts, questions: list[Question], outcome: Outcome) -> None:
    wrong = [q for q in questions if not outcome.answered_right(q)]
    silent = sum(q.answer is None for q in questions)
    detail = (f"{len(questions) - len(wrong)}/{len(questions)} ARP questions answered as they must: "
              f"{len(questions) - silent} with the tenant's own MAC, {silent} (addresses the tenant lacks) "
              f"not at all")
    if wrong:
        detail += "; wrong: " + ", ".join(
            f"{q.asker} asked {q.ip}, got {sorted(outcome.answered(q)) or 'nothing'}"
            f" (expected {q.answer or 'nothing'})" for q in wrong[:10])
    verdicts.checks.append(("ARP answered by the virtual switch", not wrong, detail))


def _attack_verdict(verdicts: Verdicts, tried: list[attacks.Attack], outcome: Outcome) -> None:
    verdicts.attacks = [a.as_json(outcome) for a in tried]
    failed = [r for r in verdicts.attacks if not r["ok"]]
    if not tried:
        verdicts.checks.append(("attacks", True, "no attack applies (no tenant has VMs on two servers)"))
        return
    detail = (f"{len(tried) - len(failed)}/{len(tried)} attacks isolated: "
              f"{', '.join(sorted({a.name for a in tried}))}")
    if failed:
        detail += "; NOT isolated: " + "; ".join(f"{r['name']} ({r['detail']}): {r['observed']}" for r in failed)
    verdicts.checks.append(("attacks", not failed, detail))
