"""Refuse early, clearly and before touching anything: not root, tools missing, Open vSwitch not running."""
from __future__ import annotations

import os
import shutil

from overlaylab.errors import LabError
from overlaylab.system import run

OVS_CTL = "/usr/share/openvswitch/scripts/ovs-ctl"
TOOLS = ("mnexec", "ovs-vsctl", "ovs-ofctl", "ovsdb-server", "ovs-vswitchd", "ethtool", "ip", "setpriv")


def require_root(command: str) -> None:
    if os.geteuid() != 0:
        raise LabError(f"`overlaylab {command}` builds namespaces and OVS bridges, so it must run as root: "
                       f"try `sudo .venv/bin/overlaylab {command}`")


def require_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        raise LabError(f"missing {', '.join(missing)}: run `sudo make install` (scripts/install.sh)")
    if "--pdeathsig" not in run("setpriv", "--help", check=False).stdout:
        raise LabError("this machine's setpriv cannot set a parent-death signal (util-linux before 2.33): the lab's "
                       "node shells would outlive a crashed lab; use Debian 10 or Ubuntu 20.04 or later")


def require_ovs() -> None:
    """Mininet asks the machine's Open vSwitch for its version before it makes a switch (the lab's own
    switches live in Open vSwitch instances of their own)."""
    if run("ovs-vsctl", "--timeout=3", "show", check=False).returncode != 0:
        raise LabError(f"Open vSwitch is not running: start it with `sudo {OVS_CTL} start` "
                       f"(or `sudo make install`)")


def preflight(command: str) -> None:
    require_root(command)
    require_tools()
    require_ovs()
