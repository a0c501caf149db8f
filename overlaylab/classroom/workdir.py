"""Where a student's exercise lives: `DIR/NN-name-STUDENT/` (README, scenario.yaml, the file to edit and
`student.yaml`, which says whose it is), or, with no student, the repository's own `exercises/NN-name/`
(the `example` variant). Starting, resetting and writing the solution are file writes, nothing else."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from overlaylab.classroom.catalog import Exercise, find
from overlaylab.classroom.variant import EXAMPLE, Variant, check_student
from overlaylab.errors import LabError
from overlaylab.runtime.state import give_to_owner, owner
from topologies import strictyaml

DEFAULT_DIR = Path("exercises-work")
MARKER = "student.yaml"
SCENARIO = "scenario.yaml"


@dataclass(frozen=True)
class Work:
    """One student's copy of one exercise."""

    exercise: Exercise
    student: str
    folder: Path

    @property
    def variant(self) -> Variant:
        return self.exercise.variant(self.student)

    @property
    def answer(self) -> Path:
        return self.folder / self.exercise.answer


def work(exercise: Exercise, student: str | None, where: Path | None) -> Work:
    if student is None:
        return Work(exercise, EXAMPLE, exercise.folder)
    check_student(student)
    return Work(exercise, student, (where or DEFAULT_DIR) / f"{exercise.folder.name}-{student}")


def write(work: Work, answer: str) -> None:
    """The README and scenario of the student's variant, the marker, and `answer` as the file to edit; all of
    it the user's who ran sudo, so that their editor may save the file (and they may remove the folder)."""
    variant = work.variant
    made = [d for d in (work.folder.parent, work.folder) if not d.exists()]
    work.folder.mkdir(parents=True, exist_ok=True)
    files = {"README.md": work.exercise.readme(variant), SCENARIO: yaml.safe_dump(variant.scenario, sort_keys=False),
             work.exercise.answer: answer}
    if work.folder != work.exercise.folder:
        files[MARKER] = yaml.safe_dump({"exercise": work.exercise.number, "student": work.student})
    for name, text in files.items():
        (work.folder / name).write_text(text)
    for path in [*made, *(work.folder / name for name in files)]:
        give_to_owner(path, owner())


def refuse_restart(work: Work) -> None:
    """`start` never overwrites a student's work."""
    if work.answer.exists():
        raise LabError(f"{work.folder} is already started; `overlaylab exercise reset {work.exercise.number} "
                       f"--student {work.student}` starts it over (and loses its {work.exercise.answer})")


def collected(where: Path) -> list[Work]:
    """Every student folder under `where`, by exercise and student (a folder whose marker does not match its
    name is refused: a copied folder must not be graded as someone else's)."""
    if not where.is_dir():
        raise LabError(f"{where} is not a folder; give the folder where the students' exercises are (the --dir of "
                       f"`exercise start`)")
    found = []
    for marker in sorted(where.glob(f"*/{MARKER}")):
        spec = strictyaml.load(marker.read_text()) or {}
        exercise = find(str(spec.get("exercise", "")))
        item = work(exercise, str(spec.get("student", "")), where)
        if item.folder.resolve() != marker.parent.resolve():
            raise LabError(f"{marker} says {item.student}'s exercise {exercise.number}, but the folder is "
                           f"{marker.parent.name}; the folder must be {item.folder.name}")
        found.append(item)
    if not found:
        raise LabError(f"no student's exercise in {where} (folders with a {MARKER}); `overlaylab exercise start "
                       f"NN --student ID --dir {where}` makes them")
    return found

