"""The management network: how each server's virtual switch, and each home of underlay switches, reaches
the lab's controller.

It is a namespace of the lab's own, held by a sleeping process that carries the lab's mark: a Linux bridge
there, one veth from it to each virtualized server and each switch home, and one veth to the machine's
namespace (`ol<slot>mgmt`, the lab's only interface there), which holds the controller's address and
forwards nothing. So one lab's links come and go without the others' Open vSwitch daemons hearing of it
(each ovs-vswitchd follows the links of every namespace its own has a veth into: with the bridge in the
machine's namespace, 150 veths made and deleted there cost an idle k=8 lab's daemons 10.9 CPU-seconds),
and a frame sent into one lab's management network never reaches another's.
"""
from __future__ import annotations

import os
import signal
import subprocess
from contextlib import suppress
from typing import Any

from overlaylab.errors import LabError
from overlaylab.runtime import links, stitch
from overlaylab.runtime.identity import LabId
from overlaylab.runtime.remote import machine_of
from overlaylab.system import cmdline, pid_alive, silence_ipv6, wait_until
from probes.netns import entered, namespace_id
from topologies.names import MGMT_BRIDGE, MGMT_SERVER_SIDE, MGMT_UPLINK
from vswitch.nodes import MARK, die_with_parent

NO_IPV6 = ("/proc/sys/net/ipv6/conf/all/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6")


def _pidfile(lab: LabId) -> str:
    return str(lab.rundir / "mgmt.pid")


def holder(lab: LabId) -> int:
    """The process that holds the lab's management namespace."""
    try:
        with open(_pidfile(lab)) as f:
            return int(f.read())
    except (OSError, ValueError):
        raise LabError(f"lab {lab.name} has no management network (no {_pidfile(lab)})") from None


def create(lab: LabId) -> None:
    """The namespace, its bridge, and the controller's end in the machine's namespace."""
    proc = subprocess.Popen(["mnexec", "-cn", "sleep", "infinity"], env={**os.environ, MARK: lab.name},
                            stdin=subprocess.DEVNULL, preexec_fn=die_with_parent, start_new_session=True)
    with open(_pidfile(lab), "w") as f:
        f.write(str(proc.pid))
    ours = namespace_id(os.getpid())
    wait_until(lambda: namespace_id(proc.pid) not in (ours, None), 10, "the management namespace")
    with entered(proc.pid):
        for path in NO_IPV6:
            with open(path, "w") as knob:
                knob.write("1")
    links.create_bridge(proc.pid, MGMT_BRIDGE)
    links.uplink(proc.pid, lab.mgmt_end, lab.link_group, MGMT_UPLINK, MGMT_BRIDGE)
    silence_ipv6([lab.mgmt_end])
    with open(f"/proc/sys/net/ipv4/conf/{lab.mgmt_end}/forwarding", "w") as knob:
        knob.write("0")
    links.address_up(lab.mgmt_end, lab.controller)


def attach(lab: LabId, ends: dict[str, Any]) -> None:
    """Cable each server (or switch home) to the bridge: {end in the management namespace: its node}; the far
    end is mgmt0: a veth's end on this machine, a stitch's on another (overlaylab.runtime.stitch)."""
    here = {end: node.pid for end, node in ends.items() if machine_of(node) is None}
    if here:
        links.cable(holder(lab), here, MGMT_SERVER_SIDE, MGMT_BRIDGE)
    far = {end: node for end, node in ends.items() if end not in here}
    if far:
        stitch.management(lab, holder(lab), far, MGMT_BRIDGE, MGMT_SERVER_SIDE)


def stop(lab: LabId) -> None:
    """End the holder: its namespace goes, and with it every management veth of the lab."""
    with suppress(LabError, ProcessLookupError):
        pid = holder(lab)
        if "infinity" in cmdline(pid):
            os.kill(pid, signal.SIGKILL)  # and gone before the sweep looks for the lab's processes
            wait_until(lambda: not pid_alive(pid), 10, f"the management namespace's holder ({pid}) to exit")
