"""The lab from Python, for scripts and notebooks, the way Mininet users write topology scripts:

    from overlaylab import Lab
    with Lab("topologies/lecture.yaml") as lab:
        lab.migrate("pepsi/web", "p3e1h0")
        print(lab.vm("pepsi/web").cmd("ping -c1 192.0.2.3"))
        report = lab.check()          # report.ok, or report["ok"]

Everything the lab built is torn down when the block ends, whatever happens in it.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any

from overlaylab.runtime.lab import Lab as RunningLab
from overlaylab.runtime.lab import Phases, running_lab
from overlaylab.verify.check import Report, run_checks
from topologies import changes
from topologies.scenario import Mode, Scenario, load, save


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
        try:
            self._running.__exit__(*exc)
        finally:
            if self._out is not None and self._out is not sys.stdout:
                self._out.close()

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
