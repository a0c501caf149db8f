"""A lab's private Open vSwitch daemons (each virtualized server's, each switch home's): found by their
pidfiles in the lab's run directory, checked against /proc, and stopped together."""
from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

from overlaylab.errors import LabError
from overlaylab.runtime.identity import LabId
from overlaylab.system import cmdline, pid_alive, wait_until

INSTANCE_DIRS = ("servers", "switches")  # under the lab's run directory


def daemon_pids(lab: LabId) -> dict[int, Path]:
    """Every private ovsdb-server and ovs-vswitchd of the lab still running, by pid, with its directory."""
    found = {}
    for pidfile in (p for folder in INSTANCE_DIRS for p in (lab.rundir / folder).glob("*/*.pid")):
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            continue
        if pid_alive(pid) and any(str(pidfile.parent) in arg for arg in cmdline(pid)):
            found[pid] = pidfile.parent
    return found


def stop_all(lab: LabId, timeout: float = 10) -> int:
    """Stop every private OVS daemon of the lab and remove their directories; returns how many there were."""
    daemons = daemon_pids(lab)
    for pid in daemons:
        os.kill(pid, signal.SIGTERM)
    try:
        wait_until(lambda: not any(pid_alive(p) for p in daemons), timeout, "the lab's OVS daemons to exit")
    except LabError:
        for pid in daemons:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
    for folder in INSTANCE_DIRS:
        shutil.rmtree(lab.rundir / folder, ignore_errors=True)
    return len(daemons)
