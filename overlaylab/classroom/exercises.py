"""`overlaylab exercise …`: start a student's variant, check it on a real lab (in words, or as JSON for a
grader), write the generated solution, start over. The kinds of exercise (flowkind, questionkind,
tenantkind) each say what the starting point is, what the solution is, and how a copy is checked.

Every verdict is a line: PASS or NOT YET, and what is wrong, in the lecture's words.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from overlaylab.classroom import flowkind, questionkind, stackkind, tenantkind
from overlaylab.classroom.catalog import Exercise, Verdict, exercises, text_of
from overlaylab.classroom.variant import Variant
from overlaylab.classroom.workdir import Work, refuse_restart, write
from overlaylab.system import columns, wrapped


@dataclass(frozen=True)
class Kind:
    start: Callable[[Exercise, Variant], str]
    solution: Callable[[Exercise, Variant, str | None], str]
    check: Callable[[Exercise, Variant, str, str | None], list[Verdict]]


KINDS = {"flows": Kind(flowkind.start, flowkind.solution, flowkind.check),
         "questions": Kind(questionkind.start, questionkind.solution, questionkind.check),
         "tenant": Kind(tenantkind.start, tenantkind.solution, tenantkind.check),
         "stack": Kind(stackkind.start, stackkind.solution, stackkind.check)}


def _kind(exercise: Exercise) -> Kind:
    return KINDS[exercise.spec["kind"]]


def start(work: Work, out: IO[str]) -> None:
    refuse_restart(work)
    reset(work, out)


def reset(work: Work, out: IO[str]) -> None:
    write(work, _kind(work.exercise).start(work.exercise, work.variant))
    out.write(wrapped(f"exercise {work.exercise.number} for {work.student}: {work.folder}/ (README.md says what "
                      f"to do; edit {work.exercise.answer})", columns(out)) + "\n")


def solution(work: Work, out: IO[str], name: str | None = None) -> None:
    """The solution of the student's variant, into its folder (the instructor's key; question exercises
    measure it on the variant's lab)."""
    write(work, _kind(work.exercise).solution(work.exercise, work.variant, name))
    out.write(f"exercise {work.exercise.number} for {work.student}: the solution is in {work.answer}\n")


def check(work: Work, out: IO[str], name: str | None = None, report: Path | None = None) -> bool:
    """Check the student's copy against the student's variant on a lab of its own (named `name`); print each
    verdict, write the JSON report if asked; True if every one passes."""
    exercise, began = work.exercise, time.monotonic()
    out.write(f"exercise {exercise.number}: {exercise.title} ({work.student})\n")
    verdicts = _kind(exercise).check(exercise, work.variant, text_of(work.folder, exercise.answer), name)
    for verdict in verdicts:
        out.write(wrapped(verdict.line(), columns(out), " " * 11) + "\n")
    passed = all(v.ok for v in verdicts)
    out.write(f"exercise {exercise.number}: {'solved' if passed else 'not solved yet'}\n")
    if report:
        report.write_text(json.dumps(result(work, verdicts, time.monotonic() - began), indent=2) + "\n")
    return passed


def result(work: Work, verdicts: list[Verdict], seconds: float) -> dict[str, Any]:
    """The check as a grader reads it: who, which variant, the verdict and each fact that failed."""
    solved = all(v.ok for v in verdicts)
    return {"student": work.student, "exercise": work.exercise.number, "title": work.exercise.title,
            "variant": work.variant.facts, "ok": solved, "verdict": "solved" if solved else "not solved",
            "failing": [v.as_json() for v in verdicts if not v.ok], "facts": [v.as_json() for v in verdicts],
            "duration_s": round(seconds, 1), "checked_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def listing(out: IO[str]) -> None:
    for exercise in exercises():
        spec = exercise.spec
        out.write(wrapped(f"{exercise.number}  {exercise.title}  ({spec['stage']}, {spec['minutes']} min; lecture: "
                          f"{spec['lecture']})", columns(out)) + "\n")
