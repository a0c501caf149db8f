"""The check report, for people (a short table that reads well piped) and for programs (JSON)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from overlaylab.check import Report


def write_json(report: Report, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report.as_json(), indent=2) + "\n")
    tmp.replace(path)


def print_summary(report: Report, out: IO[str]) -> None:
    width = max((len(c.name) for c in report.checks), default=0)
    for c in report.checks:
        out.write(f"  {'PASS' if c.ok else 'FAIL'}  {c.name:<{width}}  {c.detail}\n")
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items())
    out.write(f"  timings: {phases}\n")
    out.write("overlaylab: all checks passed\n" if report.ok else "overlaylab: some checks FAILED\n")
