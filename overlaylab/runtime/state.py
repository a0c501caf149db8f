"""What a running lab owns, written down so one lab runs at a time and `clean` can undo a crashed one."""
from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

from overlaylab.errors import LabError

RUN_DIR = Path(os.environ.get("OVERLAYLAB_RUN_DIR", "/run/overlaylab"))
LOCK_FILE = RUN_DIR / "lock"
STATE_FILE = RUN_DIR / "state.json"
SERVERS_DIR = RUN_DIR / "servers"  # each virtualized server's own Open vSwitch
PODS_DIR = RUN_DIR / "pods"  # each pod's Open vSwitch, holding its edge and aggregation switches
BRIDGE_MARK = "overlaylab"  # external_ids key on every bridge the lab creates
LINK_GROUP = 0x0A1B  # Linux interface group of every switch port the lab creates in the root namespace


@dataclass
class LabState:
    """The lab's processes and names; saved whenever it changes."""

    pid: int
    scenario: str = ""
    controller_pid: int | None = None
    nodes: list[str] = field(default_factory=list)
    node_pids: dict[str, int] = field(default_factory=dict)
    namespaces: list[str] = field(default_factory=list)

    def save(self) -> None:
        tmp = STATE_FILE.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        tmp.replace(STATE_FILE)


def load_state() -> LabState | None:
    try:
        return LabState(**json.loads(STATE_FILE.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def forget_state() -> None:
    STATE_FILE.unlink(missing_ok=True)


class LabLock:
    """An flock on /run/overlaylab/lock: held while a lab lives, released by the kernel if it dies."""

    def __init__(self) -> None:
        self.file: IO[str] | None = None

    def acquire(self) -> None:
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        f = open(LOCK_FILE, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            f.close()
            raise LabError(f"a lab is already running (pid {holder}): leave its CLI or stop that process "
                           f"first; only one lab runs at a time") from None
        f.truncate(0)
        f.write(str(os.getpid()))
        f.flush()
        self.file = f

    def release(self) -> None:
        if self.file:
            self.file.close()
            self.file = None
