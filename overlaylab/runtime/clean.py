"""Remove what a lab left behind, and only that: its own bridges, interfaces and processes."""
from __future__ import annotations

import os
import re
import signal
from dataclasses import dataclass

from overlaylab.runtime import daemons, links
from overlaylab.runtime.network import kill_namespace_processes
from overlaylab.runtime.preflight import existing_bridges
from overlaylab.runtime.state import LabState
from overlaylab.system import cmdline, pid_alive, run
from topologies.names import MGMT_BRIDGE


@dataclass
class Swept:
    processes: int = 0
    bridges: int = 0
    interfaces: int = 0

    def __bool__(self) -> bool:
        return bool(self.processes or self.bridges or self.interfaces)

    def __str__(self) -> str:
        return (f"{self.processes} processes, {self.bridges} OVS bridges, "
                f"{self.interfaces} interfaces")


def _ours(pid: int, name: str) -> bool:
    """Is this recorded pid still the process we started (a node shell or the controller)?"""
    argv = cmdline(pid)
    return f"mininet:{name}" in argv or (name == "controller" and "controller.launcher" in argv)


def kill_processes(state: LabState) -> int:
    pids = dict(state.node_pids)
    if state.controller_pid:
        pids["controller"] = state.controller_pid
    killed = 0
    for name, pid in pids.items():
        if pid != os.getpid() and pid_alive(pid) and _ours(pid, name):
            os.kill(pid, signal.SIGKILL)
            killed += 1
    return killed


def delete_bridges() -> int:
    ours = [name for name, mark in existing_bridges().items() if mark]
    if ours:
        run("ovs-vsctl", "--timeout=10", *[a for b in ours for a in ("--", "--if-exists", "del-br", b)])
    return len(ours)


def delete_interfaces(nodes: list[str]) -> int:
    """Root-namespace interfaces named after our nodes (`p0e0-eth1`), or our management bridge."""
    return links.delete_matching(re.compile(rf"({'|'.join(map(re.escape, nodes))})(-eth\d+)?")) if nodes else 0


def sweep(state: LabState | None) -> Swept:
    """Kill recorded processes, then delete the lab's bridges and interfaces."""
    swept = Swept(processes=daemons.stop_all())
    if state:
        swept.processes += kill_processes(state)
        swept.processes += kill_namespace_processes(set(state.namespaces))
    swept.interfaces = links.delete_group()
    swept.bridges = delete_bridges()
    swept.interfaces += delete_interfaces([*(state.nodes if state else []), MGMT_BRIDGE])
    return swept
