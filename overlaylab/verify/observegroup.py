"""The observed half of `trace VM broadcast|multicast`: one datagram to the group address is really sent
from the VM, with every cable of the predicted copies' paths tapped and every VM of the lab listening.
Which predicted path each copy took (ECMP picks one per far server), and who received it: prediction and
observation agree when each far server's copy took one of its predicted paths and exactly the tenant's
other VMs received it.
"""
from __future__ import annotations

from controller.trace import Path, cables_along
from overlaylab.runtime.remote import agent_command
from overlaylab.runtime.running import RunningLab
from overlaylab.verify.observe import ARRIVAL_TIMEOUT, SETTLE, Observation, Sighting, in_order, sink, taps
from probes import fastparse
from probes.capture import Capture
from probes.packets import Host, dissect, probe
from probes.session import Tokens
from topologies.scenario import VM, Scenario


def ends_of(path: Path, source: str, servers: dict[str, str]) -> list[frozenset[str]]:
    """The cables of one copy's path, from its sender's server `source` to the server of the VM it reached
    (`servers`: each VM's), or to the last switch it reached."""
    last = path.hops[-1].node.split("/")[0] if path.hops else source
    return cables_along(path, source, servers.get(path.delivered_to or "", last))


def servers_of(vms: tuple[VM, ...]) -> dict[str, str]:
    return {vm.label: vm.server.name for vm in vms}


def observe_group(lab: RunningLab, src: VM, group: Host, proto: str, paths: list[Path]) -> tuple[Observation,
                                                                                              frozenset[str]]:
    """Send one `proto` datagram from `src` to `group`; the cables it was seen on, and every VM that got it."""
    fabric, token = lab.scenario.fabric, Tokens()()
    servers = servers_of(lab.scenario.vms)
    crossed = {cable for path in paths for cable in ends_of(path, src.server.name, servers)}
    expected = {p.delivered_to for p in paths if p.delivered_to}
    sightings: list[Sighting] = []
    reached: set[str] = set()
    capture = Capture(agent_command)
    try:
        for iface, cable in taps(fabric, crossed).items():
            lab.nodes.tap(capture, iface, sink(token, cable, iface, sightings))
        for vm in lab.scenario.vms:
            end = lab.nodes.endpoint(vm)
            capture.listen(vm.label, end.pid, end.iface, end.machine)
        capture.send(src.label, probe(proto, Host(src.mac, src.v4.ip), group, token))
        capture.run(lambda: reached >= expected, ARRIVAL_TIMEOUT if expected else SETTLE, SETTLE,
                    lambda name, frame: reached.add(name) if name != src.label and
                    fastparse.token_in(frame) == token else None)
    finally:
        capture.close()
    return Observation(tuple(sightings), bool(reached)), frozenset(reached)


def taken_each(paths: list[Path], src: VM, seen: Observation, scenario: Scenario) -> tuple[int, ...]:
    """For each copy, the predicted path (by index) it was seen to take: the first path to each far VM whose
    every cable saw it."""
    real = {frozenset((link.a, link.b)) for link in scenario.fabric.links}
    servers, chosen = servers_of(scenario.vms), {}
    for index, path in enumerate(paths):
        if (path.delivered_to and path.delivered_to not in chosen
                and set(ends_of(path, src.server.name, servers)) & real <= seen.cables):
            chosen[path.delivered_to] = index
    return tuple(sorted(chosen.values()))


def copies(seen: Observation, paths: list[Path], each: tuple[int, ...], source: str,
           servers: dict[str, str]) -> list[tuple[int, list[Sighting]]]:
    """The sightings of each copy (told apart by their outer destination), in the order its path crosses
    them, with the index of that path."""
    by_server: dict[object, list[Sighting]] = {}
    for sighting in seen.sightings:
        by_server.setdefault(dissect(sighting.frame).dst, []).append(sighting)
    found = []
    for sightings in by_server.values():
        crossed = {s.cable for s in sightings}
        index = next((i for i in each if crossed <= set(ends_of(paths[i], source, servers))), None)
        order = ends_of(paths[index], source, servers) if index is not None else []
        found.append((index if index is not None else -1, in_order(tuple(sightings), order)))
    return sorted(found, key=lambda copy: copy[0])


def describe_group(paths: list[Path], seen: Observation, reached: frozenset[str], each: tuple[int, ...],
                   proto: str, src: VM, servers: dict[str, str]) -> str:
    """The observation as lines a student can read, a copy at a time, ending with whether it agrees with
    the prediction."""
    predicted = {p.delivered_to for p in paths if p.delivered_to}
    found = copies(seen, paths, each, src.server.name, servers)
    lines = [f"observed: one {proto} datagram to everyone sent from {src.label}: {len(found)} "
             f"cop{'y' if len(found) == 1 else 'ies'}, seen on {len(seen.sightings)} cables:"]
    for index, sightings in found:
        to = paths[index].delivered_to if index >= 0 else "no predicted path"
        lines.append(f"  the copy to {to}" + (f" (path {index + 1}):" if index >= 0 else ":"))
        here = src.server.name
        for sighting in sightings:
            lines.append(f"    {sighting.describe(here)}")
            here = next(iter(sighting.cable - {here}), here)
    agree = reached == predicted and len(each) == len(predicted) == len(found)
    lines.append(f"  => received by {', '.join(sorted(reached)) or 'nobody'}: prediction and observation "
                 f"{'agree' if agree else 'DISAGREE'}")
    return "\n".join(lines)
