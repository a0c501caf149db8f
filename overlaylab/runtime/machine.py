"""The machine's labs, as an instructor manages them: list them, stop one, clean up after crashed ones.
A lab belongs to whoever started it: only they (or root itself, not through sudo) may stop it."""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

from overlaylab.errors import LabError
from overlaylab.runtime import clean, registry
from overlaylab.runtime.clean import Swept
from overlaylab.runtime.registry import Listed
from overlaylab.runtime.remote import sweep
from overlaylab.system import pid_alive, wait_until

DOWN_TIMEOUT = 60.0  # seconds a lab may take to tear itself down before it is killed and cleaned


@dataclass(frozen=True)
class Row:
    """One line of `overlaylab ls`."""

    name: str
    owner: str
    scenario: str
    k: int
    vms: int
    age_s: float
    memory_mib: float
    state: str  # running (its process holds its lock) | stale (its process is gone)


def rows(now: float | None = None) -> list[Row]:
    """Every lab on the machine, with what it holds now."""
    now = time.time() if now is None else now
    held = registry.marked()
    return [_row(listed, now, held.get(listed.name, [])) for listed in registry.labs()]


def _row(listed: Listed, now: float, processes: list[int]) -> Row:
    state, s = "running" if listed.running else "stale", listed.state
    if s is None:  # claimed an instant ago, or dead before it wrote anything down
        return Row(listed.name, "?", "?", 0, 0, 0.0, 0.0, state)
    memory = registry.memory_mib([*processes, s.pid]) if listed.running else 0.0
    return Row(listed.name, s.owner, os.path.basename(s.scenario), s.k, s.vms, now - s.started, memory, state)


def _may_manage(listed: Listed, requester: str | None) -> None:
    """Refuse anyone but the lab's owner (root, not through sudo, may manage every lab)."""
    owner = listed.state.owner if listed.state else None
    if requester and owner and requester != owner:
        raise LabError(f"lab {listed.name} belongs to {owner}: only {owner} (or root) can stop or clean it")


def down(name: str, requester: str | None, timeout: float = DOWN_TIMEOUT) -> Swept:
    """Stop a running lab: its process tears it down (SIGTERM, as Ctrl-C would); one that does not within
    `timeout` is killed and its leftovers cleaned. Returns what had to be cleaned after it."""
    listed = registry.find(name)
    _may_manage(listed, requester)
    if not listed.running or listed.state is None:
        raise LabError(f"lab {name} is not running (it is stale): remove what it left with "
                       f"`sudo overlaylab clean {name}`")
    pid = listed.state.pid
    if pid == os.getpid():
        raise LabError(f"lab {name} runs in this very process: stop it there (leave its block, or stop())")
    os.kill(pid, signal.SIGTERM)
    try:
        wait_until(lambda: not listed.rundir.exists() or not pid_alive(pid), timeout, f"lab {name} to tear down")
    except LabError:
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not pid_alive(pid), 10, f"the process of lab {name} to die")
    return clean_one(name, requester) if listed.rundir.exists() else Swept()


def clean_one(name: str, requester: str | None) -> Swept:
    """Remove what a stale lab left behind; a running lab is refused, never touched."""
    listed = registry.find(name)
    _may_manage(listed, requester)
    lock = registry.stale_lock(listed)
    if lock is None:
        raise LabError(f"lab {name} is running: stop it with `sudo overlaylab down {name}` (clean only "
                       f"removes what crashed labs left)")
    try:
        return _sweep(listed)
    finally:
        lock.release()


def clean_stale() -> dict[str, Swept]:
    """Every stale lab's leftovers, by lab; running labs are skipped (their lock is held)."""
    swept = {}
    for listed in registry.labs():
        lock = registry.stale_lock(listed)
        if lock is not None:
            try:
                swept[listed.name] = _sweep(listed)
            finally:
                lock.release()
    return swept


def _sweep(listed: Listed) -> Swept:
    lab = registry.slot_of(listed)
    swept = clean.sweep(lab) if lab else Swept()
    for host in listed.state.hosts if listed.state else ():  # the machines it spread over
        swept.processes += sweep(host, listed.name, [])
    clean.remove(listed.rundir)
    return swept
