"""The exercises of `exercises/`: each folder's `exercise.yaml` says what it is (title, lecture section,
minutes, kind and the kind's parameters) and holds its README and starting-file header as templates,
filled with the facts of a student's variant (`$S`, `${pepsi_vni}`: overlaylab.classroom.variant)."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import yaml

from overlaylab.classroom.variant import EXAMPLE, Variant, variant
from overlaylab.errors import LabError
from overlaylab.runtime.phases import Phases
from overlaylab.runtime.running import RunningLab, running_lab
from topologies import strictyaml
from topologies.quoting import quote
from topologies.scenario import Mode, Scenario, load, parse
from topologies.textfile import Unreadable, read_text

ROOT = Path(__file__).resolve().parents[2] / "exercises"
MAX_ANSWER_BYTES = 64 * 1024
STAGES = ("read", "write", "diagnose", "predict", "build")  # the progression, in the README's words


@dataclass(frozen=True)
class Verdict:
    """One fact of a check: held or not, and in words what is wrong (never the right value)."""

    ok: bool
    text: str

    def line(self) -> str:
        return f"  {'PASS   ' if self.ok else 'NOT YET'}  {self.text}"

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.text}


@dataclass(frozen=True)
class Exercise:
    folder: Path
    spec: dict[str, Any]

    @property
    def number(self) -> str:
        return self.folder.name.split("-", 1)[0]

    @property
    def title(self) -> str:
        return str(self.spec["title"])

    @property
    def answer(self) -> str:
        """The file the student edits."""
        return str(self.spec["answer"])

    def variant(self, student: str) -> Variant:
        return variant(self.number, student, tuple(self.spec.get("encaps", ("vxlan", "geneve"))))  # type: ignore[arg-type]

    def fill(self, template: str, chosen: Variant) -> str:
        """A text of the exercise with the variant's facts in it; `$flags` is what `exercise check` needs
        to find this student's copy."""
        flags = "" if chosen.student == EXAMPLE else f" --student {chosen.student}"
        return Template(template).safe_substitute(chosen.facts, number=self.number, flags=flags,
                                                  minutes=self.spec["minutes"], lecture=self.spec["lecture"])

    def readme(self, chosen: Variant) -> str:
        return self.fill(self.spec["readme"], chosen)

    def header(self, chosen: Variant) -> str:
        """The starting file's comment block."""
        text = self.fill(self.spec["header"], chosen)
        return "".join(f"# {line}".rstrip() + "\n" for line in text.strip().splitlines())


def exercises(root: Path = ROOT) -> list[Exercise]:
    return [Exercise(folder, strictyaml.load((folder / "exercise.yaml").read_text()))
            for folder in sorted(root.iterdir()) if (folder / "exercise.yaml").is_file()]


def find(number: str, root: Path = ROOT) -> Exercise:
    known = exercises(root)
    found = next((e for e in known if e.number == number.zfill(2)), None)
    if found is None:
        raise LabError(f"no exercise {quote(number)}; there are {', '.join(e.number for e in known)} "
                       f"(`overlaylab exercise list`)")
    return found


def scenario_of(chosen: Variant, mode: Mode = Mode.OVERLAY) -> Scenario:
    return parse(chosen.scenario, f"exercise {chosen.number} for {chosen.student}", mode=mode)


@contextmanager
def lab_of(chosen: Variant, name: str | None, mode: Mode = Mode.OVERLAY,
           data: dict[str, Any] | None = None) -> Iterator[RunningLab]:
    """The variant's lab (or the scenario `data`, the student's), quiet, named `name`. A lab runs from a file
    (its controller reads the same one): the scenario is written to a temporary one."""
    with tempfile.TemporaryDirectory(prefix="overlaylab-exercise-") as scratch:
        path = Path(scratch) / "scenario.yaml"
        path.write_text(yaml.safe_dump(data or chosen.scenario, sort_keys=False))
        os.chmod(scratch, 0o755)
        with open(os.devnull, "w") as quiet, running_lab(load(path, mode=mode), Phases(quiet), "check", name) as lab:
            yield lab


def text_of(folder: Path, name: str) -> str:
    """The student's file as text, if it is UTF-8 of a sane size: one line says what is wrong otherwise."""
    try:
        return read_text(folder / name, MAX_ANSWER_BYTES, "an answer (a few lines)")
    except Unreadable as exc:
        back = "; `overlaylab exercise start` writes it (and `exercise reset` again: the starting point)"
        raise LabError(f"{folder / name}: {exc}{back if exc.missing else ''}") from None
