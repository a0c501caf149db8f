"""Small side-effect helpers: running commands, waiting on conditions, tying children to our life."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TypeVar

from overlaylab.errors import LabError
from probes.netns import namespace_id

T = TypeVar("T")
# Ctrl-C, as the CLI's handler records it: a KeyboardInterrupt raised while the interpreter runs a fork callback
# is lost ("Exception ignored in: _releaseLock", seen once while Mininet started its nodes), so the lab's
# phases also look here when they end (overlaylab.runtime.phases).
interrupted = threading.Event()


def interrupt(_signum: int, _frame: object) -> None:
    """SIGINT: remembered, and raised as Python's own handler does."""
    interrupted.set()
    raise KeyboardInterrupt


def columns(out: IO[str]) -> int | None:
    """The width of the terminal `out` writes to; None when it writes to a file or a pipe (lines stay whole
    there, for grep)."""
    return shutil.get_terminal_size().columns - 1 if out.isatty() else None


def wrapped(line: str, width: int | None, indent: str = "    ") -> str:
    """A long line as several, none wider than `width` (the next ones indented), so that it reads well on an
    80-column terminal; the line as it is when there is no width."""
    return textwrap.fill(line, width, subsequent_indent=indent, break_on_hyphens=False) if width else line


class Stopwatch:
    """Seconds spent per named phase (the report's `timings`)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def timed(self, key: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.timings[key] = round(self.timings.get(key, 0) + time.monotonic() - start, 3)


def run(*cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output; a failure becomes a LabError quoting its stderr. Its stdin is empty:
    with the lab CLI's script piped in, an ssh would otherwise read the script's next lines."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise LabError(f"{cmd[0]} is not installed: run `sudo make install`") from None
    except subprocess.TimeoutExpired:
        raise LabError(f"`{' '.join(cmd)}` did not finish in {timeout:.0f} s") from None
    if check and done.returncode != 0:
        raise LabError(f"`{' '.join(cmd)}` failed: {done.stderr.strip() or done.stdout.strip()}")
    return done


def wait_until(condition: Callable[[], T], timeout: float, what: str,
               detail: Callable[[], str] | None = None) -> T:
    """Poll `condition` until it returns something truthy; on timeout say what we waited for and why."""
    deadline = time.monotonic() + timeout
    pause = 0.01
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            why = f": {detail()}" if detail else ""
            raise LabError(f"timed out after {timeout:.0f} s waiting for {what}{why}")
        time.sleep(pause)  # a poll interval between checks of the condition, not a wait for it
        pause = min(pause * 2, 0.2)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now, for the lab's controller."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def pid_alive(pid: int) -> bool:
    """Is the process running? A zombie (exited, not yet reaped: PID 1 here may never reap) is not."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def cmdline(pid: int) -> list[str]:
    """A process's argv, or [] if it is gone: how `clean` makes sure a recorded pid is still ours."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def processes_in(namespaces: set[str]) -> list[int]:
    """Every process living in one of these network namespaces (identities as `namespace_id` gives)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and namespace_id(int(entry)) in namespaces:
            found.append(int(entry))
    return found


def _proc_field(path: str, name: str) -> float:
    """A `Name:   N kB` field of a /proc file, in MiB (0 if the process is gone)."""
    try:
        with open(path) as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith(name))
    except (OSError, StopIteration):
        return 0.0
    return kib / 1024


def rss_mib(pid: int) -> float:
    """Resident memory of a process, in MiB."""
    return _proc_field(f"/proc/{pid}/status", "VmRSS:")


def pss_mib(pid: int) -> float:
    """A process's proportional share of memory, in MiB: shared pages count once over all the
    processes that share them, so a sum over hundreds of shells is not inflated."""
    return _proc_field(f"/proc/{pid}/smaps_rollup", "Pss:")


def silence_ipv6(interfaces: list[str]) -> None:
    """No router solicitations or MLD reports from the root namespace's ends of the lab's links."""
    for name in interfaces:
        with open(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "w") as knob:
            knob.write("1")
