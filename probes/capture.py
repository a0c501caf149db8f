"""Many raw sockets, in many namespaces, read together: a sniffer in every VM and taps on underlay
links, all in the one process that also sends the probes."""
from __future__ import annotations

import errno
import selectors
import socket
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from probes.netns import PACKET_OUTGOING, packet_socket

OnFrame = Callable[[str, bytes], None]
Sink = Callable[[bytes], None]


class Capture:
    """Named sockets: `listen` records frames a host receives, `tap` every frame a link carries
    (kept in `frames`, or handed to a sink as it arrives, so a long capture need not be stored)."""

    def __init__(self) -> None:
        self.sockets: dict[str, socket.socket] = {}
        self.taps: set[str] = set()
        self.sinks: dict[str, Sink] = {}
        self.frames: dict[str, list[bytes]] = defaultdict(list)
        self.selector = selectors.DefaultSelector()

    def listen(self, name: str, pid: int, iface: str) -> None:
        self._open(name, pid, iface)

    def tap(self, name: str, pid: int, iface: str, sink: Sink | None = None) -> None:
        self._open(name, pid, iface)
        self.taps.add(name)
        if sink is not None:
            self.sinks[name] = sink

    def _open(self, name: str, pid: int, iface: str) -> None:
        sock = packet_socket(pid, iface)
        self.sockets[name] = sock
        self.selector.register(sock, selectors.EVENT_READ, name)

    def send(self, name: str, frame: bytes) -> None:
        self.sockets[name].send(frame)

    def poll(self, timeout: float, on_frame: OnFrame) -> None:
        """Wait up to `timeout` for frames, and take in all that are there."""
        for key, _ in self.selector.select(timeout=timeout):
            self._drain(key.data, on_frame)

    def run(self, done: Callable[[], bool], timeout: float, settle: float,
            on_frame: OnFrame = lambda name, frame: None) -> None:
        """Record frames until `done()` (or `timeout`), then `settle` seconds more: the window in
        which anything that should not arrive would have to show itself."""
        deadline = time.monotonic() + timeout
        quiet_until: float | None = None
        while quiet_until is None or time.monotonic() < quiet_until:
            if quiet_until is None and (done() or time.monotonic() > deadline):
                quiet_until = time.monotonic() + settle
            self.poll(0.02, on_frame)

    def _drain(self, name: str, on_frame: OnFrame) -> None:
        sock = self.sockets[name]
        tap = name in self.taps
        sink = (self.sinks.get(name) or self.frames[name].append) if tap else None
        while True:
            try:
                frame, address = sock.recvfrom(65535)
            except BlockingIOError:
                return
            except OSError as exc:  # a tapped cable taken down (`link A B down`) carries nothing more
                if exc.errno != errno.ENETDOWN:
                    raise
                return
            if sink is not None:
                sink(frame)
            elif address[2] != PACKET_OUTGOING:
                on_frame(name, frame)

    def close(self) -> None:
        """Close every socket. Closing a bound packet socket waits for an RCU grace period (about
        15 ms), so hundreds are closed side by side rather than one after another."""
        for sock in self.sockets.values():
            self.selector.unregister(sock)
        with ThreadPoolExecutor(max_workers=64) as pool:
            list(pool.map(socket.socket.close, self.sockets.values()))
        self.selector.close()
