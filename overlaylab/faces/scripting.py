"""The lab from Python, for scripts and notebooks, the way Mininet users write topology scripts:

    from overlaylab import Lab
    with Lab("topologies/lecture.yaml") as lab:
        lab.migrate("pepsi/web", "p3e1h0")
        print(lab.vm("pepsi/web").cmd("ping -c1 192.0.2.3"))
        report = lab.check()          # report.ok, or report["ok"]
        traced = lab.trace("pepsi/web", "pepsi/db")   # every ECMP path, and the one a real packet took
        lab.link("p0a0", "c0", up=False)              # the controller's repair, measured

Everything the lab built is torn down when the block ends, whatever happens in it. Each method returns
values (dataclasses, dicts), never prints: the lab CLI's verbs are these, with words and printing.
"""
from __future__ import annotations

import asyncio
import atexit
import functools
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Concatenate, ParamSpec, TypeVar

from controller.flows import ofctl_flow, ofctl_match
from controller.trace import Path as TracedPath
from overlaylab.classroom.picture import dot, render
from overlaylab.errors import LabError
from overlaylab.faces.cliwords import Words
from overlaylab.runtime import failures, tables
from overlaylab.runtime.lab import Lab as RunningLab
from overlaylab.runtime.lab import Phases, running_lab
from overlaylab.verify.check import Report, run_checks
from overlaylab.verify.evidence import captured
from overlaylab.verify.observe import Observation, observe, taken
from probes.pcap import write_pcap
from topologies import changes
from topologies.scenario import Mode, Scenario, load, save


@dataclass(frozen=True)
class Traced:
    """A packet's way: every path the compiled tables give it (an ECMP branch each) and, between VMs, what
    happened to one really sent: the cables it was seen on, and which predicted path that is."""

    paths: list[TracedPath]
    observed: Observation | None = None
    taken: int | None = None  # the index in `paths` of the path the packet was seen to take


P = ParamSpec("P")
T = TypeVar("T")


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def on_lab_thread(method: Callable[Concatenate[Lab, P], T]) -> Callable[Concatenate[Lab, P], T]:
    """netlink (pyroute2) runs an asyncio loop of its own, which cannot run inside one already running, as a
    Jupyter kernel's is: there, the lab's work runs on a thread of the lab's own, one call at a time."""
    @functools.wraps(method)
    def run(lab: Lab, *args: P.args, **kwargs: P.kwargs) -> T:
        if not _loop_running():
            return method(lab, *args, **kwargs)
        if lab._worker is None:
            lab._worker = ThreadPoolExecutor(1, thread_name_prefix="overlaylab")
        return lab._worker.submit(method, lab, *args, **kwargs).result()
    return run


FAILURES: dict[str, Callable[..., dict[str, Any]]] = {
    "switch": failures.switch, "vswitch": failures.vswitch, "controller": failures.controller}


class Lab:
    """A running lab: build it by entering the block, tear it down by leaving it."""

    def __init__(self, scenario: str | Path | None = None, k: int | None = None, quiet: bool = True,
                 mode: str = "overlay") -> None:
        """`mode` "flat" has the underlay route every VM address itself, with no encapsulation."""
        self.scenario_file, self.k, self.quiet, self.mode = scenario, k, quiet, Mode(mode)
        self._out: IO[str] | None = None
        self._lab: RunningLab | None = None
        self._worker: ThreadPoolExecutor | None = None  # where the lab works inside a running event loop

    @on_lab_thread
    def __enter__(self) -> Lab:
        self._out = open(os.devnull, "w") if self.quiet else sys.stdout  # closed on exit
        self._running = running_lab(load(self.scenario_file, self.k, self.mode), Phases(self._out), "up")
        self._lab = self._running.__enter__()
        return self

    @on_lab_thread
    def __exit__(self, *exc: Any) -> None:
        if self._lab is None:
            return
        self._lab = None
        try:
            self._running.__exit__(*exc)
        finally:
            if self._out is not None and self._out is not sys.stdout:
                self._out.close()

    def start(self) -> Lab:
        """Build the lab outside a `with` block (a notebook's cells); stop() tears it down, and so does the
        interpreter's exit should nobody call it."""
        atexit.register(self.stop)
        return self.__enter__()

    def stop(self) -> None:
        """Tear down what start() built (again: nothing), and end the lab's own thread if it had one."""
        atexit.unregister(self.stop)
        self.__exit__(None, None, None)
        if self._worker is not None:
            self._worker.shutdown()
            self._worker = None

    @property
    def running(self) -> RunningLab:
        if self._lab is None:
            raise RuntimeError("the lab is not running: use it inside `with Lab(...) as lab:`")
        return self._lab

    @property
    def scenario(self) -> Scenario:
        """The current desired state (it changes with every change below)."""
        return self.running.scenario

    def vm(self, label: str) -> Any:
        """The Mininet node of `tenant/vm` (`.cmd("ping -c1 192.0.2.3")`)."""
        return self.running.vm(label)

    def server(self, name: str) -> Any:
        """The Mininet node of a physical server, e.g. `p0e0h0`."""
        assert self.running.net is not None
        return self.running.net[name]

    @on_lab_thread
    def migrate(self, label: str, server: str) -> dict[str, Any]:
        """Move a running VM; returns the flow changes per layer and the peer stream's loss and gap."""
        return self.running.migrate(label, server)

    @on_lab_thread
    def add_vm(self, label: str, ip: str, server: str) -> dict[str, Any]:
        return self.running.add_vm(label, ip, server)

    @on_lab_thread
    def remove_vm(self, label: str) -> dict[str, Any]:
        return self.running.remove_vm(label)

    @on_lab_thread
    def add_tenant(self, name: str, vni: int, encap: str = "vxlan") -> dict[str, Any]:
        return self.running.apply(changes.add_tenant(self.scenario, name, vni, encap))

    @on_lab_thread
    def remove_tenant(self, name: str) -> dict[str, Any]:
        return self.running.remove_tenant(name)

    @on_lab_thread
    def check(self) -> Report:
        """Every check of `overlaylab check`, on the lab as it is now."""
        report = Report()
        run_checks(self.running, report)
        return report

    def save(self, path: str | Path) -> None:
        """The current desired state as a scenario file (`overlaylab check FILE` builds it again)."""
        save(self.scenario, path)

    @on_lab_thread
    def link(self, a: str, b: str, up: bool) -> dict[str, Any]:
        """A cable between two switches (or a server and its switch) down or up; returns the controller's
        repair (flow-mods per layer and datapath), how long it took and a probe stream's loss meanwhile."""
        return failures.link(self.running, a, b, up)

    def fail(self, kind: str, name: str = "") -> dict[str, Any]:
        """`fail("switch", "p0a0")`, `fail("vswitch", "p0e0h0")` or `fail("controller")`, measured."""
        return self._failure(kind, name, up=False)

    def restore(self, kind: str, name: str = "") -> dict[str, Any]:
        """Undo a fail(), measured."""
        return self._failure(kind, name, up=True)

    @on_lab_thread
    def _failure(self, kind: str, name: str, up: bool) -> dict[str, Any]:
        if kind not in FAILURES or (kind == "controller") != (not name):
            raise LabError(f"no failure {kind!r} {name!r}; name a switch, a vswitch's server, or the controller")
        event = FAILURES[kind]
        return event(self.running, up) if kind == "controller" else event(self.running, name, up)

    @on_lab_thread
    def trace(self, src: str, dst: str, proto: str = "udp") -> Traced:
        """Every path from src to dst (servers, addresses or tenant/vm names) in the compiled tables; between
        two VMs one `proto` packet is really sent, every cable of those paths tapped."""
        paths, pair = self._paths(src, dst), self._words().vm_pair([src, dst])
        if pair is None:
            return Traced(paths)
        seen = observe(self.running, *pair, proto, paths)
        return Traced(paths, seen, taken(paths, *pair, seen, self.scenario.fabric))

    def _words(self) -> Words:
        """The names the running lab answers to, as the lab CLI reads them."""
        return Words(self.scenario, self.running.vm_nodes, set())

    def _paths(self, src: str, dst: str) -> list[TracedPath]:
        paths = self._words().trace([src, dst], self.running.compiled, self.running.underlay)
        if paths is None:
            raise LabError(f"cannot trace {src} to {dst}: name two servers, a server and an address, or two VMs")
        return paths

    @on_lab_thread
    def tables(self, datapath: str) -> dict[str, list[dict[str, Any]]]:
        """A datapath's compiled flows by purpose, each with its packet counter on the switch (None if the
        switch lacks it) and why the compiler wrote it."""
        lab = self.running
        if datapath not in lab.compiled:
            raise LabError(f"no datapath {datapath!r}; one of {', '.join(sorted(lab.compiled))}")
        counted = tables.counters(lab.targets[datapath])
        grouped: dict[str, list[dict[str, Any]]] = {}
        for flow in lab.compiled[datapath].flows:
            grouped.setdefault(flow.purpose, []).append({
                "flow": ofctl_flow(flow), "packets": counted.get(tables.flow_key(ofctl_match(flow))),
                "note": flow.note})
        return grouped

    @on_lab_thread
    def wire(self, link: str, action: Callable[[], object], pcap: str | Path | None = None) -> list[bytes]:
        """Every frame that crossed `link` (a switch port such as p0e0-eth1) while `action` ran; with `pcap`,
        also written there for Wireshark."""
        frames = captured(self.running, [link], action)[link]
        if pcap is not None:
            write_pcap(pcap, frames)
        return frames

    @on_lab_thread
    def draw(self, path: str | Path, src: str = "", dst: str = "") -> Path:
        """A picture of the live fabric (SVG or PNG, by the extension), with src to dst traced over it."""
        paths = self._paths(src, dst) if src and dst else []
        render(dot(self.scenario, self.running.cut, paths, (src, dst) if src else ()), path)
        return Path(path)
