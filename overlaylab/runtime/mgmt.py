"""The management network: how each server's virtual switch, and each home of underlay switches, reaches
the lab's controller.

The only thing a lab puts in the machine's namespace: a Linux bridge holding the controller's address, and
one veth per virtualized server and per switch home, all named, numbered and grouped after the lab
(overlaylab.runtime.identity). The bridge forwards nothing: a frame sent into one lab's management network
never reaches another lab's, even where the machine routes.
"""
from __future__ import annotations

from overlaylab.runtime import links
from overlaylab.runtime.identity import LabId
from overlaylab.system import silence_ipv6
from topologies.names import MGMT_SERVER_SIDE


def create(lab: LabId) -> None:
    links.create_bridge(lab.mgmt_bridge, lab.controller, lab.link_group)
    silence_ipv6([lab.mgmt_bridge])
    with open(f"/proc/sys/net/ipv4/conf/{lab.mgmt_bridge}/forwarding", "w") as knob:
        knob.write("0")


def exists(lab: LabId) -> bool:
    return links.exists(lab.mgmt_bridge)


def attach(lab: LabId, ends: dict[str, int]) -> None:
    """Cable each server (or switch home) to the bridge: {root end: a shell pid in its namespace}; the far
    end is mgmt0."""
    links.cable(ends, MGMT_SERVER_SIDE, lab.mgmt_bridge, lab.link_group)
    silence_ipv6(list(ends))
