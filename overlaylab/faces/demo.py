"""`overlaylab demo [SCENARIO]`: the lecture as a live walkthrough on its own lab (the steps are in
overlaylab.classroom.walkthrough). Each step prints the lecture's point, then the real thing with its evidence,
and waits for Enter; `--no-pause` (or stdin that is not a terminal) runs it unattended, `--step N`
starts at step N. At the end the lab CLI opens (piped, it runs the remaining lines), unless `--no-cli`.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import IO

from overlaylab.api.lab import Lab
from overlaylab.classroom.roles import roles_of
from overlaylab.classroom.shown import Shown
from overlaylab.classroom.walkthrough import STEPS, Step
from overlaylab.errors import LabError
from overlaylab.runtime.identity import default_name
from overlaylab.runtime.running import RunningLab
from overlaylab.runtime.state import give_to_owner, owner
from topologies.scenario import DEFAULT_SCENARIO, load

WIDTH = 100  # at most; less on a narrower terminal (a projector's is often 80 columns)


def demo(first: int, pause: bool, cli: bool, out_dir: Path | None = None, out: IO[str] = sys.stdout,
         scenario: Path | None = None, name: str | None = None) -> bool:
    """Bring up the scenario's lab (the lecture's by default), walk through the steps from `first`, then
    (if `cli`) open the lab CLI; True if every step showed its evidence. A scenario without the demo's
    roles is refused in one line before anything is built."""
    if not 1 <= first <= len(STEPS):
        raise LabError(f"--step {first}: the walkthrough has steps 1..{len(STEPS)}")
    lab_scenario = load(scenario or DEFAULT_SCENARIO)
    out_dir = out_dir or captures_dir(name)
    roles = roles_of(lab_scenario)
    out_dir.mkdir(parents=True, exist_ok=True)
    give_to_owner(out_dir, owner())  # the student opens the captures in Wireshark, and may delete them
    out.write(f"overlaylab demo: the captures go to {out_dir}/ (open them in Wireshark)\n")
    interactive = pause and sys.stdin.isatty()
    with Lab(scenario, quiet=False, command="demo", name=name) as lab:
        shown = walk(lab.running, first, interactive, out_dir, out)
        if cli:
            from overlaylab.faces.labcli import LabCLI
            (near, peer), (far, other) = roles.rack, roles.across
            out.write(f"the lab stays up: try `help`, `trace {near.label} {peer.label}`, `draw fabric.svg "
                      f"{far.label} {other.label}`; `exit` tears it down\n")
            out.flush()
            LabCLI(lab)
    return all(s is not None for s in shown)


def walk(lab: RunningLab, first: int, interactive: bool, out_dir: Path, out: IO[str]) -> list[Shown | None]:
    """Every step from `first`; a step that cannot show its evidence says why and the walk goes on."""
    shown: list[Shown | None] = []
    for number, step in enumerate(STEPS[first - 1:], first):
        shown.append(run_step(lab, number, step, out_dir, out))
        if interactive and number < len(STEPS) and not _next(out):
            break
    return shown


def run_step(lab: RunningLab, number: int, step: Step, out_dir: Path, out: IO[str]) -> Shown | None:
    out.write(f"\n== {number}/{len(STEPS)}  {step.title} ==\n{textwrap.fill(step.lecture, width())}\n\n")
    out.flush()
    try:
        shown = step.show(lab, out_dir)
    except LabError as exc:
        out.write(f"  could not show this step: {exc}\n")
        return None
    out.write("".join(_wrapped(line) + "\n" for line in shown.lines))
    out.flush()
    return shown


def _next(out: IO[str]) -> bool:
    """Wait for Enter; False when the instructor wants the lab CLI now (q) or input ends."""
    out.write("\n[Enter: next step, q: straight to the lab CLI] ")
    out.flush()
    answer = sys.stdin.readline()
    return bool(answer) and answer.strip().lower() != "q"


def _wrapped(line: str) -> str:
    """A long evidence line folded at WIDTH, its continuation indented under its start."""
    indent = " " * (len(line) - len(line.lstrip()) + 4)
    cut = width()
    return textwrap.fill(line, cut, subsequent_indent=indent, break_on_hyphens=False) if len(line) > cut else line


def width() -> int:
    """WIDTH, or the terminal's width when it is narrower."""
    return min(WIDTH, shutil.get_terminal_size().columns - 1)


def captures_dir(name: str | None) -> Path:
    """Where the demo writes its captures unless told: outside whatever folder it runs in (`make demo` runs
    in the repository), one per lab."""
    return Path(tempfile.gettempdir()) / f"overlaylab-demo-{name or default_name()}"
