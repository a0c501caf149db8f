"""`overlaylab bench --hosts A,B,... [SCENARIO]`: a lab spread over machines, measured against the capacity
model's prediction for that placement (overlaylab.runtime.capacity.estimate_on).

Per machine: its pods, what the model predicts, and the proportional memory (PSS) of every process in its
nodes' namespaces (read there, over ssh); for the lab as a whole: bring-up, check, the memory this machine
gave up while the lab came up (on simulated machines, the whole lab's), and the tenant frames the cables
between machines carried.
"""
from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import IO, Any

from overlaylab.runtime.capacity import HERE, available_mib, estimate_on, probing_mib
from overlaylab.runtime.phases import Phases
from overlaylab.runtime.remote import pids_by_machine, run_on
from overlaylab.runtime.running import running_lab
from overlaylab.verify.check import Report, run_checks
from topologies.placement import place
from topologies.scenario import load

PSS = """
import os, sys
spaces = {os.readlink(f"/proc/{p}/ns/net") for p in sys.argv[1:]}
kib = 0
for entry in os.listdir("/proc"):
    try:
        if entry.isdigit() and os.readlink(f"/proc/{entry}/ns/net") in spaces:
            kib += sum(int(l.split()[1]) for l in open(f"/proc/{entry}/smaps_rollup") if l.startswith("Pss:"))
    except OSError:
        pass
print(kib)
"""


def machine_memory(net: Any) -> dict[str, float]:
    """MiB of PSS in each machine's nodes' namespaces, read on the machine."""
    return {host: int(run_on(host, f"python3 -c {shlex.quote(PSS)} {' '.join(map(str, found))}", timeout=120)) / 1024
            for host, found in pids_by_machine(net.values()).items()}


def bench_cluster(hosts: list[str], scenario: Path | None, k: int | None, out: IO[str],
                  name: str | None = None) -> bool:
    """Bring the lab up over `hosts`, measure it, check it; True if the check is green."""
    planned = load(scenario, k)
    placement = place(planned.fabric, hosts)
    predicted = estimate_on(planned, placement)
    before, started = available_mib(), time.monotonic()
    with open(os.devnull, "w") as quiet, running_lab(planned, phases := Phases(quiet), "bench", name, hosts) as lab:
        report = Report(timings=phases.timings)
        up_s = time.monotonic() - started
        used, measured = before - available_mib(), machine_memory(lab.nodes.net)
        started = time.monotonic()
        run_checks(lab, report)
        check_s = time.monotonic() - started
    out.write(f"overlaylab bench: k={planned.fabric.k}, {len(planned.vms)} VMs over {len(hosts)} "
              f"machines: up {up_s:.1f} s, check {check_s:.1f} s, {'green' if report.ok else 'FAILED'}\n")
    out.write(f"  {'machine':<16}{'pods':>8}{'cores':>7}{'predicted MiB':>15}{'measured PSS MiB':>18}\n")
    for host in hosts:
        pods, cores = ",".join(map(str, placement.pods_of(host))), list(placement.cores.values()).count(host)
        out.write(f"  {host:<16}{pods:>8}{cores:>7}{predicted[host].memory_mib:>15.0f}{measured.get(host, 0):>18.0f}\n")
    total, probes = sum(e.memory_mib for e in predicted.values()), probing_mib(planned)
    out.write(f"  the machines: predicted {total - predicted[HERE].memory_mib:.0f} MiB, measured "
              f"{sum(measured.values()):.0f} MiB of PSS\n  the lab, here and there, once up: predicted "
              f"{total - probes:.0f} MiB (and {probes:.0f} more for check's probes) and "
              f"{max(e.bring_up_s for e in predicted.values()):.0f} s; this machine's available memory dropped "
              f"{used:.0f} MiB (all of it, on simulated machines)\n")
    slowest = sorted(((s, p) for p, s in report.timings.items() if ":" not in p), reverse=True)[:5]
    out.write(f"  slowest phases: {', '.join(f'{p} {s:.1f} s' for s, p in slowest)}\n")
    carried = report.stitches
    out.write(f"  cables between machines: {sum(1 for f in carried.values() if f)}/{len(carried)} carried the "
              f"tenant probes, {sum(carried.values())} frames\n")
    return bool(report.ok)
