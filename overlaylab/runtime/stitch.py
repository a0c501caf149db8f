"""The management network across machines (`--hosts`): a node on another machine reaches the lab's controller
over a stitch of its own, a VXLAN device in the lab's management namespace here, on its bridge, and one in the
node's namespace there, named as a veth's end would be; one ssh command per machine makes that machine's ends."""
from __future__ import annotations

import socket
from collections import defaultdict
from typing import Any

from overlaylab.runtime import links
from overlaylab.runtime.identity import LabId
from overlaylab.runtime.remote import STITCH_PORT, run_on, stitch_end
from overlaylab.system import run
from topologies.names import mgmt_end_number

MGMT_STITCHES = 4096  # the lab's stitch VNIs from here are its management cables; the fabric's come first


def local_address(host: str) -> str:
    """This machine's address towards a machine: the source the kernel picks to reach it."""
    words = run("ip", "-o", "route", "get", socket.gethostbyname(host)).stdout.split()
    return words[words.index("src") + 1]


def vni(lab: LabId, end: str) -> int:
    """The VNI of a management end's stitch."""
    return lab.stitch_vni(MGMT_STITCHES + mgmt_end_number(end))


def management(lab: LabId, holder: int, ends: dict[str, Any], bridge: str, far_name: str) -> None:
    """Cable each far node ({end in the management namespace: the node}) to `bridge`, as `far_name` there."""
    by_machine: dict[str, dict[str, Any]] = defaultdict(dict)
    for end, node in ends.items():
        by_machine[node.serverIP][end] = node
    for host, group in by_machine.items():
        here = local_address(host)
        for end in group:
            links.stitch(holder, f"{lab.tag}{end}", {"vxlan_id": vni(lab, end), "vxlan_local": here,
                                                     "vxlan_group": host, "vxlan_port": STITCH_PORT,
                                                     "vxlan_learning": 0}, lab.link_group, end, bridge)
        run_on(host, " && ".join(stitch_end(vni(lab, end), host, here, node.pid, far_name)
                                 for end, node in group.items()))
