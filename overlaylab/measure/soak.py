"""`overlaylab bench --soak N`: a lab brought up, checked, changed and torn down N times over. A lab in
front of a class must never fail once in 50; this counts every failure with its first line and names
the slowest phase, so a rare one is found here and not in front of students."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from ipaddress import IPv4Interface
from pathlib import Path
from typing import IO, Any

from overlaylab.runtime import failures
from overlaylab.runtime.phases import Phases
from overlaylab.runtime.running import RunningLab, running_lab
from overlaylab.verify.check import Report, run_checks
from topologies.scenario import BUNDLED, VM, Scenario, load

DEFAULT = BUNDLED / "lecture.yaml"


class Soak:
    """Failures (first line each) and the slowest run of every phase, over all cycles."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.slowest: dict[str, tuple[float, int]] = {}  # phase -> (seconds, cycle)
        self.notes: list[str] = []  # what the controller said went wrong while nothing failed

    def took(self, cycle: int, name: str, seconds: float) -> None:
        if seconds > self.slowest.get(name, (0.0, 0))[0]:
            self.slowest[name] = (seconds, cycle)

    @contextmanager
    def phase(self, cycle: int, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.took(cycle, name, time.monotonic() - start)

    def failed(self, cycle: int, name: str, exc: BaseException) -> None:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        self.failures.append(f"cycle {cycle}: {name}: {first}")


CONTROLLER_WORRIES = ("starting without", "did not confirm", "failed", "Traceback")


def worries(log: Path) -> list[str]:
    """The controller log's lines that explain a slow or a failed cycle (the start's fallback timer, a
    switch that did not confirm, a reconciler error)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line.strip() for line in lines if any(word in line for word in CONTROLLER_WORRIES)]


def changes_of(lab: RunningLab) -> list[tuple[str, Callable[[], Any]]]:
    """One round of changes: a VM away to the server with fewest VMs (one with none if there is one) and
    back (emptying its own when it was alone there), a VM added and removed, a link between an
    aggregation and a core switch down and up."""
    scenario = lab.scenario
    vm = next(v for v in scenario.vms if not v.bare_metal and v.ip)
    away = least_used(scenario, vm)
    cable = next((link.a, link.b) for link in scenario.fabric.links
                 if link.a.startswith("c") or link.b.startswith("c"))
    label = f"{vm.tenant}/soak"
    return [(f"migrate {vm.label} {away}", lambda: lab.members.migrate(vm.label, away)),
            (f"migrate {vm.label} {vm.server.name}", lambda: lab.members.migrate(vm.label, vm.server.name)),
            (f"vm add {label}", lambda: lab.members.add_vm(label, free_address(scenario, vm), away)),
            (f"vm remove {label}", lambda: lab.members.remove_vm(label)),
            (f"link {' '.join(cable)} down", lambda: failures.link(lab, *cable, up=False)),
            (f"link {' '.join(cable)} up", lambda: failures.link(lab, *cable, up=True))]


def least_used(scenario: Scenario, vm: VM) -> str:
    """The server in another pod than the VM's with fewest tenant members (at k=8 with 256 VMs, none is
    empty), the first such."""
    count = {s: 0 for s in scenario.fabric.servers if s.pod != vm.server.pod}
    for member in (v for v in scenario.vms if v.server in count):
        count[member.server] += 1
    return min(count, key=lambda s: count[s]).name


def free_address(scenario: Scenario, vm: VM) -> str:
    """An address of the VM's subnet that no member of its tenant has."""
    taken = {v.ip.ip for v in scenario.vms if v.tenant == vm.tenant and v.ip}
    host = next(h for h in vm.v4.network.hosts() if h not in taken)
    return str(IPv4Interface(f"{host}/{vm.v4.network.prefixlen}"))


def cycle(scenario: Scenario, number: int, soak: Soak, quiet: IO[str], name: str | None = None) -> None:
    """Up, a check, the round of changes (each tried whatever the last did), a check, teardown."""
    start, torn, phases = time.monotonic(), 0.0, Phases(quiet)
    try:
        with running_lab(scenario, phases, "bench", name) as lab:
            soak.took(number, "up", time.monotonic() - start)
            for key, seconds in phases.timings.items():
                soak.took(number, f"up: {key}", seconds)
            pass_on(lab, number, soak)
            soak.notes += [f"cycle {number}: controller: {line}" for line in worries(lab.controller.log)]
            torn = time.monotonic()
        soak.took(number, "teardown", time.monotonic() - torn)
    except Exception as exc:  # noqa: BLE001 - the soak counts any failure, and goes on
        soak.failed(number, "teardown" if torn else "up", exc)


def pass_on(lab: RunningLab, number: int, soak: Soak) -> None:
    try:
        changes = changes_of(lab)
    except Exception as exc:  # noqa: BLE001
        soak.failed(number, "choosing the changes", exc)
        changes = []
    for name, change in [("check", lambda: checked(lab)), *changes, ("check again", lambda: checked(lab))]:
        try:
            with soak.phase(number, name.split()[0] if name.startswith(("migrate", "vm", "link")) else name):
                change()
        except Exception as exc:  # noqa: BLE001
            soak.failed(number, name, exc)


def checked(lab: RunningLab) -> None:
    report = Report()
    run_checks(lab, report)
    bad = [c for c in report.checks if not c.ok]
    if bad:
        raise AssertionError(f"{len(bad)} checks failed, first: {bad[0].name}: {bad[0].detail}")


def soak(cycles: int, path: Path | None, k: int | None, out: IO[str], name: str | None = None) -> bool:
    """N cycles; True with 0 failures."""
    scenario = load(path or DEFAULT, k)
    result = Soak()
    out.write(f"overlaylab bench --soak {cycles}: {scenario.source}, k={scenario.fabric.k}, "
              f"{len(scenario.vms)} tenant members\n")
    with open(os.devnull, "w") as quiet:
        for number in range(1, cycles + 1):
            start, before = time.monotonic(), len(result.failures)
            cycle(scenario, number, result, quiet, name)
            new = result.failures[before:]
            out.write(f"  cycle {number}/{cycles}: {time.monotonic() - start:.1f} s, "
                      f"{'ok' if not new else new[0]}\n")
            out.flush()
    name, (seconds, at) = max(((n, v) for n, v in result.slowest.items() if ":" not in n), key=lambda i: i[1][0])
    out.write(f"  {len(result.failures)} failures in {cycles} cycles; slowest phase: {name} {seconds:.1f} s "
              f"(cycle {at})\n")
    out.write("  slowest of each: " + ", ".join(f"{n} {s:.1f} s (cycle {c})" for n, (s, c) in result.slowest.items())
              + "\n")
    for line in result.failures + result.notes:
        out.write(f"  {line}\n")
    return not result.failures
