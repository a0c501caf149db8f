"""A lab's life: preflight, controller, network, flows confirmed on the switches, and teardown."""
from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from mininet.log import setLogLevel
from mininet.net import Mininet

from controller.flows import Tables
from controller.underlay import compile_underlay
from overlaylab import clean, tables
from overlaylab.controlproc import ControllerProcess
from overlaylab.errors import LabError
from overlaylab.network import build_network, stop_network, tag_links
from overlaylab.preflight import preflight
from overlaylab.state import RUN_DIR, LabLock, LabState, forget_state
from overlaylab.system import wait_until
from topologies.scenario import DEFAULT_SCENARIO, Scenario

FLOWS_TIMEOUT = 60.0


class Phases:
    """Times each phase (for the report's `timings`) and tells the user what is happening."""

    def __init__(self, out: IO[str] = sys.stderr) -> None:
        self.out = out
        self.timings: dict[str, float] = {}

    @contextmanager
    def phase(self, key: str, message: str) -> Iterator[None]:
        self.out.write(f"overlaylab: {message} ...")
        self.out.flush()
        start = time.monotonic()
        try:
            yield
        except BaseException:
            self.out.write(" failed\n")
            raise
        finally:
            self.timings[key] = round(self.timings.get(key, 0) + time.monotonic() - start, 3)
        self.out.write(f" {self.timings[key]:.1f} s\n")


class Lab:
    """A running lab; made by `running_lab`, which guarantees its teardown."""

    def __init__(self, scenario: Scenario, path: Path | None, phases: Phases) -> None:
        self.scenario = scenario
        self.phases = phases
        self.compiled: dict[str, Tables] = compile_underlay(scenario.fabric)
        fabric = scenario.fabric
        self.state = LabState(pid=os.getpid(), scenario=str(path or DEFAULT_SCENARIO),
                              bridges=[s.name for s in fabric.switches],
                              nodes=[n.name for n in (*fabric.switches, *fabric.servers)])
        self.controller = ControllerProcess(self.state.scenario, fabric.k, RUN_DIR / "controller.log")
        self.net: Mininet | None = None

    def start(self) -> None:
        fabric = self.scenario.fabric
        self.state.save()
        with self.phases.phase("controller", "starting the controller (os-ken)"):
            self.controller.start()
            self.state.controller_pid = self.controller.pid
            self.state.save()
        with self.phases.phase("network", f"building a k={fabric.k} fat-tree: {len(fabric.switches)} "
                                          f"switches, {len(fabric.servers)} servers"):
            self.net = build_network(self.scenario, self.controller.port)
            self.net.build()
            tag_links(self.net)
            self.state.node_pids = {node.name: node.pid for node in self.net.values()}
            self.state.save()
            self.net.start()
        with self.phases.phase("flows", "waiting until every switch holds its compiled flows"):
            wait_until(lambda: not tables.mismatches(self.compiled), FLOWS_TIMEOUT,
                       "the controller's flows", self._flows_problem)

    def _flows_problem(self) -> str:
        problems = tables.mismatches(self.compiled)
        return f"{problems[0]} ({len(problems)} switches differ); controller log: {self.controller.tail()}"

    def stop(self) -> None:
        """Take everything down; Ctrl-C is ignored meanwhile so teardown itself is never cut short."""
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            with self.phases.phase("teardown", "tearing the lab down"):
                if self.net is not None:
                    stop_network(self.net)
                self.controller.stop()
                leftovers = clean.sweep(self.state)
                forget_state()
            if leftovers:
                self.phases.out.write(f"overlaylab: teardown also had to remove {leftovers}\n")
        finally:
            signal.signal(signal.SIGINT, previous)


@contextmanager
def running_lab(scenario: Scenario, path: Path | None, phases: Phases, command: str) -> Iterator[Lab]:
    """Bring a lab up, hand it over, and take it down again whatever happens."""
    preflight(command, [s.name for s in scenario.fabric.switches])
    setLogLevel("output")
    lock = LabLock()
    lock.acquire()
    lab = Lab(scenario, path, phases)
    try:
        lab.start()
        yield lab
    finally:
        try:
            lab.stop()
        finally:
            lock.release()
