"""The controller's decisions, in one place and pure (Faucet's valve): one event in, the messages to send
out, handled one at a time on one loop, so nothing here needs a lock. Events and outputs are plain values
(controller.events), each event with `now`; the app (controller.app) only translates them to OpenFlow.

What it keeps true: every connected switch that has been read holds exactly what the desired state,
with the links known down, compiles to (nothing, for one the desired state does not name), except an
underlay switch held back until the start. A change of desired state is all or nothing: pushed make
before break, and when a switch does not confirm it in time the previous state is pushed back.
"""
from __future__ import annotations

from collections import deque
from typing import Any

from controller.codec import tables_doc
from controller.delta import applied, diff
from controller.desired import DesiredState
from controller.events import (
    Answer,
    Asked,
    Confirmed,
    Connected,
    Event,
    Failed,
    Gone,
    Held,
    Log,
    Output,
    Ports,
    Read,
    Refused,
    Send,
    Synced,
    Tick,
)
from controller.flows import Tables
from controller.jobs import CHANGE, CONFIRM_TIMEOUT, FIRST_XID, REROUTE, REVERT, START_WAIT, Job, Switch
from controller.planner import BREAK, MAKE, plan, summary
from topologies.scenario import ScenarioError, ports_of


class Reconciler:
    """The controller's state and every decision about it."""

    def __init__(self, state: DesiredState) -> None:
        self.state = state
        self.switches: dict[int, Switch] = {}
        self.reroutes: list[dict[str, Any]] = []  # every global repair: the links down, the changes pushed
        self.generation = 0  # bumped whenever what the switches should hold changes
        self.started = False
        self.ports_known: set[int] = set()
        self.start_by: float | None = None
        self.job: Job | None = None
        self.queue: deque[Job] = deque()
        self.xid = FIRST_XID
        self.out: list[Output] = []

    def handle(self, event: Event, now: float) -> list[Output]:
        """Everything the event calls for, in order."""
        self.out = []
        if isinstance(event, Asked):
            self._asked(event, now)
        elif isinstance(event, Tick):
            self._tick(now)
        elif isinstance(event, Connected):
            self._connected(event)
        else:
            switch = self.switches.get(event.dpid)
            if switch is not None and switch.conn == event.conn:
                self._from_switch(event, switch, now)
        self._next_job(now)
        out, self.out = self.out, []
        return out

    # -- switches --------------------------------------------------------------------------------------

    def _from_switch(self, event: Event, switch: Switch, now: float) -> None:
        if isinstance(event, Held):
            self._held(event, switch, now)
        elif isinstance(event, Ports):
            self._ports(event, now)
        elif isinstance(event, Confirmed):
            self._confirmed(event, switch)
        elif isinstance(event, Gone):
            self._forget(event.dpid)
        elif isinstance(event, Refused):
            self.out.append(Failed(event.dpid, event.text))

    def _connected(self, event: Connected) -> None:
        """A (new) connection: whatever the last one was doing is over; read what the switch holds."""
        self._forget(event.dpid)
        switch = self.switches[event.dpid] = Switch(event.conn)
        flows, groups, meters = self._xid(), self._xid(), self._xid()
        switch.reading = {flows, groups, meters}
        self.out.append(Read(event.dpid, event.conn, flows, groups, meters))
        if event.dpid not in self.state.tables:
            self.out.append(Log(f"datapath {event.dpid:016x} is not in the desired state: it is to hold nothing"))

    def _forget(self, dpid: int) -> None:
        """The switch's connection is gone: a job stops waiting for it (it is reconciled when it is back)."""
        self.switches.pop(dpid, None)
        if self.job is not None:
            self.job.waiting = {x: d for x, d in self.job.waiting.items() if d != dpid}

    def _held(self, event: Held, switch: Switch, now: float) -> None:
        if event.xid not in switch.reading:
            return
        switch.take(event)
        if switch.reading:
            return
        switch.held = switch.whole(self.state.name(event.dpid), event.dpid)
        if event.dpid in self.state.switch_names and not self.started:
            self.start_by = now + START_WAIT if self.start_by is None else self.start_by
            self._start_if_ready(now)
        else:
            self._sync(event.dpid, switch)

    def _sync(self, dpid: int, switch: Switch) -> None:
        """Push a switch just read (or held back until the start) the difference to its desired tables."""
        want = self._wanted(dpid)
        delta = diff(switch.held, want)
        barrier = self._xid()
        self.out.append(Send(dpid, switch.conn, delta, barrier))
        switch.held, switch.live, switch.sync = want, True, (barrier, delta.changes)
        groups = len(delta.add_groups) + len(delta.modify_groups) + len(delta.remove_groups)
        self.out.append(Log(f"{want.name} (dpid {dpid:016x}): +{len(delta.add_flows)} -{len(delta.remove_flows)} "
                            f"flows, {groups} group changes"))

    def _ports(self, event: Ports, now: float) -> None:
        """An underlay switch's ports: a link between two switches that went down or up changes the
        underlay (global repair; the groups' watched ports already repaired locally what they could)."""
        name = self.state.switch_names.get(event.dpid)
        if name is None:
            return  # a server's virtual switch
        changed = [self.state.port(name, number, up) for number, up in event.ports]
        self.ports_known.add(event.dpid)
        if not self.started:
            self._start_if_ready(now)  # the start compiles whatever is down by then
        elif any(changed) and not any(j.kind == REROUTE for j in self.queue):
            self.queue.append(Job(REROUTE, now))

    def _confirmed(self, event: Confirmed, switch: Switch) -> None:
        if switch.sync is not None and switch.sync[0] == event.xid:
            self.out.append(Synced(event.dpid, switch.sync[1], self.state.name(event.dpid)))
        if self.job is not None:
            self.job.waiting.pop(event.xid, None)

    # -- the start ---------------------------------------------------------------------------------------

    def _start_if_ready(self, now: float) -> None:
        """Start once every underlay switch has told its ports, or once the wait is over."""
        missing = set(self.state.switch_names) - self.ports_known
        if missing and (self.start_by is None or now < self.start_by):
            return
        if missing:
            names = sorted(self.state.switch_names[d] for d in missing)
            self.out.append(Log(f"starting without the ports of {len(names)} underlay switches after "
                                f"{START_WAIT:.0f} s: {', '.join(names[:8])}"))
        self.state.reroute()
        self.started = True
        self.generation += 1
        for dpid, switch in sorted(self.switches.items()):
            if switch.held is not None and not switch.live:
                self._sync(dpid, switch)

    def _tick(self, now: float) -> None:
        if not self.started and self.start_by is not None:
            self._start_if_ready(now)
        job = self.job
        if job is not None and job.waiting and now >= job.deadline:
            self._timed_out(job, now)

    # -- the API -----------------------------------------------------------------------------------------

    def _asked(self, event: Asked, now: float) -> None:
        if event.what == "PUT /scenario":
            return self._change_asked(event, now)
        answers = {"GET /scenario": self.document, "GET /datapaths": self.connected,
                   "GET /underlay": self.underlay, "GET /tables": self.tables}
        self.out.append(Answer(event.request, 200, answers[event.what]()))

    def document(self) -> dict[str, Any]:
        """The desired state: the scenario, its VMs' ports, the links known down and its generation."""
        return {**self.state.document(), "down": self.state.failed(), "generation": self.generation}

    def connected(self) -> dict[str, Any]:
        """The switches connected and read (so a change reaches them)."""
        return {"connected": sorted(d for d, s in self.switches.items() if s.held is not None)}

    def underlay(self) -> dict[str, Any]:
        return {"down": self.state.failed(), "reroutes": self.reroutes}

    def tables(self) -> dict[str, Any]:
        """What every datapath must hold (controller.codec), for the lab to check the switches against."""
        state = self.state
        return {"generation": self.generation, "underlay": [tables_doc(t) for t in state.underlay.values()],
                "overlay": [tables_doc(t) for t in state.overlay.values()]}

    def _change_asked(self, event: Asked, now: float) -> None:
        if any(j.kind in (CHANGE, REVERT) for j in (self.job, *self.queue) if j is not None):
            return self.out.append(Answer(event.request, 409, {"error": "another change is being applied; try "
                                                                        "again when it is done"}))
        try:
            new = self.state.validated(event.body)
        except ScenarioError as exc:
            return self.out.append(Answer(event.request, 400, {"error": str(exc)}))
        self.queue.append(Job(CHANGE, now, request=event.request, new=new))

    # -- jobs ----------------------------------------------------------------------------------------------

    def _next_job(self, now: float) -> None:
        """Move the job on: its next phase once the last one is confirmed; the next job once it is done."""
        while True:
            if self.job is None:
                if not self.queue:
                    return
                self.job = self.queue.popleft()
                self._begin(self.job, now)
            job = self.job
            if job.waiting:
                return
            if job.phases:
                self._send_phase(job, now)
                continue
            self._finish(job, now)
            self.job = None

    def _begin(self, job: Job, now: float) -> None:
        """Take the job's desired state (or the links now down), and plan every live switch's change."""
        if job.kind == REROUTE:
            self.state.reroute()
            job.down = tuple(self.state.failed())
        else:
            assert job.new is not None
            job.previous = self.state.scenario
            self.state.change(job.new)
        self.generation += 1
        here = {d: s.held for d, s in self.switches.items() if s.live and s.held is not None}
        changed = {d for d, held in here.items() if held is not self._wanted(d)}
        steps = plan({d: here[d] for d in changed}, {d: self._wanted(d) for d in changed})
        job.phases = [[s for s in steps if s.phase == phase] for phase in (MAKE, BREAK)]

    def _send_phase(self, job: Job, now: float) -> None:
        steps = job.phases.pop(0)
        job.deadline = now + CONFIRM_TIMEOUT
        for step in steps:
            switch = self.switches.get(step.dpid)
            if switch is None or switch.held is None:
                continue  # gone meanwhile: reconciled when it is back
            barrier = self._xid()
            self.out.append(Send(step.dpid, switch.conn, step.delta, barrier))
            last = not any(s.dpid == step.dpid for phase in job.phases for s in phase)
            switch.held = self._wanted(step.dpid) if last else applied(switch.held, step.delta)
            job.waiting[barrier] = step.dpid
            job.steps.append(step)

    def _finish(self, job: Job, now: float) -> None:
        done = summary(job.steps)
        if job.kind == REROUTE:
            self.reroutes.append({"down": list(job.down), "changes": done})
            self.out.append(Log(f"links down: {', '.join(job.down) or 'none'}; rerouted: {done}"))
        elif job.kind == CHANGE:
            assert job.new is not None and job.request is not None
            self.out.append(Log(f"applied a change: {done}"))
            self.out.append(Answer(job.request, 200, {"changes": done, "ports": ports_of(job.new),
                                                      "seconds": round(now - job.since, 3)}))
        else:
            self.out.append(Log(f"took a change back: {done}"))

    def _timed_out(self, job: Job, now: float) -> None:
        """Switches did not confirm a phase in time: a change is taken back (the switches that answer get
        the previous tables, one that does not gets them when it can); a repair stays, and is recorded."""
        late = sorted({self.state.name(d) for d in job.waiting.values()})
        job.waiting, job.phases = {}, []
        text = f"{len(late)} switches did not confirm within {CONFIRM_TIMEOUT:.0f} s: {', '.join(late[:5])}"
        self.out.append(Log(f"{job.kind}: {text}"))
        if job.kind == CHANGE:
            assert job.request is not None
            self.queue.appendleft(Job(REVERT, now, new=job.previous))
            self.out.append(Answer(job.request, 504, {"error": f"{text}; the change was taken back",
                                                      "changes": summary(job.steps)}))
        else:  # nothing plans again after a repair or a take-back: a switch whose break phase was never
            if job.kind == REROUTE:  # sent gets the rest now (in order after the rest; read again if it drops)
                self._finish(job, now)
            for dpid, switch in sorted(self.switches.items()):
                if switch.live and switch.held is not None and switch.held != self._wanted(dpid):
                    self._sync(dpid, switch)
        self.job = None

    def _wanted(self, dpid: int) -> Tables:
        """What the switch must hold: its compiled tables, or nothing when the desired state has none."""
        tables = self.state.tables.get(dpid)
        return tables if tables is not None else Tables(self.state.name(dpid), dpid, ())

    def _xid(self) -> int:
        self.xid += 1
        return self.xid
