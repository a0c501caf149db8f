"""A capture agent for a machine of a lab spread over several (`--hosts`): run there, it opens raw sockets in
that machine's namespaces by pid, sends the frames it is given on them, and hands back every frame they see,
all over its stdin and stdout; the lab's probing session drives it as if the sockets were its own
(probes.capture). It is shipped as this file's source over ssh (`python3 -c`), so it uses the standard
library alone, and the lab's process keeps the probes: the agent holds sockets, not state.

Messages both ways: a header (kind, length of the socket's name, length of the payload), the name, the payload.
"""
from __future__ import annotations

import ctypes
import errno
import os
import selectors
import socket
import struct
import sys
from collections import deque
from collections.abc import Iterator

HEADER = struct.Struct("!BHI")
OPEN, SEND, OPENED, FAILED, FRAME_IN, FRAME_OUT = range(1, 7)  # OPEN's payload: b"PID IFACE"
CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33
RCVBUF = 8 << 20
FULL = (errno.EAGAIN, errno.ENOBUFS)  # a socket's queue is full: the frame waits for the next turn


def message(kind: int, name: str, payload: bytes = b"") -> bytes:
    raw = name.encode()
    return HEADER.pack(kind, len(raw), len(payload)) + raw + payload


def messages(buffer: bytearray) -> Iterator[tuple[int, str, bytes]]:
    """The whole messages at the front of `buffer`, taken out of it as they are read."""
    while len(buffer) >= HEADER.size:
        kind, size, length = HEADER.unpack_from(buffer)
        start, end = HEADER.size + size, HEADER.size + size + length
        if len(buffer) < end:
            return
        name, payload = bytes(buffer[HEADER.size:start]).decode(), bytes(buffer[start:end])
        del buffer[:end]
        yield kind, name, payload


def packet_socket(pid: int, iface: str) -> socket.socket:
    """A raw socket on `iface` in the namespace of `pid` (as probes.netns makes one: protocol 0 until bound)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    home, target = os.open("/proc/self/ns/net", os.O_RDONLY), os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), f"cannot enter the namespace of {pid}")
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
            sock.bind((iface, ETH_P_ALL))
        finally:
            libc.setns(home, CLONE_NEWNET)
    finally:
        os.close(target)
        os.close(home)
    sock.setblocking(False)
    return sock


class Agent:
    """The sockets, what waits to be sent on them, and the way out."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.sockets: dict[str, socket.socket] = {}
        self.backlog: deque[tuple[str, bytes]] = deque()
        self.out = bytearray()  # written to stdout as fast as the lab reads: the agent never blocks on it

    def serve(self) -> None:
        """Until the lab closes our stdin."""
        stdin, stdout = sys.stdin.buffer.fileno(), sys.stdout.buffer.fileno()
        os.set_blocking(stdout, False)
        self.selector.register(stdin, selectors.EVENT_READ)
        pending = bytearray()
        while True:
            for key, _ in self.selector.select(0.005 if self.backlog or self.out else None):
                if key.data is not None:
                    self.drain(key.data)
                    continue
                chunk = os.read(stdin, 1 << 20)
                if not chunk:
                    return
                pending += chunk
                for kind, name, payload in messages(pending):
                    self.obey(kind, name, payload)
            self.flush_backlog()
            if self.out:
                try:
                    del self.out[:os.write(stdout, self.out)]
                except BlockingIOError:
                    pass

    def obey(self, kind: int, name: str, payload: bytes) -> None:
        if kind == SEND:
            self.backlog.append((name, payload))
            return
        pid, iface = payload.decode().split()
        try:
            sock = self.sockets[name] = packet_socket(int(pid), iface)
        except OSError as exc:
            self.out += message(FAILED, name, f"{iface} of {pid}: {exc.strerror or exc}".encode())
            return
        self.selector.register(sock, selectors.EVENT_READ, name)
        self.out += message(OPENED, name)

    def flush_backlog(self) -> None:
        """Send what waits, in order, until a socket's queue is full."""
        while self.backlog:
            name, frame = self.backlog[0]
            try:
                self.sockets[name].send(frame)
            except OSError as exc:
                if exc.errno in FULL:
                    return
                raise
            self.backlog.popleft()

    def drain(self, name: str) -> None:
        sock = self.sockets[name]
        while True:
            try:
                frame, address = sock.recvfrom(65535)
            except (BlockingIOError, OSError) as exc:  # none left, or a cable taken down
                if isinstance(exc, BlockingIOError) or exc.errno == errno.ENETDOWN:
                    return
                raise
            self.out += message(FRAME_OUT if address[2] == PACKET_OUTGOING else FRAME_IN, name, frame)


if __name__ == "__main__":
    Agent().serve()
