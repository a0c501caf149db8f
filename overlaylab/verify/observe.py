"""The observed half of `trace SRC DST [icmp|udp|tcp]`: the packet the prediction walked is really sent
from the VM, while every cable its predicted paths cross is tapped. The cables it was seen on, with the
header stack on each, say which predicted path it took (ECMP picks one by hash) and whether it arrived;
prediction and observation agree when exactly that path's cables saw it, and it arrived where the
prediction said (or nowhere, when the prediction was a drop).
"""
from __future__ import annotations

from dataclasses import dataclass

from controller.trace import Path, cables, cables_along
from overlaylab.runtime.remote import agent_command
from overlaylab.runtime.running import RunningLab
from probes import fastparse
from probes.capture import Capture, Sink
from probes.packets import PROTOS6, Host, describe_frame, probe
from probes.session import Tokens
from topologies.fattree import FatTree
from topologies.names import interface
from topologies.scenario import VM

ARRIVAL_TIMEOUT = 3.0  # seconds for a packet predicted to arrive (a new flow's first packet: ~50 ms)
SETTLE = 0.3  # seconds more, for anything still on its way


@dataclass(frozen=True)
class Sighting:
    """The packet on one cable: where it was tapped, and the frame as it crossed."""

    cable: frozenset[str]
    tap: str
    frame: bytes

    def describe(self, coming_from: str) -> str:
        """One line: the cable (from the node the packet came from, when known), the tap, the frame."""
        a, b = sorted(self.cable, key=lambda node: node != coming_from)
        return f"{a} -> {b} (tap {self.tap}): {describe_frame(self.frame)}"


@dataclass(frozen=True)
class Observation:
    sightings: tuple[Sighting, ...]  # in the order they were seen
    delivered: bool

    @property
    def cables(self) -> set[frozenset[str]]:
        return {s.cable for s in self.sightings}


@dataclass(frozen=True)
class Traced:
    """A packet's way: every path the compiled tables give it (an ECMP branch each) and, between VMs, what
    happened to one really sent: the cables it was seen on, and which predicted path that is."""

    paths: list[Path]
    ends: tuple[VM, VM] | None = None  # the two VMs, when the packet was really sent
    observed: Observation | None = None
    taken: int | None = None  # the index in `paths` of the path the packet was seen to take
    reached: frozenset[str] | None = None  # a broadcast or multicast: every VM that got it
    each: tuple[int, ...] = ()  # ... and the path each of its copies took


def taps(fabric: FatTree, crossed: set[frozenset[str]]) -> dict[str, frozenset[str]]:
    """The interface to tap for each cable (its upper end, as the wire checks tap them)."""
    return {interface(link.b, link.b_port): frozenset((link.a, link.b)) for link in fabric.links
            if frozenset((link.a, link.b)) in crossed}


def taken(paths: list[Path], src: VM, dst: VM, seen: Observation, fabric: FatTree) -> int | None:
    """Which predicted path (by index) the packet was seen to take: the one whose cables are exactly the
    cables it was seen on, and which delivers exactly when it arrived; None if none of them is."""
    real = {frozenset((link.a, link.b)) for link in fabric.links}
    for index, path in enumerate(paths):
        predicted = cables([path], src.server.name, dst.server.name) & real
        if predicted == seen.cables and (path.delivered_to == dst.label) == seen.delivered:
            return index
    return None


def observe(lab: RunningLab, src: VM, dst: VM, proto: str, paths: list[Path]) -> Observation:
    """Send one `proto` probe from `src` to `dst` (as the VM would once ARP was answered), tapping every
    cable the predicted paths cross and listening at `dst`."""
    fabric = lab.scenario.fabric
    tapped = taps(fabric, cables(paths, src.server.name, dst.server.name))
    token = Tokens()()
    sightings: list[Sighting] = []
    arrived: list[bytes] = []
    capture = Capture(agent_command)
    try:
        for iface, cable in tapped.items():
            lab.nodes.tap(capture, iface, sink(token, cable, iface, sightings))
        for vm in (src, dst):
            end = lab.nodes.endpoint(vm)
            capture.listen(vm.label, end.pid, end.iface, end.machine)
        v6 = proto in PROTOS6
        sent = probe(proto, Host(src.mac, src.address(v6)), Host(src.next_hop_mac(dst, v6), dst.address(v6)), token)
        capture.send(src.label, sent)
        expect = any(p.delivered_to == dst.label for p in paths)
        capture.run(lambda: bool(arrived), ARRIVAL_TIMEOUT if expect else SETTLE, SETTLE,
                    lambda name, frame: arrived.append(frame) if name == dst.label and
                    fastparse.token_in(frame) == token else None)
    finally:
        capture.close()
    return Observation(tuple(sightings), bool(arrived))


def sink(token: bytes, cable: frozenset[str], iface: str, sightings: list[Sighting]) -> Sink:
    """Keep the frames on this cable that carry the probe: bare (flat mode), or inside a tunnel."""
    def take(frame: bytes) -> None:
        wire = fastparse.dissect(frame)
        inside = wire.inner.token if wire.inner else fastparse.token_in(frame)
        if inside == token:
            sightings.append(Sighting(cable, iface, frame))
    return take


def in_order(sightings: tuple[Sighting, ...], order: list[frozenset[str]]) -> list[Sighting]:
    """The sightings along the path taken (`order`: its cables), any off it last."""
    return sorted(sightings, key=lambda s: order.index(s.cable) if s.cable in order else len(order))


def describe(paths: list[Path], seen: Observation, index: int | None, proto: str, src: VM, dst: VM) -> str:
    """The observation as lines a student can read, ending with whether it agrees with the prediction."""
    order = cables_along(paths[index], src.server.name, dst.server.name) if index is not None else []
    shown = in_order(seen.sightings, order)
    lines = [f"observed: one {proto} packet sent from {src.label} to {dst.label}, seen on "
             f"{len(seen.sightings)} cables:"]
    here = src.server.name
    for sighting in shown:
        lines.append(f"  {sighting.describe(here)}")
        here = next(iter(sighting.cable - {here}), here)
    where = f"delivered to {dst.label}" if seen.delivered else "not delivered"
    if index is None:
        lines.append(f"  => {where}, but on no predicted path: prediction and observation DISAGREE")
    else:
        lines.append(f"  => it took path {index + 1} of {len(paths)} and was {where}: prediction and "
                     f"observation agree")
    return "\n".join(lines)
