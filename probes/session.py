"""One probing session: send every probe and ARP question at once, listen everywhere, and say
where each one arrived. Matrix, ARP checks and attacks all run in the same session (one settle
window for all of them)."""
from __future__ import annotations

import os
import struct
from collections import defaultdict
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from probes.capture import Capture
from probes.packets import MAGIC, arp_answer, token_in


class Tokens:
    """Unique tokens: MAGIC, 2 random bytes for this run, a 4-byte counter."""

    def __init__(self) -> None:
        self.run, self.count = os.urandom(2), 0

    def __call__(self) -> bytes:
        self.count += 1
        return MAGIC + self.run + struct.pack("!I", self.count)


@dataclass(frozen=True)
class Probe:
    """A frame sent from `sender`; it must reach `expect` (None: nowhere) and nothing outside
    `allowed` (`expect` is always allowed)."""

    token: bytes
    sender: str
    frame: bytes
    expect: str | None
    allowed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Question:
    """An ARP request from `asker` for `ip`; `answer` is the MAC that must come back (None: silence)."""

    asker: str
    ip: IPv4Address
    frame: bytes
    answer: str | None


@dataclass
class Outcome:
    arrivals: dict[bytes, set[str]] = field(default_factory=lambda: defaultdict(set))
    answers: dict[tuple[str, IPv4Address], set[str]] = field(default_factory=lambda: defaultdict(set))

    def reached(self, probe: Probe) -> set[str]:
        return self.arrivals.get(probe.token, set())

    def ok(self, probe: Probe) -> bool:
        reached = self.reached(probe)
        return (probe.expect is None or probe.expect in reached) and reached <= probe.allowed | {probe.expect}

    def answered(self, question: Question) -> set[str]:
        return self.answers.get((question.asker, question.ip), set())

    def answered_right(self, question: Question) -> bool:
        got = self.answered(question)
        return got == ({question.answer} if question.answer else set())


def run_session(capture: Capture, probes: list[Probe], questions: list[Question], timeout: float = 15.0,
                settle: float = 0.5) -> Outcome:
    """Send everything, then record until every expected arrival and answer is in, plus `settle`."""
    outcome = Outcome()
    listeners = set(capture.sockets) - capture.taps
    pending = {(p.token, p.expect) for p in probes if p.expect}
    pending_answers = {(q.asker, q.ip) for q in questions if q.answer}

    def on_frame(name: str, frame: bytes) -> None:
        if name not in listeners:
            return
        token = token_in(frame)
        if token:
            outcome.arrivals[token].add(name)
            pending.discard((token, name))
        answer = arp_answer(frame)
        if answer:
            outcome.answers[(name, answer[0])].add(answer[1])
            pending_answers.discard((name, answer[0]))

    for question in questions:
        capture.send(question.asker, question.frame)
    for probe in probes:
        capture.send(probe.sender, probe.frame)
    capture.run(lambda: not pending and not pending_answers, timeout, settle, on_frame)
    return outcome
