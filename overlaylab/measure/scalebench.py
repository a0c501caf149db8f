"""`overlaylab bench --scale`: how the lab grows, measured in one run on this machine.

For k = 4, 6 and 8 with two VMs on every server (`topologies.generate`), a full `check`: bring-up per
phase, the checks and their verdicts, teardown, probes per second and the memory of every process the
lab runs; then TCP throughput between VMs (see `throughput`). BENCHMARKS.md holds a run's results.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from overlaylab.measure.throughput import bench_throughput
from overlaylab.runtime.capacity import available_mib
from overlaylab.runtime.phases import UP_PHASES, Phases
from overlaylab.runtime.registry import memory_mib, processes
from overlaylab.runtime.running import running_lab
from overlaylab.verify.check import Report, run_checks
from topologies.generate import scale_yaml
from topologies.scenario import load

SCALE_KS = (4, 6, 8)
VMS_PER_SERVER = 2


@dataclass
class ScaleRow:
    k: int
    servers: int
    vms: int
    timings: dict[str, float]
    memory_mib: float  # PSS of the lab's processes
    used_mib: float  # how much the machine's available memory dropped
    probes_per_s: float
    failed: list[str] = field(default_factory=list)

    @property
    def up_s(self) -> float:
        return sum(self.timings.get(p, 0) for p in UP_PHASES)

    @property
    def check_s(self) -> float:
        return sum(v for k, v in self.timings.items() if k not in (*UP_PHASES, "teardown") and ":" not in k)


def measure_scale(k: int, name: str | None = None) -> ScaleRow:
    """One full check of a k-ary fat-tree with VMS_PER_SERVER VMs on every server."""
    with tempfile.TemporaryDirectory(prefix="overlaylab-bench-") as folder:
        path = Path(folder) / f"scale-k{k}.yaml"
        path.write_text(scale_yaml(k, VMS_PER_SERVER))
        scenario = load(path)
        phases = Phases()
        report = Report(timings=phases.timings)
        available_before = available_mib()
        with running_lab(scenario, phases, "bench", name) as lab:
            run_checks(lab, report)
            memory = memory_mib([*processes(lab.id.name), os.getpid()])
            used = available_before - available_mib()
    sending = phases.timings.get("probes: send and listen", 0) + phases.timings.get("reachability", 0)
    sent = report.probes + report.server_pairs.get("total", 0) + report.server_pairs.get("resent", 0)
    return ScaleRow(k, len(scenario.fabric.servers), len(scenario.vms), dict(phases.timings), memory, used,
                    sent / sending if sending else 0.0, [c.name for c in report.checks if not c.ok])


def scale_table(rows: list[ScaleRow]) -> list[str]:
    lines = ["| k | servers | VMs | up (s) | of which network / vswitches / flows | checks (s) | teardown (s) "
             "| probes/s | lab PSS / machine used (GiB) | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        t = r.timings
        lines.append(f"| {r.k} | {r.servers} | {r.vms} | {r.up_s:.1f} | {t.get('network', 0):.1f} / "
                     f"{t.get('vswitches', 0):.1f} / {t.get('flows', 0):.1f} | {r.check_s:.1f} | "
                     f"{t.get('teardown', 0):.1f} | {r.probes_per_s:,.0f} | {r.memory_mib / 1024:.2f} / "
                     f"{r.used_mib / 1024:.2f} | "
                     f"{'green' if not r.failed else 'FAILED: ' + ', '.join(r.failed)} |")
    return lines


def bench_scale(out: IO[str], ks: tuple[int, ...] = SCALE_KS, name: str | None = None) -> bool:
    """The scale table, then the throughput table; True if every check was green."""
    rows = [measure_scale(k, name) for k in ks]
    out.writelines(line + "\n" for line in scale_table(rows))
    out.write("\n")
    bench_throughput(out, name)
    return not any(r.failed for r in rows)
