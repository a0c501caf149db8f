"""What `overlaylab check` verifies on a running lab, each as a named check that can fail."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from overlaylab import tables
from overlaylab.lab import Lab
from probes.reach import reachability


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    """The JSON report of the command contract (plus the server pair summary)."""

    checks: list[Check] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    server_pairs: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [vars(c) for c in self.checks], "tables": self.tables,
                "timings": self.timings, "server_pairs": self.server_pairs}


def underlay_tables(lab: Lab, report: Report) -> Check:
    """Every underlay switch holds exactly the compiled flows and groups, and no more than 2k+10 flows."""
    problems = tables.mismatches(lab.compiled)
    report.tables = tables.flow_counts(lab.compiled)
    k = lab.scenario.fabric.k
    biggest = max(report.tables, key=report.tables.get)  # type: ignore[arg-type]
    size = report.tables[biggest]
    if problems:
        return Check("underlay tables", False, "; ".join(problems))
    if size > 2 * k + 10:
        return Check("underlay tables", False, f"{biggest} holds {size} flows, more than 2k+10 = {2 * k + 10}")
    total = sum(report.tables.values())
    return Check("underlay tables", True, f"{len(report.tables)} switches hold exactly the compiled {total} "
                                          f"flows; largest table {size} flows ({biggest}), bound 2k+10 = {2 * k + 10}")


def server_reachability(lab: Lab, report: Report) -> Check:
    """Every physical server reaches every other across the fabric (ICMP, from inside the servers)."""
    assert lab.net is not None
    reached = reachability(lab.net.hosts)
    failed = sorted(f"{src}->{dst}" for (src, dst), ok in reached.items() if not ok)
    report.server_pairs = {"total": len(reached), "reachable": len(reached) - len(failed), "unreachable": failed}
    detail = f"{len(reached) - len(failed)}/{len(reached)} ordered server pairs reachable"
    if failed:
        detail += f"; unreachable: {', '.join(failed[:10])}" + (" ..." if len(failed) > 10 else "")
    return Check("server reachability", not failed, detail)


CHECKS = (("checking underlay tables against the compiler", "tables", underlay_tables),
          ("pinging every ordered server pair", "reachability", server_reachability))


def run_checks(lab: Lab, report: Report) -> None:
    for message, key, check in CHECKS:
        with lab.phases.phase(key, message):
            report.checks.append(check(lab, report))
