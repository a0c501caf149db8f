"""`overlaylab bench --labs N`: a class on one machine, measured. Two parts:

1. N labs of one scenario brought up side by side in this process, one after another (each one's bring-up
   timed beside those already running), each checked while all run, and probed from every other (not one
   probe may arrive: verify.crosslab); the memory they hold; then torn down.
2. N students' `overlaylab check` at the same moment, each its own process and lab: how long each took
   and whether all were green.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from overlaylab.runtime import registry
from overlaylab.runtime.capacity import available_mib
from overlaylab.runtime.identity import default_name
from overlaylab.runtime.phases import UP_PHASES, Phases
from overlaylab.runtime.running import RunningLab, running_lab
from overlaylab.verify.check import Report, run_checks
from overlaylab.verify.crosslab import cross
from topologies.scenario import BUNDLED, load

DEFAULT = BUNDLED / "lecture.yaml"
SLOWER_BESIDE_ONE = 1.5  # the target: a second lab's bring-up, against the first's alone


@dataclass
class Side:
    """Part 1's figures, one entry per lab."""

    ups: list[float]
    checks: list[tuple[bool, float]]
    sent: int
    leaks: list[str]
    labs_mib: float  # PSS of every lab process (this one's own memory apart)
    used_mib: float  # how much the machine's available memory fell


def side_by_side(path: Path, k: int | None, count: int, prefix: str) -> Side:
    scenario = load(path, k)
    before = available_mib()
    with open(os.devnull, "w") as quiet, ExitStack() as stack:  # the labs go before their output does
        labs: list[RunningLab] = []
        ups = []
        for i in range(count):
            phases = Phases(quiet)
            labs.append(stack.enter_context(running_lab(scenario, phases, "bench", f"{prefix}-{i}")))
            ups.append(sum(phases.timings.get(p, 0.0) for p in UP_PHASES))
        used = before - available_mib()
        marked = registry.marked()
        held = sum(registry.memory_mib(marked.get(lab.id.name, [])) for lab in labs)
        checks = [_checked(lab) for lab in labs]
        crossings = [cross(lab, [other for other in labs if other is not lab]) for lab in labs]
    return Side(ups, checks, sum(c.sent for c in crossings), [leak for c in crossings for leak in c.leaks],
                held, used)


def _checked(lab: RunningLab) -> tuple[bool, float]:
    report, start = Report(), time.monotonic()
    run_checks(lab, report)
    return report.ok, time.monotonic() - start


def at_once(path: Path, k: int | None, count: int, prefix: str) -> list[tuple[bool, float]]:
    """`overlaylab check` N times at the same moment, as N students would: (green, seconds) each."""
    with tempfile.TemporaryDirectory(prefix="overlaylab-labs-") as folder:
        reports = [Path(folder) / f"{i}.json" for i in range(count)]
        extra = ["--k", str(k)] if k else []
        started = time.monotonic()
        procs = [subprocess.Popen([sys.executable, "-m", "overlaylab.faces.cli", "check", str(path), *extra,
                                   "--name", f"{prefix}-s{i}", "--json", str(report)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for i, report in enumerate(reports)]
        took = []
        for proc in procs:
            proc.wait()
            took.append(time.monotonic() - started)
        return [(report.exists() and json.loads(report.read_text())["ok"], seconds)
                for report, seconds in zip(reports, took, strict=True)]


def bench_labs(count: int, path: Path | None, k: int | None, out: IO[str], name: str | None = None) -> bool:
    """Both parts, printed; True if every lab was green, no probe crossed, and a second lab came up
    within SLOWER_BESIDE_ONE times the first's bring-up."""
    path, prefix = path or DEFAULT, name or default_name()
    out.write(f"overlaylab bench --labs {count}: {path.name}{f', k={k}' if k else ''}, labs {prefix}-0..{count - 1}\n")
    side = side_by_side(path, k, count, prefix)
    ratio = side.ups[1] / side.ups[0] if count > 1 else 1.0
    out.write(f"  up, one after another: {', '.join(f'{s:.1f}' for s in side.ups)} s (the second "
              f"{ratio:.2f} x the first, alone; target {SLOWER_BESIDE_ONE} x)\n")
    out.write(f"  all {count} running: labs' processes {side.labs_mib / 1024:.2f} GiB PSS ({side.labs_mib / count:.0f} "
              f"MiB a lab), machine's available memory fell {side.used_mib / 1024:.2f} GiB\n")
    out.write(f"  check of each while all run: {_verdicts(side.checks)}\n")
    out.write(f"  cross-lab probes: {side.sent:,} sent, {len(side.leaks)} arrived in another lab"
              f"{': ' + side.leaks[0] if side.leaks else ''}\n")
    students = at_once(path, k, count, prefix)
    out.write(f"  {count} x `overlaylab check` at once: {_verdicts(students)}\n")
    return (all(ok for ok, _ in side.checks + students) and not side.leaks
            and ratio <= SLOWER_BESIDE_ONE)


def _verdicts(results: list[tuple[bool, float]]) -> str:
    green = sum(ok for ok, _ in results)
    times = [seconds for _, seconds in results]
    return f"{green}/{len(results)} green, {min(times):.1f} to {max(times):.1f} s each"
