"""One probing session: every probe and ARP question sent, paced, listened for everywhere, and
re-sent until it arrives where it must (or is declared lost after a few tries).

Sending everything at once overflows socket and datapath queues on a large lab, and a probe lost in a
queue would be reported as "isolated", the very thing the tenant boundary is supposed to do. So:

  pacing     sends go round-robin over the senders at a rate that adapts to what the datapath
             absorbs: it grows while probes arrive and is cut when one is lost (AIMD, as TCP does);
             the probes and questions that must be answered are also bounded in flight, per sender
             and in total, so no sender's queue runs deep.
  re-sending a probe that must arrive, or an ARP question that must be answered, and is not within
             `timeout` is sent again, same token, up to `tries` times; after that it is lost, and
             reported as "lost after N tries".
  never      a probe that must not arrive anywhere (isolation, attacks) is sent once: one arrival
             is a leak, and a re-send could only hide one.

One settle window after the last send catches late arrivals, leaks included.
"""
from __future__ import annotations

import errno
import heapq
import os
import struct
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from probes.capture import Capture
from probes.fastparse import arp_answer, nd_answer, token_in
from probes.packets import MAGIC

Progress = Callable[[str], None]


class Tokens:
    """Unique tokens: MAGIC, 2 random bytes for this run, a 4-byte counter."""

    def __init__(self) -> None:
        self.run, self.count = os.urandom(2), 0

    def __call__(self) -> bytes:
        self.count += 1
        return MAGIC + self.run + struct.pack("!I", self.count)


@dataclass(frozen=True, slots=True)
class Probe:
    """A frame sent from `sender`; it must reach `expect` (None: nowhere) and nothing outside
    `allowed` (`expect` is always allowed)."""

    token: bytes
    sender: str
    frame: bytes
    expect: str | None
    allowed: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Question:
    """An ARP request (or IPv6 neighbour solicitation) from `asker` for `ip`; `answer` is the MAC that must
    come back (None: silence)."""

    asker: str
    ip: IPv4Address | IPv6Address
    frame: bytes
    answer: str | None


@dataclass(frozen=True)
class Pacing:
    """How hard a session pushes the datapath; the defaults hold a k=8 lab with 256 VMs."""

    rate: float = 20000.0  # sends per second to start with, across all senders
    max_rate: float = 100000.0
    min_rate: float = 500.0
    per_sender: int = 16  # awaited sends in flight from one sender
    burst: int = 16  # sends from one sender before the next sender's turn
    window: int = 512  # awaited sends in flight in all
    tries: int = 4
    timeout: float = 1.0  # an awaited send not confirmed by then is tried again
    settle: float = 0.5


@dataclass
class Outcome:
    """Where every token arrived, every ARP answer heard, and how hard each confirmation was won."""

    arrivals: dict[bytes, set[str]] = field(default_factory=lambda: defaultdict(set))
    answers: dict[tuple[str, IPv4Address | IPv6Address], set[str]] = field(default_factory=lambda: defaultdict(set))
    tries: dict[Hashable, int] = field(default_factory=dict)  # sends per awaited probe or question
    sent: int = 0
    resent: int = 0
    lost: int = 0

    def reached(self, probe: Probe) -> set[str]:
        return self.arrivals.get(probe.token, set())

    def ok(self, probe: Probe) -> bool:
        reached = self.reached(probe)
        return (probe.expect is None or probe.expect in reached) and reached <= probe.allowed | {probe.expect}

    def tries_of(self, probe: Probe) -> int:
        return self.tries.get(probe_key(probe), 1)

    def answered(self, question: Question) -> set[str]:
        return self.answers.get((question.asker, question.ip), set())

    def answered_right(self, question: Question) -> bool:
        got = self.answered(question)
        return got == ({question.answer} if question.answer else set())


def probe_key(probe: Probe) -> Hashable:
    """What confirms an awaited probe: its token, seen at its destination."""
    return probe.token, probe.expect


def question_key(question: Question) -> Hashable:
    return question.asker, question.ip


@dataclass(frozen=True, slots=True)
class _Item:
    sender: str
    frame: bytes
    key: Hashable | None  # what confirms it; None: never confirmed, sent once


class _Pacer:
    """Sends items round-robin over their senders within the rate and the windows, re-sends the
    awaited ones that time out, and is told by `confirm` what has arrived."""

    def __init__(self, capture: Capture, items: list[_Item], pacing: Pacing) -> None:
        self.capture, self.items, self.pacing = capture, items, pacing
        self.queues: dict[str, deque[int]] = defaultdict(deque)
        for index, item in enumerate(items):
            self.queues[item.sender].append(index)
        self.ready = deque(self.queues)
        self.is_ready = set(self.queues)
        self.waiting = {item.key: i for i, item in enumerate(items) if item.key is not None}
        self.tries = [0] * len(items)
        self.flying = [0] * len(items)  # the try in flight, 0 if none
        self.in_flight: Counter[str] = Counter()
        self.total_in_flight = 0
        self.deadlines: list[tuple[float, int, int]] = []
        self.rate, self.allowance, self.last = pacing.rate, 0.0, time.monotonic()
        self.last_cut, self.began = 0.0, self.last
        self.queued = len(items)
        self.sent = self.resent = self.lost = self.confirmed = 0

    def confirm(self, key: Hashable) -> None:
        index = self.waiting.pop(key, None)
        if index is None:
            return
        self.confirmed += 1
        if self.flying[index]:
            self._land(index)
        self.rate = min(self.pacing.max_rate, self.rate + 2)

    def _land(self, index: int) -> None:
        sender = self.items[index].sender
        self.flying[index] = 0
        self.in_flight[sender] -= 1
        self.total_in_flight -= 1
        self._wake(sender)

    def _wake(self, sender: str) -> None:
        if sender not in self.is_ready and self.queues[sender] and self.in_flight[sender] < self.pacing.per_sender:
            self.ready.append(sender)
            self.is_ready.add(sender)

    def expire(self, now: float) -> None:
        while self.deadlines and self.deadlines[0][0] <= now:
            _, index, attempt = heapq.heappop(self.deadlines)
            if self.flying[index] != attempt:
                continue  # confirmed meanwhile
            self._land(index)
            if self.tries[index] < self.pacing.tries:
                self.queues[self.items[index].sender].appendleft(index)
                self.queued += 1
                self._wake(self.items[index].sender)
                self.resent += 1
            else:
                del self.waiting[self.items[index].key]
                self.lost += 1
            if now - self.last_cut > self.pacing.timeout:  # one cut per round trip, as TCP does
                self.rate, self.last_cut = max(self.pacing.min_rate, self.rate / 2), now

    def send(self, now: float) -> None:
        self.allowance = min(self.rate * 0.05, self.allowance + (now - self.last) * self.rate)
        self.last = now
        while self.allowance >= 1 and self.ready and self.total_in_flight < self.pacing.window:
            sender = self.ready.popleft()
            self.is_ready.discard(sender)
            if not self._burst(sender, now):
                return
            self._wake(sender)

    def _burst(self, sender: str, now: float) -> bool:
        """Up to `burst` items from one sender back to back: a virtual switch woken for a batch of
        packets handles it in one pass of its main loop, where one packet per wake-up costs it ~10x
        the CPU. False if the sender's socket is full (it is put back first in line)."""
        queue = self.queues[sender]
        for _ in range(self.pacing.burst):
            while queue and self.items[queue[0]].key is not None and self.items[queue[0]].key not in self.waiting:
                queue.popleft()  # a re-send whose earlier try arrived meanwhile
                self.queued -= 1
            if not queue or self.allowance < 1 or self.in_flight[sender] >= self.pacing.per_sender:
                return True
            index = queue[0]
            if not self._transmit(index):
                self.ready.appendleft(sender)
                self.is_ready.add(sender)
                return False
            queue.popleft()
            self.queued -= 1
            self.allowance -= 1
            self._launched(index, now)
        return True

    def _transmit(self, index: int) -> bool:
        item = self.items[index]
        try:
            self.capture.send(item.sender, item.frame)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ENOBUFS):
                return False  # the socket's queue is full: the datapath is behind, come back later
            raise
        return True

    def _launched(self, index: int, now: float) -> None:
        item = self.items[index]
        self.sent += 1
        self.tries[index] += 1
        if item.key is None:
            return
        self.flying[index] = self.tries[index]
        self.in_flight[item.sender] += 1
        self.total_in_flight += 1
        heapq.heappush(self.deadlines, (now + self.pacing.timeout, index, self.tries[index]))

    @property
    def busy(self) -> bool:
        return bool(self.queued or self.total_in_flight)

    def status(self) -> str:
        """Where the session is, and how fast it really sends (sent over the time so far: the pacer's own
        rate is only what it would allow, and at k=12 it allowed 74,818/s while 1,743/s went out)."""
        awaited = sum(item.key is not None for item in self.items)
        measured = self.sent / max(time.monotonic() - self.began, 1e-3)
        return (f"{self.sent:,} sent ({self.resent:,} re-sent), {self.confirmed:,}/{awaited:,} arrivals "
                f"and answers confirmed, {self.lost:,} lost, {measured:,.0f}/s")


DEFAULT_PACING = Pacing()


def run_session(capture: Capture, probes: list[Probe], questions: list[Question],
                pacing: Pacing = DEFAULT_PACING, progress: Progress | None = None) -> Outcome:
    """Send everything (paced, awaited ones re-sent), record where each token and answer arrives."""
    outcome = Outcome()
    listeners = capture.listeners
    items = [*(_Item(q.asker, q.frame, question_key(q) if q.answer else None) for q in questions),
             *(_Item(p.sender, p.frame, probe_key(p) if p.expect else None) for p in probes)]
    pacer = _Pacer(capture, items, pacing)

    def on_frame(name: str, frame: bytes) -> None:
        if name not in listeners:
            return
        token = token_in(frame)
        if token:
            outcome.arrivals[token].add(name)
            pacer.confirm((token, name))
        answer = arp_answer(frame) or nd_answer(frame)
        if answer:
            outcome.answers[(name, answer[0])].add(answer[1])
            pacer.confirm((name, answer[0]))

    shown = time.monotonic()
    while pacer.busy:
        now = time.monotonic()
        pacer.expire(now)
        pacer.send(now)
        capture.poll(0.002 if pacer.ready else 0.02, on_frame)
        if progress and now - shown > 0.5:
            progress(pacer.status())
            shown = now
    capture.run(lambda: True, 0, pacing.settle, on_frame)
    outcome.tries = {item.key: pacer.tries[i] for i, item in enumerate(items) if item.key is not None}
    outcome.sent, outcome.resent, outcome.lost = pacer.sent, pacer.resent, pacer.lost
    if progress:
        progress(pacer.status())
    return outcome
