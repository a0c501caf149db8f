"""Where the underlay switches live: each pod's edge and aggregation switches in an Open vSwitch of their
own, in a network namespace of their own, and the core switches likewise in one more. Nothing of a lab is
in the machine's own Open vSwitch, so labs side by side never share one.

One userspace ovs-vswitchd forwards for all its bridges on one thread, and every pass of its loop
polls every port it has: with the whole k=8 underlay (640 ports) in one ovs-vswitchd, TCP across pods
got 85 Mbit/s, against 449 at k=2 (BENCHMARKS.md). Split by pod, an instance holds k*k ports, and the
instances share the machine's cores. Two userspace datapaths cannot share a namespace (each owns a tap
device named `ovs-netdev`), so a home is a namespace, held by a node named pod<p> (or core), where its
switches' shells, ports and daemons live and from where a management link reaches the controller. A pod
is also what a datacenter loses together when its power fails.
"""
from __future__ import annotations

from dataclasses import dataclass

from mininet.net import Mininet

from overlaylab.runtime import mgmt
from overlaylab.runtime.identity import LabId
from overlaylab.runtime.vswitches import run_guarded
from topologies.fattree import FatTree, Switch
from topologies.names import MGMT_SERVER_SIDE, mgmt_home_end
from topologies.placement import Placement
from vswitch.nodes import Wired
from vswitch.ovs import OvsInstance, ip_batch, management_lines


class Pod(Wired):
    """The namespace of one home of switches: no address on the fabric, only the management link."""

    def defaultIntf(self) -> None:
        """None, without Mininet's warning: a pod has no data interface of its own."""
        return None


@dataclass(frozen=True)
class Home:
    """One Open vSwitch of underlay switches: pod p's (index p) or the core's (index k)."""

    index: int
    node: str  # the Mininet node whose namespace it lives in

    def instance(self, lab: LabId) -> OvsInstance:
        return OvsInstance(lab.rundir / "switches" / self.node)


def homes(fabric: FatTree, placement: Placement | None = None) -> list[Home]:
    """Each pod's Open vSwitch, then the core's: one (`core`), or one per machine that holds core switches in a
    lab over several (`core0`, `core1`, ...)."""
    cores = [Home(fabric.k + i, f"core{i}") for i in range(len(_core_machines(placement)))] or [Home(fabric.k, "core")]
    return [*(Home(p, f"pod{p}") for p in range(fabric.k)), *cores]


def home(fabric: FatTree, switch: Switch, placement: Placement | None = None) -> Home:
    """The Open vSwitch that holds this switch: its pod's, or its machine's core one."""
    if switch.pod is not None:
        return homes(fabric, placement)[switch.pod]
    machines = _core_machines(placement)
    group = machines.index(placement.cores[switch.name]) if placement is not None and machines else 0
    return homes(fabric, placement)[fabric.k + group]


def _core_machines(placement: Placement | None) -> list[str]:
    """The machines whose core switches have a home of their own there (none: the one core home holds them all)."""
    machines = placement.core_machines() if placement is not None else []
    return machines if len(machines) > 1 else []


def start(lab: LabId, net: Mininet, fabric: FatTree, placement: Placement | None = None) -> None:
    """Cable every home to the management network, then start every home's Open vSwitch at once."""
    every = homes(fabric, placement)
    mgmt.attach(lab, {mgmt_home_end(h.index): net[h.node] for h in every})
    run_guarded(net, {h.node: (_script(lab, h), h.instance(lab)) for h in every})


def _script(lab: LabId, home: Home) -> str:
    ovs = home.instance(lab)
    return ovs.guarded([ip_batch(management_lines(lab.home_address(home.index), MGMT_SERVER_SIDE)), *ovs.start_steps()])
