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

import atexit
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

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

    def __enter__(self) -> Lab:
        self._out = open(os.devnull, "w") if self.quiet else sys.stdout  # closed on exit
        self._running = running_lab(load(self.scenario_file, self.k, self.mode), Phases(self._out), "up")
        self._lab = self._running.__enter__()
        return self

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
        """Tear down what start() built (again: nothing)."""
        self.__exit__(None, None, None)

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

    def migrate(self, label: str, server: str) -> dict[str, Any]:
        """Move a running VM; returns the flow changes per layer and the peer stream's loss and gap."""
        return self.running.migrate(label, server)

    def add_vm(self, label: str, ip: str, server: str) -> dict[str, Any]:
        return self.running.add_vm(label, ip, server)

    def remove_vm(self, label: str) -> dict[str, Any]:
        return self.running.remove_vm(label)

    def add_tenant(self, name: str, vni: int, encap: str = "vxlan") -> dict[str, Any]:
        return self.running.apply(changes.add_tenant(self.scenario, name, vni, encap))

    def remove_tenant(self, name: str) -> dict[str, Any]:
        return self.running.remove_tenant(name)

    def check(self) -> Report:
        """Every check of `overlaylab check`, on the lab as it is now."""
        report = Report()
        run_checks(self.running, report)
        return report

    def save(self, path: str | Path) -> None:
        """The current desired state as a scenario file (`overlaylab check FILE` builds it again)."""
        save(self.scenario, path)

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

    def _failure(self, kind: str, name: str, up: bool) -> dict[str, Any]:
        if kind not in FAILURES or (kind == "controller") != (not name):
            raise LabError(f"no failure {kind!r} {name!r}; name a switch, a vswitch's server, or the controller")
        event = FAILURES[kind]
        return event(self.running, up) if kind == "controller" else event(self.running, name, up)

    def trace(self, src: str, dst: str, proto: str = "udp") -> Traced:
        """Every path from src to dst (servers, addresses or tenant/vm names) in the compiled tables; between
        two VMs one `proto` packet is really sent, every cable of those paths tapped."""
        paths, words = self._paths(src, dst), Words(self.scenario, self.running.vm_nodes, set())
        pair = words.vm_pair([src, dst])
        if pair is None:
            return Traced(paths)
        seen = observe(self.running, *pair, proto, paths)
        return Traced(paths, seen, taken(paths, *pair, seen, self.scenario.fabric))

    def _paths(self, src: str, dst: str) -> list[TracedPath]:
        lab = self.running
        paths = Words(lab.scenario, lab.vm_nodes, set()).trace([src, dst], lab.compiled, lab.underlay)
        if paths is None:
            raise LabError(f"cannot trace {src} to {dst}: name two servers, a server and an address, or two VMs")
        return paths

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

    def wire(self, link: str, action: Callable[[], object], pcap: str | Path | None = None) -> list[bytes]:
        """Every frame that crossed `link` (a switch port such as p0e0-eth1) while `action` ran; with `pcap`,
        also written there for Wireshark."""
        frames = captured(self.running, [link], action)[link]
        if pcap is not None:
            write_pcap(pcap, frames)
        return frames

    def draw(self, path: str | Path, src: str = "", dst: str = "") -> Path:
        """A picture of the live fabric (SVG or PNG, by the extension), with src to dst traced over it."""
        paths = self._paths(src, dst) if src and dst else []
        render(dot(self.scenario, self.running.cut, paths, (src, dst) if src else ()), path)
        return Path(path)
