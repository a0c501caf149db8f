"""The tenant checks of `overlaylab check`: one probing session (matrix, ARP, attacks, a broadcast and a
multicast from every member) with a sniffer in every VM and taps on the underlay's server uplinks and core
links, then the verdicts."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from overlaylab.runtime.network import ROGUE
from overlaylab.runtime.remote import agent_command, machine_of
from overlaylab.runtime.running import RunningLab
from overlaylab.system import Stopwatch
from probes import arpcheck, attacks, floodlimit, matrix, replication, verdicts, wire
from probes.capture import Capture
from probes.endpoint import Endpoint
from probes.packets import Host
from probes.session import Outcome, Progress, Tokens, run_session
from probes.verdicts import Check
from topologies.fattree import FatTree, Server, mac_of
from topologies.names import edge_port, interface


@dataclass(frozen=True)
class Verdicts:
    """What the session showed, as checks plus the report's detailed lists."""

    checks: list[Check]
    pairs: list[dict[str, Any]]
    attacks: list[dict[str, Any]]
    probes_sent: int
    resent: int
    frames_seen: int
    timings: dict[str, float]


def underlay_taps(lab: RunningLab) -> list[str]:
    """Every server uplink (its edge switch's side) and every core link (the core's side)."""
    fabric = lab.scenario.fabric
    return [uplink_tap(s) for s in fabric.servers] + core_taps(fabric)


def uplink_tap(server: Server) -> str:
    """Where a server's cable is tapped: its edge switch's port (`p0e0-eth1`)."""
    return edge_port(server)


def core_taps(fabric: FatTree) -> list[str]:
    """Where the core links are tapped: every port of every core switch."""
    return [interface(c.name, p + 1) for c in fabric.cores for p in range(fabric.k)]


def _rogue(lab: RunningLab) -> attacks.Rogue:
    """The rogue host, sending towards the router of its edge switch (p0e0, whose first server is p0e0h0)."""
    node = lab.nodes.net[ROGUE]  # type: ignore[index]
    return attacks.Rogue(ROGUE, Host(node.MAC(), IPv4Address(node.IP())),
                         mac_of(lab.scenario.fabric.servers[0].gateway))


def probe_tenants(lab: RunningLab, progress: Progress | None = None) -> Verdicts:
    """One session: the matrix, ARP and the attacks, with the wire checks reading the taps as they go."""
    endpoints = [lab.nodes.endpoint(vm) for vm in lab.scenario.vms]
    watch = Stopwatch()
    capture = Capture(agent_command)
    try:
        with watch.timed("craft"):
            tokens = Tokens()
            pairs = matrix.matrix(endpoints, tokens)
            questions = arpcheck.questions(endpoints)
            solicited = arpcheck.solicitations(endpoints)
            tried = attacks.attacks(endpoints, tokens, _rogue(lab))
            flooded = [] if lab.scenario.flat else replication.floods(endpoints, tokens)
            stormed = None if lab.scenario.flat else floodlimit.storm(endpoints, tokens)
            checks = wire.WireChecks(_underlay(lab, endpoints, pairs))
            _open_sockets(lab, capture, endpoints, checks)
        with watch.timed("send and listen"), muted(lab, endpoints):
            outcome = run_session(capture, [p.probe for p in pairs] + [a.probe for a in tried] +
                                  [f.probe for f in flooded], questions + solicited, progress=progress)
            _again(capture, flooded, outcome)
            storm_seconds = _storm(capture, stormed, outcome)
    finally:
        capture.close()
    with watch.timed("verdicts"):
        results = [matrix.result(p, outcome) for p in pairs]
        interop = verdicts.interop_check([ep for ep in endpoints if ep.bare_metal], results)
        down = lab.server_problems()
        explained = {vm.label: down[vm.server.name] for vm in lab.scenario.vms if vm.server.name in down}
        judged = [verdicts.matrix_check(results, explained), *([interop] if interop else []),
                  verdicts.arp_check(questions, outcome),
                  *([verdicts.arp_check(solicited, outcome, "IPv6 neighbour discovery")] if solicited else []),
                  verdicts.attack_check(tried, outcome),
                  *([] if lab.scenario.flat else [replication.check(flooded, outcome),
                                                  floodlimit.check(stormed, outcome, storm_seconds)])]
    with watch.timed("wire checks"):
        judged += checks.checks()
    return Verdicts(judged, [r.as_json() for r in results], [a.as_json(outcome) for a in tried],
                    outcome.sent, outcome.resent, checks.frames, watch.timings)


def _again(capture: Capture, flooded: list[replication.Flood], outcome: Outcome) -> None:
    """Send again the broadcasts and multicasts that reached only part of their tenant, and add where
    they arrived this time."""
    for _ in range(replication.AGAIN):
        unfinished = replication.unfinished(flooded, outcome)
        if not unfinished:
            return
        _merge(outcome, run_session(capture, [dataclasses.replace(f.probe, expect=None) for f in unfinished], []))


def _storm(capture: Capture, storm: floodlimit.Storm | None, outcome: Outcome) -> float:
    """Send the broadcast storm in a session of its own, so that the time it takes is its own; add where
    it arrived. How long it took."""
    if storm is None:
        return 0.0
    start = time.monotonic()
    _merge(outcome, run_session(capture, list(storm.probes), []))
    return time.monotonic() - start


def _merge(outcome: Outcome, more: Outcome) -> None:
    """Add where a later session's tokens arrived."""
    for token, names in more.arrivals.items():
        outcome.arrivals[token] |= names
    outcome.sent += more.sent


MUTE = "; ".join(f"ip {f} rule add pref 100 lookup local && ip {f} rule del pref 0 && "
                 f"ip {f} rule add pref 10 iif {{iface}} blackhole" for f in ("-4", "-6"))
UNMUTE = "; ".join(f"ip {f} rule add pref 0 lookup local; ip {f} rule del pref 10; ip {f} rule del pref 100"
                   for f in ("-4", "-6"))


@contextmanager
def muted(lab: RunningLab, endpoints: list[Endpoint]) -> Iterator[None]:
    """While probed, a member's own IP stack ignores what arrives on its interface: the sniffer there
    is the receiver, so no kernel answers a probe (echo replies, TCP resets, ICMP errors would double
    what the fabric carries at scale, and none of it is evidence), in IPv4 and IPv6. ARP is untouched."""
    for ep in endpoints:
        lab.nodes.vm(ep.label).cmd(MUTE.format(iface=ep.iface))
    try:
        yield
    finally:
        for ep in endpoints:
            lab.nodes.vm(ep.label).cmd(UNMUTE)


def _underlay(lab: RunningLab, endpoints: list[Endpoint], pairs: list[matrix.PairProbe]) -> wire.Underlay:
    fabric = lab.scenario.fabric
    return wire.Underlay({s.ip: s.name for s in fabric.servers}, frozenset(s.gateway for s in fabric.servers),
                         tuple(endpoints), {p.probe.token: p.arrives_as or p.probe.frame for p in pairs},
                         lab.scenario.flat)


def _open_sockets(lab: RunningLab, capture: Capture, endpoints: list[Endpoint], checks: wire.WireChecks) -> None:
    """A sniffer in every VM and the rogue host; a tap on every underlay link, feeding the wire checks."""
    for ep in endpoints:
        capture.listen(ep.label, ep.pid, ep.iface, ep.machine)
    rogue = lab.nodes.net[ROGUE]  # type: ignore[index]
    capture.listen(ROGUE, rogue.pid, rogue.defaultIntf().name, machine_of(rogue))
    for link in underlay_taps(lab):
        lab.nodes.tap(capture, link, checks.feed)
