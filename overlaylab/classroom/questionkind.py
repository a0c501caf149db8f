"""Exercises the student answers in `answers.yaml`, judged on what the lab measures (overlaylab.classroom.facts).

Each question of `exercise.yaml` has a key, what it asks (the file's comment), a type and what a wrong answer
is told (`wrong`, which never holds the right value):

  number   a number, right within `tolerance` (0 unless the fact varies from run to run)
  text     a name or an address, as the lab writes it
  set      a list in any order (a set of switches or servers): a wrong one is told how many are missing or extra
  yesno    yes or no
  choice   one letter of `options` (the first one written is right; each student sees them in their own order)
"""
from __future__ import annotations

import random
from typing import Any

import yaml

from overlaylab.classroom import facts
from overlaylab.classroom.catalog import Exercise, Verdict
from overlaylab.classroom.variant import Variant, draw
from overlaylab.errors import LabError
from topologies import strictyaml

LETTERS = "abcdefgh"


def _options(exercise: Exercise, variant: Variant, question: dict[str, Any]) -> list[str]:
    """The question's options in this student's order; the right one is `question['options'][0]`."""
    options = list(question["options"])
    random.Random(draw(exercise.number, variant.student + "/" + question["key"]).random()).shuffle(options)
    return options


def _choices(exercise: Exercise, variant: Variant) -> dict[str, str]:
    """The right letter of each choice question, in this student's order."""
    return {q["key"]: LETTERS[_options(exercise, variant, q).index(q["options"][0])]
            for q in exercise.spec["questions"] if q["type"] == "choice"}


def start(exercise: Exercise, variant: Variant) -> str:
    lines = []
    for question in exercise.spec["questions"]:
        lines.append(f"\n# {exercise.fill(question['ask'], variant)}\n")
        if question["type"] == "choice":
            lines += [f"#   {LETTERS[i]}) {text}\n" for i, text in enumerate(_options(exercise, variant, question))]
        lines.append(f"{question['key']}:\n")
    return exercise.header(variant) + "".join(lines)


def right_answers(exercise: Exercise, variant: Variant, name: str | None) -> dict[str, Any]:
    """Every question's right answer: the choices from the variant, the rest measured on its lab."""
    return {**facts.MEASURES[exercise.spec["measure"]](exercise, variant, name, {}), **_choices(exercise, variant)}


def solution(exercise: Exercise, variant: Variant, name: str | None) -> str:
    right = right_answers(exercise, variant, name)
    text = start(exercise, variant)
    for key, value in right.items():
        shown = "yes" if value is True else "no" if value is False else yaml.safe_dump(value, default_flow_style=True)
        text = text.replace(f"\n{key}:\n", f"\n{key}: {shown.strip().removesuffix('...').strip()}\n")
    return text


def answers(text: str, name: str) -> dict[str, Any]:
    """The student's answers, by key; one line says what is wrong with a file that is not `key: value` lines."""
    try:
        found = strictyaml.load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        said = f": {exc.problem}" if getattr(exc, "problem", None) else ""
        raise LabError(f"{name} is not YAML any more{where}{said}; keep its `key: value` lines") from None
    except RecursionError:
        raise LabError(f"{name} is nested too deeply to read; keep its `key: value` lines") from None
    if not isinstance(found, dict):
        raise LabError(f"{name} must be `key: value` lines, as it came")
    return found


def _normal(kind: str, value: Any) -> Any:
    """An answer as it is compared: a set in any order, a letter with or without its `)`, yes/no in any case
    (YAML reads a bare yes as true already)."""
    if kind == "text":
        return str(value).strip()
    if kind == "set" and isinstance(value, list):
        return sorted(str(v).strip() for v in value)
    if kind == "choice":
        return str(value).strip().lower().rstrip(")")
    if kind == "yesno" and isinstance(value, str):
        return {"yes": True, "no": False}.get(value.strip().lower(), value)
    return value


def judge(question: dict[str, Any], given: Any, right: Any) -> Verdict:
    key, kind = question["key"], question["type"]
    if given is None:
        return Verdict(False, f"{key}: not answered yet")
    given, right = _normal(kind, given), _normal(kind, right)
    if kind == "number" and isinstance(given, (int, float)) and not isinstance(given, bool):
        ok = abs(given - right) <= question.get("tolerance", 0)
    else:
        ok = given == right
    if ok:
        return Verdict(True, f"{key}: right" + (f" ({question['right']})" if "right" in question else ""))
    return Verdict(False, f"{key}: {_wrong(question, given, right)}")


def _wrong(question: dict[str, Any], given: Any, right: Any) -> str:
    said = question.get("wrong", "not that one; reread the lecture's section")
    if question["type"] == "set" and isinstance(given, list) and isinstance(right, list):
        missing, extra = len(set(right) - set(given)), len(set(given) - set(right))
        said += f" ({missing} missing, {extra} that should not be there)"
    elif question["type"] == "number" and not isinstance(given, (int, float)):
        said = f"{given!r} is not a number; {said}"
    return said


def check(exercise: Exercise, variant: Variant, text: str, name: str | None) -> list[Verdict]:
    given = answers(text, exercise.answer)
    questions = [{**q, **({"wrong": exercise.fill(q["wrong"], variant)} if "wrong" in q else {})}
                 for q in exercise.spec["questions"]]
    if all(given.get(q["key"]) is None for q in questions):
        return [Verdict(False, f"nothing answered in {exercise.answer} yet: fill it in, then check again")]
    known = {q["key"] for q in questions}
    if unknown := sorted(str(k) for k in given if k not in known):
        return [Verdict(False, f"{exercise.answer}: {', '.join(unknown)} is not a question here; keep the keys "
                               f"as they came ({', '.join(sorted(known))})")]
    right = {**facts.MEASURES[exercise.spec["measure"]](exercise, variant, name, given), **_choices(exercise, variant)}
    return [judge(q, given.get(q["key"]), right[q["key"]]) for q in questions]
