"""A continuous stream of sequence-numbered UDP probes from one tenant member to another, to measure
what an event (a migration, a failure) costs the traffic: probes lost, and the longest gap between two
that arrived. Sent from a packet socket in the sender's namespace every `interval` seconds, counted by
one in the receiver's: neither end's IP stack is involved, so nothing but the network can drop one. An end
on another machine has its socket held there by that machine's agent (probes.capture)."""
from __future__ import annotations

import struct
import threading
import time
from dataclasses import dataclass

from probes.capture import Capture
from probes.fastparse import token_in
from probes.packets import MAGIC, Host
from probes.remote import Launch
from probes.stamp import stamp_probe

INTERVAL = 0.005  # a probe every 5 ms: a gap is measured to within 10 ms
SETTLE = 0.1  # after the last probe, how long its way across the fabric may take
SRC, DST = "src", "dst"  # the stream's two sockets


@dataclass(frozen=True)
class End:
    """Where a stream starts or ends: who it is, and its interface inside its namespace."""

    host: Host
    pid: int
    iface: str
    machine: str | None = None  # another machine, whose agent holds the end's socket; None: this one


@dataclass(frozen=True)
class StreamResult:
    sent: int
    received: int
    longest_gap: float  # seconds between two consecutive arrivals (the interval when nothing was lost)

    @property
    def lost(self) -> int:
        return self.sent - self.received


def result(sent: int, arrivals: dict[int, float], started: float, last_sent: float) -> StreamResult:
    """From the arrival time of each sequence number: how many arrived, and the longest silence (from
    the first probe sent, between arrivals, and up to the last probe sent)."""
    times = sorted(t for t in arrivals.values() if t <= last_sent)
    edges = [started, *times, last_sent]
    return StreamResult(sent, len(arrivals), max(b - a for a, b in zip(edges, edges[1:], strict=False)))


class Stream:
    """Probes from `src` to `dst` while the block runs: `with Stream(a, b) as s: ...; s.result`."""

    def __init__(self, src: End, dst: End, interval: float = INTERVAL, run: bytes = b"ST",
                 launch: Launch | None = None) -> None:
        self.src, self.dst, self.interval, self.run = src, dst, interval, run
        self.capture = Capture(launch)
        self.arrivals: dict[int, float] = {}
        self.foreign: set[bytes] = set()  # other streams' runs whose probes arrived here
        self.sent = 0
        self.stopping, self.done = threading.Event(), threading.Event()
        self.result: StreamResult | None = None

    def __enter__(self) -> Stream:
        for name, end in ((SRC, self.src), (DST, self.dst)):
            self.capture.listen(name, end.pid, end.iface, end.machine)
        self.capture.ready()
        self.started = self.last_sent = time.monotonic()
        self.threads = [threading.Thread(target=self._send, daemon=True),
                        threading.Thread(target=self._receive, daemon=True)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        self.threads[0].join()
        time.sleep(SETTLE)  # the last probes' way across the fabric
        self.done.set()
        self.threads[1].join()
        self.capture.close()
        self.result = result(self.sent, self.arrivals, self.started, self.last_sent)

    @property
    def proto(self) -> str:
        """UDP, over IPv6 between two ends that have IPv6 addresses only."""
        return "udp6" if self.src.host.ip.version == 6 else "udp"

    def _token(self, seq: int) -> bytes:
        return MAGIC + self.run + struct.pack("!I", seq)

    def _send(self) -> None:
        next_at = time.monotonic()
        while not self.stopping.is_set():
            try:
                self.capture.send(SRC, stamp_probe(self.proto, self.src.host, self.dst.host, self._token(self.sent),
                                                   flow=1))
                self.capture.flush()
            except OSError:  # ENOBUFS: nothing drains the interface (its virtual switch is dead): lost
                pass
            self.sent += 1
            self.last_sent = time.monotonic()
            next_at += self.interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def _receive(self) -> None:
        while not self.done.is_set():
            self.capture.poll(0.05, self._arrived)

    def _arrived(self, name: str, frame: bytes) -> None:
        prefix = MAGIC + self.run
        token = token_in(frame) if name == DST else None
        if token and token.startswith(prefix):
            self.arrivals.setdefault(struct.unpack("!I", token[len(prefix):])[0], time.monotonic())
        elif token and token.startswith(MAGIC):
            self.foreign.add(token[len(MAGIC):len(prefix)])
