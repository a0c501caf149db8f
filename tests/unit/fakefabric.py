"""A fabric of fake switches around a real Reconciler, with a fake clock, where the test decides the order
in which everything happens: which switch processes its next message, which event reaches the
controller next. A switch's own messages keep their order (one TCP connection each); everything else
may interleave in any order, as os-ken's threads and the kernel let it.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from controller import events as ev
from controller import reconciler as r
from controller.delta import applied, key
from controller.desired import DesiredState
from controller.flows import Flow, Meter, SelectGroup, Tables
from topologies.names import vswitch_dpid
from topologies.scenario import Scenario, document

LOST = 0  # the code of an answer never given: the controller went away with the question


@dataclass
class FakeSwitch:
    """Tables that change as a switch's would, a connection that can drop, and one that may stop answering."""

    dpid: int
    ports: dict[int, bool]
    tables: Tables
    conn: int = 0
    inbox: deque[ev.Output] = field(default_factory=deque)  # from the controller, in order
    answering: bool = True

    def process(self) -> list[ev.Event]:
        """Take the next message; what the switch says back."""
        msg = self.inbox.popleft()
        if isinstance(msg, ev.Read):
            flows = self.tables.flows
            half = len(flows) // 2  # flows in two parts, to exercise multipart replies
            return [ev.Held(self.dpid, self.conn, msg.flows, flows=flows[:half], more=True),
                    ev.Held(self.dpid, self.conn, msg.flows, flows=flows[half:]),
                    ev.Held(self.dpid, self.conn, msg.groups, groups=self.tables.groups),
                    ev.Held(self.dpid, self.conn, msg.meters, meters=self.tables.meters)]
        assert isinstance(msg, ev.Send)
        self.tables = applied(self.tables, msg.delta)
        return [ev.Confirmed(self.dpid, self.conn, msg.barrier)] if self.answering else []

    def holds(self) -> tuple[frozenset[Flow], frozenset[SelectGroup], frozenset[Meter]]:
        assert len({key(f) for f in self.tables.flows}) == len(self.tables.flows), "two flows with one key"
        return frozenset(self.tables.flows), frozenset(self.tables.groups), frozenset(self.tables.meters)


class FakeFabric:
    """Every switch of a scenario's lab, a controller, the channels between them and a clock."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.controller = r.Reconciler(DesiredState(scenario))
        self.now = 0.0
        fabric = scenario.fabric
        ports: dict[str, dict[int, bool]] = {}
        for link in fabric.links:
            ports.setdefault(link.a, {})[link.a_port] = True
            ports.setdefault(link.b, {})[link.b_port] = True
        self.switches = {s.dpid: FakeSwitch(s.dpid, ports[s.name], Tables(s.name, s.dpid, ()))
                         for s in fabric.switches}
        # every server has a virtual switch here, so that a VM can move anywhere (one with no VM holds nothing)
        self.switches.update({vswitch_dpid(s): FakeSwitch(vswitch_dpid(s), {}, Tables(s.name, vswitch_dpid(s), ()))
                              for s in fabric.servers})
        self.names = {s.name: s.dpid for s in fabric.switches}
        self.channels: dict[int, deque[ev.Event]] = {d: deque() for d in self.switches}  # switch -> controller
        self.api: deque[ev.Event] = deque()
        self.answers: dict[int, tuple[int, dict[str, Any]]] = {}
        self.requests = 0
        self.conns = 0

    # what can happen
    def connect(self, dpid: int) -> None:
        """The switch (re)connects: a new connection, saying hello and telling its ports. The old one's
        end is told on a channel of its own: os-ken may report it before or after the new hello."""
        switch = self.switches[dpid]
        if switch.conn:
            self.api.append(ev.Gone(dpid, switch.conn))
        self.conns += 1
        switch.conn = self.conns
        switch.inbox.clear()
        self.channels[dpid] += [ev.Connected(dpid, switch.conn),
                                ev.Ports(dpid, switch.conn, tuple(sorted(switch.ports.items())))]

    def connect_all(self) -> None:
        for dpid in self.switches:
            self.connect(dpid)

    def link(self, a: str, b: str, up: bool) -> None:
        """A cable between two underlay switches goes down or up: both ends report a port status."""
        fabric = self.scenario.fabric
        for near, far in ((a, b), (b, a)):
            port = next(p for p in self.switches[self.names[near]].ports if (fabric.peer(near, p) or ("",))[0] == far)
            switch = self.switches[self.names[near]]
            switch.ports[port] = up
            if switch.conn:
                self.channels[switch.dpid].append(ev.Ports(switch.dpid, switch.conn, ((port, up),)))

    def ask(self, what: str, body: Any = None) -> int:
        self.requests += 1
        self.api.append(ev.Asked(self.requests, what, body))
        return self.requests

    def change(self, new: Scenario) -> int:
        return self.ask("PUT /scenario", {"scenario": document(new)})

    def restart_controller(self, scenario: Scenario) -> None:
        """A new controller from `scenario`; every switch reconnects to it, keeping its tables. A change the
        old one was working on is lost with its connection: its client hears that the controller went away."""
        waiting = {e.request for e in self.api if isinstance(e, ev.Asked)}
        for request in set(range(1, self.requests + 1)) - set(self.answers) - waiting:
            self.answers[request] = (LOST, {"error": "the controller went away"})
        self.controller = r.Reconciler(DesiredState(scenario))
        for dpid, switch in self.switches.items():
            self.channels[dpid].clear()
            switch.conn = 0
            self.connect(dpid)

    def tick(self, seconds: float) -> None:
        self.now += seconds
        self.api.append(ev.Tick())

    # moving things along
    def deliver(self, dpid: int | None) -> bool:
        """The next event from that switch (None: from the API) reaches the controller."""
        channel = self.api if dpid is None else self.channels[dpid]
        if not channel:
            return False
        for output in self.controller.handle(channel.popleft(), self.now):
            if isinstance(output, (ev.Send, ev.Read)):
                switch = self.switches[output.dpid]
                if switch.conn == output.conn:
                    switch.inbox.append(output)
            elif isinstance(output, ev.Answer):
                self.answers[output.request] = (output.code, output.body)
        return True

    def process(self, dpid: int) -> bool:
        """That switch takes its next message."""
        switch = self.switches[dpid]
        if not switch.inbox:
            return False
        self.channels[dpid] += switch.process()
        return True

    def busy(self) -> list[tuple[str, int | None]]:
        """What can move now: ("deliver", switch or None for the API) and ("process", switch)."""
        moves: list[tuple[str, int | None]] = [("deliver", d) for d, c in self.channels.items() if c]
        moves += [("deliver", None)] if self.api else []
        return moves + [("process", d) for d, s in self.switches.items() if s.inbox]

    def move(self, what: str, dpid: int | None) -> None:
        self.deliver(dpid) if what == "deliver" else self.process(dpid)  # type: ignore[arg-type]

    def settle(self) -> None:
        """Let everything happen, in a fixed order, past every deadline, until nothing more does."""
        for _ in range(4):
            while moves := self.busy():
                self.move(*moves[0])
            self.tick(r.START_WAIT + r.CONFIRM_TIMEOUT)
            self.deliver(None)

    # what is true
    def wanted(self, dpid: int) -> tuple[frozenset[Flow], frozenset[SelectGroup], frozenset[Meter]]:
        tables = self.controller.state.tables.get(dpid) or Tables("", dpid, ())
        return frozenset(tables.flows), frozenset(tables.groups), frozenset(tables.meters)

    def wrong(self) -> list[str]:
        """Connected switches that do not hold what the controller wants."""
        return [self.controller.state.name(d) for d, s in self.switches.items()
                if s.conn and s.answering and s.holds() != self.wanted(d)]
