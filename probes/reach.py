"""Server-to-server reachability across the underlay: every server sends a probe to every other,
through the same paced, re-sending engine as the tenant probes (a probe must arrive, so it is re-sent
until it does or is lost)."""
from __future__ import annotations

from dataclasses import dataclass

from probes.capture import Capture
from probes.packets import Host
from probes.remote import Launch
from probes.session import DEFAULT_PACING, Outcome, Pacing, Probe, Progress, Tokens, run_session
from probes.stamp import stamp_probe


@dataclass(frozen=True)
class Station:
    """A physical server as the probes see it: it sends to its gateway's MAC from its own addresses,
    on the interface that holds its underlay address (br-phy once it runs a virtual switch)."""

    name: str
    host: Host
    gateway_mac: str
    pid: int
    iface: str
    machine: str | None = None  # the machine its namespace is on (None: this one)


def plan(stations: list[Station], tokens: Tokens) -> list[Probe]:
    """One UDP probe per ordered pair, each a flow of its own (so ECMP spreads them)."""
    planned: list[Probe] = []
    for src in stations:
        for dst in stations:
            if dst is not src:
                token = tokens()
                frame = stamp_probe("udp", src.host, Host(src.gateway_mac, dst.host.ip), token, flow=len(planned))
                planned.append(Probe(token, src.name, frame, dst.name))
    return planned


@dataclass(frozen=True)
class Reachability:
    pairs: dict[tuple[str, str], bool]
    outcome: Outcome


def reachability(stations: list[Station], pacing: Pacing = DEFAULT_PACING,
                 progress: Progress | None = None, launch: Launch | None = None) -> Reachability:
    """{(src, dst): reached} for every ordered pair of servers (`launch`: how to start an agent on a machine
    where some are)."""
    capture = Capture(launch)
    try:
        for station in stations:
            capture.listen(station.name, station.pid, station.iface, station.machine)
        probes = plan(stations, Tokens())
        outcome = run_session(capture, probes, [], pacing, progress)
    finally:
        capture.close()
    pairs = {(p.sender, p.expect or ""): (p.expect in outcome.reached(p)) for p in probes}
    return Reachability(pairs, outcome)

