"""Verdicts: what a probing session's results mean, as checks that pass, fail, or have nothing to judge.

Pure functions of the results they are given, so each can be unit-tested on results made by hand.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import Enum
from typing import Any

from probes import matrix
from probes.attacks import Attack
from probes.endpoint import Endpoint
from probes.session import Outcome, Question

SHOW = 10  # failures quoted in one check's detail


class Status(Enum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True)
class Check:
    """One named verdict and the evidence for it."""

    name: str
    status: Status
    detail: str

    @classmethod
    def judged(cls, name: str, ok: bool, detail: str) -> Check:
        return cls(name, Status.PASS if ok else Status.FAIL, detail)

    @classmethod
    def not_applicable(cls, name: str, why: str) -> Check:
        """Nothing to judge (and why): neither a pass nor a failure."""
        return cls(name, Status.NOT_APPLICABLE, f"not applicable: {why}")

    @property
    def ok(self) -> bool:
        """Did not fail (a check with nothing to judge did not fail either)."""
        return self.status is not Status.FAIL

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "status": self.status.value, "detail": self.detail}


def _quoted(items: list[str]) -> str:
    return ", ".join(items[:SHOW]) + (" ..." if len(items) > SHOW else "")


def matrix_check(results: list[matrix.PairResult], explained: dict[str, str] | None = None) -> Check:
    """Every probe within a tenant delivered, every probe across tenants isolated. Probes lost to or
    from a member whose server is known to be down (`explained`: label -> why) are told as one line per
    cause, not one per pair."""
    name = "tenant delivery and isolation"
    if not results:
        return Check.not_applicable(name, "no tenant has two members to probe between")
    explained = explained or {}
    causes: dict[str, set[str]] = {}
    for r in results:
        cause = next((explained[end] for end in (r.src, r.dst) if end in explained), None) if r.lost else None
        if cause:
            causes.setdefault(cause, set()).update(end for end in (r.src, r.dst) if end in explained)
    failed = [r for r in results if not r.ok]
    wrong = [r for r in failed if not (r.lost and {r.src, r.dst} & set(explained))]
    by_proto = Counter(r.proto for r in results)
    delivered = sum(r.expected == matrix.DELIVER for r in results)
    resent = sum(r.tries - 1 for r in results)
    detail = (f"{len(results) - len(failed)}/{len(results)} probes as expected "
              f"({', '.join(f'{n} {p}' for p, n in by_proto.items())}; {delivered} to deliver within a tenant, "
              f"{len(results) - delivered} to isolate across tenants; {resent} re-sends)")
    for cause, members in sorted(causes.items()):
        lost = sum(1 for r in results if r.lost and {r.src, r.dst} & members)
        detail += f"; unreachable because {cause}: {', '.join(sorted(members))} ({lost} probes)"
    if wrong:
        detail += "; unexpected: " + _quoted([
            f"{r.src}->{r.dst} {r.proto} {r.verdict}" + (f" (reached {', '.join(r.elsewhere)})" if r.elsewhere else "")
            for r in wrong])
    return Check.judged(name, not failed, detail)


def interop_check(members: list[Endpoint], results: list[matrix.PairResult]) -> Check | None:
    """Bare-metal members (kernel VXLAN VTEPs) against OVS: their share of the matrix, told apart;
    None when the scenario has none."""
    if not members:
        return None
    parts, all_ok = [], True
    for member in members:
        mine = [r for r in results if member.label in (r.src, r.dst)]
        wrong = [r for r in mine if not r.ok]
        peers = sorted({r.dst for r in mine if r.src == member.label and r.observed == matrix.DELIVER})
        all_ok &= not wrong
        parts.append(f"{member.label} (kernel VXLAN VTEP): {len(mine) - len(wrong)}/{len(mine)} probes as "
                     f"expected, reaching {', '.join(peers) or 'nobody'}")
    return Check.judged("bare-metal interop", all_ok, "; ".join(parts))


def arp_check(questions: list[Question], outcome: Outcome, what: str = "ARP") -> Check:
    """Each ARP question (or neighbour solicitation) answered with the tenant's own MAC, or (an address the
    tenant lacks) not at all."""
    name = f"{what} answered by the virtual switch"
    if not questions:
        return Check.not_applicable(name, "no VM on a virtual switch to ask")
    wrong = [q for q in questions if not outcome.answered_right(q)]
    silent = sum(q.answer is None for q in questions)
    detail = (f"{len(questions) - len(wrong)}/{len(questions)} {what} questions answered as they must: "
              f"{len(questions) - silent} with the tenant's own MAC, {silent} (addresses the tenant lacks) "
              f"not at all")
    if wrong:
        detail += "; wrong: " + _quoted([f"{q.asker} asked {q.ip}, got {sorted(outcome.answered(q)) or 'nothing'}"
                                         f" (expected {q.answer or 'nothing'})" for q in wrong])
    return Check.judged(name, not wrong, detail)


def attack_check(tried: list[Attack], outcome: Outcome) -> Check:
    """Every attack isolated."""
    if not tried:
        return Check.not_applicable("attacks", "no tenant has VMs on two servers to attack from")
    failed = [a for a in tried if not a.isolated(outcome)]
    detail = f"{len(tried) - len(failed)}/{len(tried)} attacks isolated: {', '.join(sorted({a.name for a in tried}))}"
    if failed:
        detail += "; NOT isolated: " + "; ".join(
            f"{a.name} ({a.detail}): reached {', '.join(a.leaked(outcome))}" for a in failed)
    return Check.judged("attacks", not failed, detail)
