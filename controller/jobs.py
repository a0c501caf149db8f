"""What the reconciler keeps between events: each switch connection as read, and each change under way."""
from __future__ import annotations

from dataclasses import dataclass, field

from controller.events import Held
from controller.flows import Flow, Meter, SelectGroup, Tables
from controller.planner import Step
from topologies.scenario import Scenario

CONFIRM_TIMEOUT = 10.0  # seconds for every switch to confirm one phase of a change
START_WAIT = 10.0  # seconds the underlay waits for every underlay switch to report its ports
FIRST_XID = 1 << 28  # the reconciler's own transaction ids, far from where os-ken's start on a connection

@dataclass
class Switch:
    """One connection of a switch: what it holds once read (as the controller has changed it since)."""

    conn: int
    reading: set[int] = field(default_factory=set)  # transaction ids of reads not answered in full
    flows: list[Flow] = field(default_factory=list)
    groups: list[SelectGroup] = field(default_factory=list)
    meters: list[Meter] = field(default_factory=list)
    held: Tables | None = None  # None until read
    live: bool = False  # pushed to: changes reach it (an underlay switch is not before the start)
    sync: tuple[int, int] | None = None  # the barrier after the push that followed its read, and its changes

    def take(self, part: Held) -> None:
        """One part of the reply to its read."""
        self.flows += part.flows
        self.groups += part.groups
        self.meters += part.meters
        if not part.more:
            self.reading.discard(part.xid)

    def whole(self, name: str, dpid: int) -> Tables:
        """What it holds, once every part of the reply is in (the parts are then forgotten)."""
        held = Tables(name, dpid, tuple(self.flows), tuple(self.groups), tuple(self.meters))
        self.flows, self.groups, self.meters = [], [], []
        return held


@dataclass
class Job:
    """A change of the desired state (from the API, or taking one back) or a repair of the underlay,
    pushed phase by phase; one runs at a time."""

    kind: str  # CHANGE, REVERT or REROUTE
    since: float
    request: int | None = None
    new: Scenario | None = None  # CHANGE and REVERT: the state to take
    previous: Scenario | None = None  # CHANGE, once begun: the state to go back to
    down: tuple[str, ...] = ()  # REROUTE: the links down it compiled
    phases: list[list[Step]] = field(default_factory=list)  # the phases still to send
    steps: list[Step] = field(default_factory=list)  # everything sent so far
    waiting: dict[int, int] = field(default_factory=dict)  # barrier xid -> dpid
    deadline: float = 0.0


CHANGE, REVERT, REROUTE = "change", "revert", "reroute"
