"""`overlaylab exercise grade DIR`: every student's folder in DIR checked on a lab of its own, several labs at
once (each a separate `overlaylab exercise check` process, named after the grader's lab and its place in
the queue), then a CSV and a one-screen table. A check that cannot run at all is graded `error`, with its
one-line reason."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from overlaylab.classroom.workdir import Work, collected
from overlaylab.runtime.identity import default_name
from overlaylab.system import columns

COLUMNS = ("student", "exercise", "verdict", "failing", "first_problem", "duration_s", "checked_at")


def at_once() -> int:
    """Labs checked at once by default: one more than the cores (a check waits on its lab part of the time; a
    class of 30 on 2 cores: 103 s two at once, 84 s three at once, BENCHMARKS.md)."""
    return (os.cpu_count() or 1) + 1


def _checked(work: Work, lab: str, scratch: Path) -> dict[str, Any]:
    """One student's check, in a process of its own; its JSON report, or an `error` row."""
    report = scratch / f"{lab}.json"
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "overlaylab.faces.cli", "exercise", "check", work.exercise.number,
                           "--student", work.student, "--dir", str(work.folder.parent), "--json", str(report),
                           "--name", lab], capture_output=True, text=True, check=False)
    if report.is_file():
        return json.loads(report.read_text())
    said = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    return {"student": work.student, "exercise": work.exercise.number, "verdict": "error",
            "failing": [{"ok": False, "detail": said.removeprefix("overlaylab: error: ")}],
            "duration_s": round(time.monotonic() - began, 1), "checked_at": ""}


def row(result: dict[str, Any]) -> dict[str, Any]:
    failing = result.get("failing", [])
    return {"student": result["student"], "exercise": result["exercise"], "verdict": result["verdict"],
            "failing": len(failing), "first_problem": failing[0]["detail"] if failing else "",
            "duration_s": result["duration_s"], "checked_at": result["checked_at"]}


def grade(where: Path, out: IO[str], table: Path | None, parallel: int | None = None) -> list[dict[str, Any]]:
    """Check every student's folder in `where`; write the CSV (`table`, default where/grades.csv); print the
    table. Returns the rows, by student and exercise."""
    works = collected(where)
    workers = max(1, parallel or at_once())
    base = default_name()[:24]
    out.write(f"grading {len(works)} exercise folders in {where}, {workers} labs at once\n")
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="overlaylab-grade-") as scratch, ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda pair: _checked(pair[1], f"{base}-g{pair[0]}", Path(scratch)),
                                enumerate(works)))
    rows = sorted(map(row, results), key=lambda r: (r["student"], r["exercise"]))
    path = table or where / "grades.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    _print(rows, out)
    solved = sum(r["verdict"] == "solved" for r in rows)
    out.write(f"{solved}/{len(rows)} solved, in {time.monotonic() - began:.0f} s; {path}\n")
    return rows


def _print(rows: list[dict[str, Any]], out: IO[str]) -> None:
    """One line per folder, cut to the terminal's width (the CSV has every problem in full)."""
    width = max(len("student"), *(len(r["student"]) for r in rows))
    room = (columns(out) or width + 109) - width - 19  # what is left for the problem (90 when piped)
    out.write(f"{'student':<{width}}  ex  verdict      problem\n")
    for r in rows:
        problem = r["first_problem"] + (f" (+{r['failing'] - 1} more)" if r["failing"] > 1 else "")
        cut = problem if len(problem) <= room else problem[:room - 1] + "…"
        out.write(f"{r['student']:<{width}}  {r['exercise']}  {r['verdict']:<11}  {cut}\n")
