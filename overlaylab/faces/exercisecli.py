"""The `overlaylab exercise` command: its arguments, and a thin layer over overlaylab.classroom."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from overlaylab.errors import LabError

ACTIONS = ("list", "start", "check", "solution", "reset", "grade")
EXIT_OK, EXIT_FAILED = 0, 1


def add(sub: Any, name_option: Callable[[argparse.ArgumentParser], None]) -> None:
    exercise = sub.add_parser(
        "exercise", help="the exercises: start your own variant, check it on a real lab, grade a class",
        description="`exercise list`; `exercise start NN --student ID` writes your variant into DIR; `exercise "
                    "check NN --student ID` builds its lab with your answer in it, probes it and says what "
                    "still fails; `exercise grade DIR` checks every student's folder there. Without --student: "
                    "the repository's exercises/NN-name/ (the `example` variant).")
    exercise.add_argument("action", choices=ACTIONS)
    exercise.add_argument("number", nargs="?", help="the exercise, e.g. 01 (for grade: the folder, DIR)")
    exercise.add_argument("--student", metavar="ID", help="whose variant (letters, digits, _.-)")
    exercise.add_argument("--dir", type=Path, metavar="DIR", help="where students' folders are (default "
                                                                  "./exercises-work)")
    exercise.add_argument("--json", type=Path, metavar="FILE", help="check: also write the verdict as JSON")
    exercise.add_argument("--csv", type=Path, metavar="FILE", help="grade: the CSV to write (default DIR/grades.csv)")
    exercise.add_argument("--parallel", type=int, metavar="N", help="grade: labs checked at once (default: the "
                                                                      "cores + 1)")
    name_option(exercise)


def run(args: argparse.Namespace) -> int:
    from overlaylab.classroom import exercises, grading
    from overlaylab.classroom.catalog import find
    from overlaylab.classroom.workdir import work
    if args.action == "list":
        exercises.listing(sys.stdout)
        return EXIT_OK
    if not args.number:
        raise LabError(f"name the {'folder to grade' if args.action == 'grade' else 'exercise'}, e.g. `overlaylab "
                       f"exercise {args.action} {'exercises-work' if args.action == 'grade' else '01'}` "
                       f"(`exercise list`)")
    if args.action == "grade":
        rows = grading.grade(Path(args.number), sys.stdout, args.csv, args.parallel)
        return EXIT_OK if all(r["verdict"] == "solved" for r in rows) else EXIT_FAILED
    chosen = work(find(args.number), args.student, args.dir)
    if args.action == "check":
        return EXIT_OK if exercises.check(chosen, sys.stdout, args.name, args.json) else EXIT_FAILED
    actions = {"start": exercises.start, "reset": exercises.reset,
               "solution": lambda w, out: exercises.solution(w, out, args.name)}
    actions[args.action](chosen, sys.stdout)
    return EXIT_OK
