"""The lab's side of a machine's capture agent (probes.agent): started by a command the lab gives (ssh to the
machine, running the agent's source there), told which sockets to open and what to send, and read for the
frames its sockets saw."""
from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from probes import agent
from probes.agent import FAILED, OPEN, OPENED, SEND, message, messages

Launch = Callable[[str], list[str]]  # a machine -> the command that runs `python3 -c SOURCE` there
READY_TIMEOUT = 30.0


class AgentError(RuntimeError):
    """An agent that could not open a socket, or went away."""


def source() -> str:
    """What the agent runs: its module's text."""
    return Path(agent.__file__).read_text()


class AgentLink:
    """One machine's agent: its pipes, the sockets it has yet to confirm, the frames read but not yet taken."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.input: IO[bytes] = io.BufferedWriter(self.process.stdin, 1 << 16)  # type: ignore[arg-type]
        self.output: IO[bytes] = self.process.stdout
        self.pending = bytearray()
        self.opening: set[str] = set()
        self.held: list[tuple[str, bytes, int]] = []  # frames read while waiting for confirmations

    def open(self, name: str, pid: int, iface: str) -> None:
        self.input.write(message(OPEN, name, f"{pid} {iface}".encode()))
        self.opening.add(name)

    def send(self, name: str, frame: bytes) -> None:
        self.input.write(message(SEND, name, frame))

    def ready(self) -> None:
        """Hand over what was sent; wait until every socket asked for is open there (so nothing sent to it
        after is missed)."""
        self.input.flush()
        while self.opening:
            self.held += self._read()

    def frames(self) -> Iterator[tuple[str, bytes, int]]:
        """What the agent has sent since (name, frame, FRAME_IN or FRAME_OUT)."""
        held, self.held = self.held, []
        yield from held
        yield from self._read()

    def _read(self) -> list[tuple[str, bytes, int]]:
        chunk = os.read(self.output.fileno(), 1 << 20)
        if not chunk:
            raise AgentError(f"the capture agent ({self.process.args!r:.80}) ended")
        self.pending += chunk
        frames = []
        for kind, name, payload in messages(self.pending):
            if kind == OPENED:
                self.opening.discard(name)
            elif kind == FAILED:
                raise AgentError(f"the capture agent cannot open {payload.decode()}")
            else:
                frames.append((name, payload, kind))
        return frames

    def close(self) -> None:
        self.input.close()
        try:
            self.process.wait(timeout=READY_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
