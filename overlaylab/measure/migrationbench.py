"""The migration benchmark of `overlaylab bench`: one VM moved 10 times around the fabric (another
rack, another pod, servers with and without a virtual switch) while a peer streams probes to it.

Target (issue 9): the median gap the peer sees is at most 0.5 s on this machine; the underlay's flow
changes are 0 for every move.
"""
from __future__ import annotations

import statistics
from typing import IO, Any

from overlaylab.runtime.running import RunningLab

MOVES = 10
TARGET_GAP = 0.5


def tour(lab: RunningLab, label: str, moves: int) -> list[str]:
    """Where the VM goes: round the fabric's servers (bare metal excluded), one pod after another."""
    fabric, home = lab.scenario.fabric, next(vm.server for vm in lab.scenario.vms if vm.label == label)
    bare = {vm.server for vm in lab.scenario.vms if vm.bare_metal}
    stops = [s for s in fabric.servers if s not in bare and s != home]
    stops = sorted(stops, key=lambda s: (s.host, s.edge, s.pod))  # consecutive stops in different pods
    return [s.name for s in (stops * moves)[:moves - 1]] + [home.name]


def migrations(lab: RunningLab, out: IO[str], moves: int = MOVES) -> bool:
    """Move the first VM that has a peer `moves` times; print each move and the summary; True if the
    median gap is within the target and the underlay never changed."""
    vm = next(v for v in lab.scenario.vms if not v.bare_metal
              and any(p.tenant == v.tenant and p is not v and not p.bare_metal for p in lab.scenario.vms))
    answers: list[dict[str, Any]] = []
    for server in tour(lab, vm.label, moves):
        moved = lab.members.migrate(vm.label, server)
        answers.append(moved)
        s, c = moved["stream"], moved["changes"]
        out.write(f"  migrate {vm.label} {moved['from']} -> {moved['to']}: {moved['moved_in']:.2f} s, gap "
                  f"{s['longest_gap']:.2f} s, {s['lost']}/{s['sent']} probes lost; flow changes: underlay "
                  f"{c['underlay']}, virtual switches {c['vswitches']}\n")
    gaps = [a["stream"]["longest_gap"] for a in answers]
    underlay = sum(a["changes"]["underlay"] for a in answers)
    median = statistics.median(gaps)
    verdict = "within" if median <= TARGET_GAP and not underlay else "OVER"
    out.write(f"  migration gap over {len(gaps)} moves: median {median:.2f} s, max {max(gaps):.2f} s "
              f"({verdict} the {TARGET_GAP} s target); underlay flow changes {underlay}, virtual switch "
              f"flow changes {sum(a['changes']['vswitches'] for a in answers)}\n")
    return median <= TARGET_GAP and not underlay
