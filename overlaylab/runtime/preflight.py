"""Refuse early, clearly and before touching anything: not root, OVS down, tools missing, leftovers."""
from __future__ import annotations

import os
import shutil

from overlaylab.errors import LabError
from overlaylab.runtime import mgmt
from overlaylab.runtime.daemons import daemon_pids
from overlaylab.runtime.state import BRIDGE_MARK
from overlaylab.system import run
from topologies.names import MGMT_BRIDGE

OVS_CTL = "/usr/share/openvswitch/scripts/ovs-ctl"
TOOLS = ("mnexec", "ovs-vsctl", "ovs-ofctl", "ethtool", "ip")


def require_root(command: str) -> None:
    if os.geteuid() != 0:
        raise LabError(f"`overlaylab {command}` builds namespaces and OVS bridges, so it must run as root: "
                       f"try `sudo .venv/bin/overlaylab {command}`")


def require_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        raise LabError(f"missing {', '.join(missing)}: run `sudo make install` (scripts/install.sh)")


def require_ovs() -> None:
    if run("ovs-vsctl", "--timeout=3", "show", check=False).returncode != 0:
        raise LabError(f"Open vSwitch is not running: start it with `sudo {OVS_CTL} start` "
                       f"(or `sudo make install`)")


def existing_bridges() -> dict[str, str]:
    """Every bridge in the root OVS, with the lab's mark on it ('' for bridges that are not ours)."""
    out = run("ovs-vsctl", "--timeout=5", "--format=csv", "--data=bare", "--no-headings",
              "--columns=name,external_ids", "list", "Bridge").stdout
    bridges = {}
    for line in out.splitlines():
        name, _, ids = line.partition(",")
        bridges[name] = "ours" if f"{BRIDGE_MARK}=" in ids else ""
    return bridges


def require_no_leftovers(bridges: list[str]) -> None:
    """A bridge with one of our names would be replaced by Mininet: refuse instead."""
    if daemon_pids():
        raise LabError(f"Open vSwitch daemons of an earlier lab are still running ({len(daemon_pids())} of them): "
                       f"run `sudo .venv/bin/overlaylab clean`")
    if mgmt.exists():
        raise LabError(f"the management bridge {MGMT_BRIDGE} was left by an earlier lab: "
                       f"run `sudo .venv/bin/overlaylab clean`")
    present = existing_bridges()
    clashes = [b for b in bridges if b in present]
    if not clashes:
        return
    name = clashes[0]
    if present[name]:
        raise LabError(f"bridge {name} (and {len(clashes) - 1} more) was left by an earlier lab: "
                       f"run `sudo .venv/bin/overlaylab clean`")
    raise LabError(f"a bridge named {name} already exists and is not the lab's: "
                   f"remove or rename it (`ovs-vsctl del-br {name}`) before starting a lab")


def preflight(command: str, bridges: list[str]) -> None:
    require_root(command)
    require_tools()
    require_ovs()
    require_no_leftovers(bridges)
