"""What the reconciler hears and what it says: events in (from os-ken, the API and the clock), outputs out
(to the switches, the API and the lab). Plain values, so a test can write a whole conversation down."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controller.delta import Delta
from controller.flows import Flow, Meter, SelectGroup


# Events: what happened. `conn` tells one connection of a switch from the next.
@dataclass(frozen=True)
class Connected:
    dpid: int
    conn: int


@dataclass(frozen=True)
class Held:
    """One part of the reply to a read: flows, groups or meters the switch holds; `more` when parts follow."""

    dpid: int
    conn: int
    xid: int
    flows: tuple[Flow, ...] = ()
    groups: tuple[SelectGroup, ...] = ()
    more: bool = False
    meters: tuple[Meter, ...] = ()


@dataclass(frozen=True)
class Ports:
    """Ports of a switch and whether each is up (a port status, or the descriptions after it connected)."""

    dpid: int
    conn: int
    ports: tuple[tuple[int, bool], ...]


@dataclass(frozen=True)
class Confirmed:
    """A barrier reply: the switch has applied everything sent before that barrier."""

    dpid: int
    conn: int
    xid: int


@dataclass(frozen=True)
class Gone:
    dpid: int
    conn: int


@dataclass(frozen=True)
class Refused:
    """The switch refused a message (an OpenFlow error)."""

    dpid: int
    conn: int
    text: str


@dataclass(frozen=True)
class Asked:
    """A request of the API: `what` is GET /scenario, GET /datapaths, GET /underlay, GET /tables or
    PUT /scenario (with the parsed JSON body)."""

    request: int
    what: str
    body: Any = None


@dataclass(frozen=True)
class Tick:
    """Time passes: deadlines are looked at."""


Event = Connected | Held | Ports | Confirmed | Gone | Refused | Asked | Tick


# Outputs: what to do.
@dataclass(frozen=True)
class Send:
    """The flow and group changes of `delta`, then a barrier with transaction id `barrier`."""

    dpid: int
    conn: int
    delta: Delta
    barrier: int


@dataclass(frozen=True)
class Read:
    """Ask for every flow (`flows` the transaction id), every group description (`groups`) and every meter's
    configuration (`meters`)."""

    dpid: int
    conn: int
    flows: int
    groups: int
    meters: int


@dataclass(frozen=True)
class Answer:
    request: int
    code: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Synced:
    """A switch confirmed the tables pushed when it was read: `changes` flow and group mods."""

    dpid: int
    changes: int
    name: str


@dataclass(frozen=True)
class Failed:
    dpid: int
    text: str


@dataclass(frozen=True)
class Log:
    text: str


Output = Send | Read | Answer | Synced | Failed | Log
