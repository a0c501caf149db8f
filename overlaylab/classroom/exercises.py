"""`overlaylab exercise check NN`: each exercise of `exercises/` checked on a real lab, its verdict in words.

An exercise folder holds `exercise.yaml` (its kind, scenario and the file the student edits), a README
with the task, the starting point (the file to edit) and `solution/` (the same file, done). The kinds:

  flows      the student writes flow entries (ovs-ofctl syntax) for one virtual switch; the lab is built,
             the compiled entries the exercise names are taken out of that switch, the student's file is
             put in, and the probes say which tenant pairs are delivered and isolated as they must be;
  scenario   the student edits a scenario file (a new tenant); it must load and check green;
  migration  the student predicts the underlay flow changes of a migration in overlay and flat mode;
  ecmp       the student predicts the ECMP paths of a flow and finds the one it takes.

Every verdict is a line: PASS or NOT YET, and what is wrong, in the lecture's words.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from controller.flows import ofctl_match
from controller.trace import trace_vm, vm_packet
from overlaylab.errors import LabError
from overlaylab.runtime.phases import Phases
from overlaylab.runtime.running import RunningLab, running_lab
from overlaylab.runtime.tables import OFCTL
from overlaylab.system import run
from overlaylab.verify.check import Report, run_checks
from overlaylab.verify.observe import observe
from overlaylab.verify.probing import probe_tenants
from topologies import strictyaml
from topologies.fattree import CORE
from topologies.quoting import quote
from topologies.scenario import Mode, ScenarioError, load
from topologies.textfile import Unreadable, read_text

ROOT = Path(__file__).resolve().parents[2] / "exercises"
MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Verdict:
    ok: bool
    text: str

    def line(self) -> str:
        return f"  {'PASS   ' if self.ok else 'NOT YET'}  {self.text}"


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

    def file(self, name: str, solution: bool) -> Path:
        """One of the exercise's files: the student's, or the solution's copy."""
        return self.folder / ("solution" if solution else "") / name


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


def check(exercise: Exercise, solution: bool, out: IO[str], name: str | None = None) -> bool:
    """Run the exercise's check on a lab of its own (named `name`); print each verdict; True if every one
    passes."""
    out.write(f"exercise {exercise.number}: {exercise.title}"
              f"{' (the solution)' if solution else ''}\n")
    verdicts = KINDS[exercise.spec["kind"]](exercise, solution, name)
    for verdict in verdicts:
        out.write(verdict.line() + "\n")
    passed = all(v.ok for v in verdicts)
    out.write(f"exercise {exercise.number}: {'solved' if passed else 'not solved yet'}\n")
    return passed


@contextmanager
def _lab(path: Path, name: str | None, mode: Mode = Mode.OVERLAY) -> Iterator[RunningLab]:
    with open(os.devnull, "w") as quiet, running_lab(load(path, mode=mode), Phases(quiet), "check", name) as lab:
        yield lab


def _pairs_in_words(lab: RunningLab, hints: dict[str, str], only: set[str] | None = None) -> list[Verdict]:
    """The probing session's pairs, grouped: one verdict per pair that failed (all its protocols), or one
    that says how many held. `only`: the pairs that involve these tenants."""
    pairs = [p for p in probe_tenants(lab).pairs
             if only is None or {p["src"].split("/")[0], p["dst"].split("/")[0]} & only]
    failed: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for pair in (p for p in pairs if not p["ok"]):
        failed.setdefault((pair["src"], pair["dst"]), []).append(pair)
    verdicts = [Verdict(False, _failure(src, dst, found, hints)) for (src, dst), found in failed.items()]
    held = len(pairs) - sum(len(f) for f in failed.values())
    return verdicts or [Verdict(True, f"all {held} probes between VMs were delivered inside their tenant and "
                                      f"isolated across tenants")]


def _failure(src: str, dst: str, found: list[dict[str, Any]], hints: dict[str, str]) -> str:
    protos = "/".join(p["proto"] for p in found)
    astray = sorted({vm for p in found for vm in p.get("elsewhere", ())})
    instead = f", and reached {', '.join(astray)} instead" if astray else ""
    if found[0]["expected"] == "deliver":
        return f"{src} cannot reach {dst} ({protos} lost{instead}). {hints.get('lost', '')}".strip()
    return (f"{src} reaches {dst} ({protos}): tenant {src.split('/')[0]}'s packets leak into tenant "
            f"{dst.split('/')[0]}. {hints.get('leak', '')}").strip()


def flows_exercise(exercise: Exercise, solution: bool, name: str | None) -> list[Verdict]:
    """Take the named compiled entries out of one virtual switch, put the student's in, probe."""
    spec = exercise.spec
    lines = [line.strip() for line in _text(exercise, spec["answer"], solution).splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return [Verdict(False, f"{spec['answer']} has no flow entries yet: write them one per line, in "
                               f"`ovs-ofctl add-flow` syntax")]
    vague = [f"entry {n} does not match {field}" for n, line in enumerate(lines, 1)
             for field in spec.get("require", ()) if f"{field}=" not in line]
    if vague:
        return [Verdict(False, f"{'; '.join(vague)}: {spec['hints']['require']}")]
    with _lab(exercise.folder / spec["scenario"], name) as lab:
        target = lab.nodes.targets[spec["datapath"]]
        remove = spec["remove"]
        for flow in lab.compiled[spec["datapath"]].flows:
            if flow.table == remove["table"] and remove["note"] in flow.note:
                run(*OFCTL, "del-flows", "--strict", target, ofctl_match(flow))
        for number, line in enumerate(lines, 1):
            added = run(*OFCTL, "add-flow", target, line, check=False)
            if added.returncode:
                said = (added.stderr.strip().splitlines() or ["no reason given"])[-1]
                return [Verdict(False, f"{spec['answer']}, entry {number}: Open vSwitch refused it ({said})")]
        return _pairs_in_words(lab, spec.get("hints", {}))


def scenario_exercise(exercise: Exercise, solution: bool, name: str | None) -> list[Verdict]:
    """The student's scenario must load, and its new tenant must be delivered and isolated."""
    spec = exercise.spec
    path = exercise.file(spec["answer"], solution)
    try:
        scenario = load(path)
    except ScenarioError as exc:
        return [Verdict(False, f"the scenario does not load yet: {exc}")]
    tenant = next((t for t in scenario.tenants if t.name == spec["tenant"]), None)
    if tenant is None or len(tenant.vms) < 2:
        return [Verdict(False, f"tenant {spec['tenant']} needs at least two VMs")]
    pods = len({vm.server.pod for vm in tenant.vms})
    crossing = "its traffic crosses the core" if pods > 1 else "put one in another pod"
    verdicts = [Verdict(pods > 1, f"tenant {tenant.name}'s VMs are in {pods} pod(s): {crossing}")]
    with _lab(path, name) as lab:
        verdicts += _pairs_in_words(lab, spec.get("hints", {}), {tenant.name})
    return verdicts


def _answers(exercise: Exercise, solution: bool) -> dict[str, Any]:
    """The student's answers, by key."""
    name = exercise.spec["answer"]
    try:
        answers = strictyaml.load(_text(exercise, name, solution)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        said = f": {exc.problem}" if getattr(exc, "problem", None) else ""
        raise LabError(f"{name} is not YAML any more{where}{said}; keep its `key: value` lines") from None
    except RecursionError:
        raise LabError(f"{name} is nested too deeply to read; keep its `key: value` lines") from None
    if not isinstance(answers, dict):
        raise LabError(f"{name} must be `key: value` lines, as it came")
    if isinstance(answers.get("cores"), list):
        answers["cores"] = sorted(map(str, answers["cores"]))  # a set of switches: any order will do
    return answers


def _text(exercise: Exercise, name: str, solution: bool) -> str:
    """The student's file as text, if it is UTF-8 of a sane size: one line says what is wrong otherwise."""
    try:
        return read_text(exercise.file(name, solution), MAX_ANSWER_BYTES, "an answer (a few lines)")
    except Unreadable as exc:
        back = f"; it comes with the exercise (git checkout {exercise.folder.name}/{name} brings it back)"
        raise LabError(f"{name}: {exc}{back if exc.missing else ''}") from None


def _blank(exercise: Exercise, answers: dict[str, Any]) -> list[Verdict]:
    """Nothing answered yet (the file as it came): say so before building any lab."""
    if any(value is not None and not str(value).lstrip().startswith("(") for value in answers.values()):
        return []
    return [Verdict(False, f"nothing answered in {exercise.folder.name}/{exercise.spec['answer']} yet: fill "
                           f"it in, then check again")]


def _compare(answers: dict[str, Any], key: str, measured: object, what: str) -> Verdict:
    given = answers.get(key)
    if given is None:
        return Verdict(False, f"{key}: not answered yet ({what})")
    if given != measured:
        return Verdict(False, f"{key}: you said {given}, but {what} is {measured}")
    return Verdict(True, f"{key}: {measured}, as you said ({what})")


def migration_exercise(exercise: Exercise, solution: bool, name: str | None) -> list[Verdict]:
    """Predicted underlay flow changes of one migration, in overlay and flat mode, against the real ones."""
    spec, answers = exercise.spec, _answers(exercise, solution)
    if blank := _blank(exercise, answers):
        return blank
    measured = {}
    for mode in Mode:
        with _lab(exercise.folder / spec["scenario"], name, mode) as lab:
            moved = lab.members.migrate(spec["vm"], spec["to"])
            report = Report()
            run_checks(lab, report)
            if not report.ok:
                return [Verdict(False, f"the lab itself failed its check after the move in {mode} mode")]
            measured[mode] = moved["changes"]["underlay"]
    why = str(answers.get("why") or "")
    explained = any(word in why.lower() for word in ("server", "encapsul", "outer"))
    return [_compare(answers, "overlay_underlay_flow_changes", measured[Mode.OVERLAY],
                     "the underlay flow-mods the move cost in overlay mode"),
            _compare(answers, "flat_underlay_flow_changes", measured[Mode.FLAT],
                     "the underlay flow-mods the same move cost in flat mode"),
            Verdict(explained, "why: " + ("you explained it in terms of what the underlay routes on" if explained
                                          else "say what the underlay's tables hold, and what a VM's packet looks "
                                               "like to the underlay"))]


def ecmp_exercise(exercise: Exercise, solution: bool, name: str | None) -> list[Verdict]:
    """Predicted ECMP paths of one flow, and the core it really takes, against trace and the wire."""
    spec, answers = exercise.spec, _answers(exercise, solution)
    if blank := _blank(exercise, answers):
        return blank
    with _lab(exercise.folder / spec["scenario"], name) as lab:
        vms = {vm.label: vm for vm in lab.scenario.vms}
        src, dst = vms[spec["src"]], vms[spec["dst"]]
        paths = trace_vm(lab.scenario, lab.compiled, src, vm_packet(src, dst))
        fabric = lab.scenario.fabric
        cores = sorted({h.node for p in paths for h in p.hops if (s := fabric.switch(h.node)) and s.role == CORE})
        seen = observe(lab, src, dst, spec["proto"], paths)
        crossed = sorted({node for s in seen.sightings for node in s.cable if node in cores})
    return [_compare(answers, "paths", len(paths), f"the number of ECMP paths `trace {src.label} {dst.label}` finds"),
            _compare(answers, "cores", cores, "the core switches those paths cross"),
            _compare(answers, "taken", crossed[0] if len(crossed) == 1 else crossed,
                     f"the core the {spec['proto']} packet really crossed (`trace {src.label} {dst.label} "
                     f"{spec['proto']}`)")]


KINDS: dict[str, Callable[[Exercise, bool, str | None], list[Verdict]]] = {
    "flows": flows_exercise, "scenario": scenario_exercise, "migration": migration_exercise,
    "ecmp": ecmp_exercise}


def listing(out: IO[str]) -> None:
    for exercise in exercises():
        out.write(f"  {exercise.number}  {exercise.title}  ({exercise.folder.relative_to(ROOT.parent)}/README.md)\n")
