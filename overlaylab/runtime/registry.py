"""The machine's labs: each one a folder under /run/overlaylab/labs, named after the lab, holding its state
and its lock. A lab is running while its process holds the lock (the kernel drops it when that process
dies, however it dies), and stale when its folder outlived it. Slots are handed out under one short-held
lock, so two labs started at the same instant never get the same one."""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from overlaylab.errors import LabError
from overlaylab.runtime.identity import LABS_DIR, RUN_DIR, SLOTS, LabId
from overlaylab.runtime.state import LabState, load_state
from overlaylab.system import pss_mib
from vswitch.nodes import MARK

SLOT_FILE = "slot"


@contextmanager
def _registry() -> Iterator[None]:
    """The machine's labs, one process at a time (held for milliseconds, while a lab is claimed)."""
    LABS_DIR.mkdir(parents=True, exist_ok=True)
    for folder in (RUN_DIR, LABS_DIR):
        folder.chmod(0o755)  # owners read their lab's state and secret from here
    with open(RUN_DIR / "labs.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


class LabLock:
    """An flock on the lab's `lock` file: held while the lab lives, released by the kernel if it dies."""

    def __init__(self, rundir: Path) -> None:
        self.path = rundir / "lock"
        self.file: IO[str] | None = None

    def try_acquire(self, create: bool = False) -> bool:
        """Take the lock if nobody holds it. Only the lab's claim creates the file: another lab's probe that
        created it would put it back into a folder being removed (rmtree then leaves the folder behind, and
        the lab looks stale); a lock file that is not there is nobody's to take."""
        try:
            f = os.fdopen(os.open(self.path, os.O_RDWR | (os.O_CREAT if create else 0), 0o644), "r+")
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            return False
        self.file = f
        return True

    def release(self) -> None:
        if self.file:
            self.file.close()
            self.file = None


@dataclass(frozen=True)
class Listed:
    """A lab as `overlaylab ls` sees it: its folder, its state (None while it is being claimed)."""

    rundir: Path
    state: LabState | None
    running: bool

    @property
    def name(self) -> str:
        return self.rundir.name


def _is_running(rundir: Path) -> bool:
    """Its process holds its lock (a folder with no lock file is nobody's: stale)."""
    probe = LabLock(rundir)
    if not probe.path.exists() or probe.try_acquire():
        probe.release()
        return False
    return True


def _slot(rundir: Path) -> int | None:
    try:
        return int((rundir / SLOT_FILE).read_text())
    except (OSError, ValueError):
        return None


def labs() -> list[Listed]:
    """Every lab folder on the machine, by name."""
    if not LABS_DIR.is_dir():
        return []
    return [Listed(d, load_state(d), _is_running(d)) for d in sorted(LABS_DIR.iterdir())
            if d.is_dir() and not d.name.startswith(".")]  # `.NAME.removed-PID`: a lab being removed


def refusal(listed: Listed) -> str:
    """Why a lab of this name cannot start now, and what to do."""
    state = listed.state
    if listed.running:
        who = f" (pid {state.pid}, owner {state.owner})" if state else ""
        return (f"a lab named {listed.name} is already running{who}: pick another name with --name, or stop "
                f"it with `sudo overlaylab down {listed.name}`")
    return (f"a lab named {listed.name} was left behind by a process that is gone: remove it with "
            f"`sudo overlaylab clean {listed.name}`")


def claim(name: str) -> tuple[LabId, LabLock]:
    """A new lab's identity and its held lock; refused if a lab of that name exists or no slot is free."""
    with _registry():
        existing = {listed.name: listed for listed in labs()}
        if name in existing:
            raise LabError(refusal(existing[name]))
        taken = {_slot(listed.rundir) for listed in existing.values()}
        free = next((s for s in range(SLOTS) if s not in taken), None)
        if free is None:
            raise LabError(f"{SLOTS} labs already exist on this machine, the most it holds: "
                           f"`overlaylab ls` lists them, `overlaylab down NAME` stops one")
        lab = LabId(name, free)
        lab.rundir.mkdir(mode=0o755)
        (lab.rundir / SLOT_FILE).write_text(str(free))
        lock = LabLock(lab.rundir)
        lock.try_acquire(create=True)
        return lab, lock


def stale_lock(listed: Listed) -> LabLock | None:
    """The lock of a stale lab, now held by the caller (who may clean it); None if the lab is running. Taken
    under the registry's lock, so a lab being claimed (folder made, lock not yet taken) is never mistaken
    for a stale one."""
    with _registry():
        lock = LabLock(listed.rundir)
        return lock if listed.rundir.is_dir() and lock.try_acquire(create=True) else None


def find(name: str) -> Listed:
    """The lab of that name, or a LabError listing the labs there are."""
    for listed in labs():
        if listed.name == name:
            return listed
    there = ", ".join(listed.name for listed in labs()) or "none"
    raise LabError(f"there is no lab named {name} on this machine (labs: {there}; `overlaylab ls`)")


def slot_of(listed: Listed) -> LabId | None:
    """A listed lab's identity, from its state or, if it died before saving any, its slot file."""
    if listed.state:
        return listed.state.id
    slot = _slot(listed.rundir)
    return LabId(listed.name, slot) if slot is not None else None


def marked() -> dict[str, list[int]]:
    """Every process that carries a lab's mark in its environment (its shells, daemons, controller and
    whatever users started in its nodes), by lab name, in one pass over /proc: how `clean` finds a lab's
    processes without guessing by name, and `ls` and admission what each lab holds."""
    found: dict[str, list[int]] = {}
    prefix = f"{MARK}=".encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    mark = next((v for v in f.read().split(b"\0") if v.startswith(prefix)), None)
            except OSError:
                continue
            if mark is not None:
                found.setdefault(mark[len(prefix):].decode(errors="replace"), []).append(int(entry))
    return found


def processes(name: str) -> list[int]:
    """The processes that carry this lab's mark."""
    return marked().get(name, [])


def memory_mib(pids: Iterable[int]) -> float:
    """What these processes hold: their proportional share (PSS), so memory they share counts once."""
    return sum(pss_mib(p) for p in set(pids))
