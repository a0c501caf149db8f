"""Remove what one lab left behind, and only that: processes that carry its mark, its private Open vSwitch
daemons, its interfaces in the machine's namespace (its group, its names), its run directory."""
from __future__ import annotations

import os
import shutil
import signal
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from overlaylab.runtime import daemons, links, registry
from overlaylab.runtime.identity import LabId
from overlaylab.system import pid_alive, wait_until


@dataclass
class Swept:
    processes: int = 0
    interfaces: int = 0

    def __bool__(self) -> bool:
        return bool(self.processes or self.interfaces)

    def __str__(self) -> str:
        return f"{self.processes} processes, {self.interfaces} interfaces"


def kill_marked(lab: LabId) -> int:
    """SIGKILL every process carrying the lab's mark (never this one), and wait until they are gone. The
    mark is an environment variable, which a lab's namespace ids are not: a dead lab's ids may already
    belong to a live lab's namespaces."""
    doomed = [pid for pid in registry.processes(lab.name) if pid != os.getpid()]
    for pid in doomed:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not any(pid_alive(pid) for pid in doomed), 10, f"the processes of lab {lab.name} to exit")
    return len(doomed)


def sweep(lab: LabId) -> Swept:
    """Stop the lab's daemons and processes, then delete its interfaces; its run directory stays (the
    caller holds the lock in it)."""
    swept = Swept(processes=daemons.stop_all(lab))
    swept.processes += kill_marked(lab)
    swept.interfaces = links.delete_group(lab.link_group) + links.delete_matching(lab.interfaces)
    return swept


def remove(rundir: Path) -> None:
    """A lab's run directory, last of all: its folder gone, its name and slot are free again. Renamed away
    first, in one step, so that nothing another lab does meanwhile (`ls`, a claim looking at every lab) can
    find it half removed or put a file back into it."""
    doomed = rundir.with_name(f".{rundir.name}.removed-{os.getpid()}")
    with suppress(FileNotFoundError):
        os.rename(rundir, doomed)
    shutil.rmtree(doomed, ignore_errors=True)
