"""Each pod's switches (its edge and aggregation switches) run in an Open vSwitch of their own, in a
network namespace of their own; the core switches stay in the machine's Open vSwitch.

One userspace ovs-vswitchd forwards for all its bridges on one thread, and every pass of its loop
polls every port it has: with the whole k=8 underlay (640 ports) in the machine's ovs-vswitchd, TCP
across pods got 85 Mbit/s, against 449 at k=2 (BENCHMARKS.md). Split by pod, an instance holds k*k
ports, and the instances share the machine's cores. A second userspace datapath cannot live in the
machine's namespace (each owns a tap device named `ovs-netdev`), so a pod is a namespace, held by a
node named pod<p>, where its switches' shells, ports and daemons live and from where a management
link reaches the controller. A pod is also what a datacenter loses together when its power fails.
"""
from __future__ import annotations

from typing import Any

from mininet.net import Mininet
from mininet.node import Host

from overlaylab.runtime import mgmt
from overlaylab.runtime.state import PODS_DIR
from overlaylab.runtime.vswitches import run_guarded
from topologies.fattree import FatTree, Switch
from topologies.names import MGMT_SERVER_SIDE
from vswitch.nodes import Orphanless
from vswitch.ovs import OvsInstance, management_steps

NO_IPV6 = "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1"


class Pod(Orphanless, Host):
    """The namespace of one pod: no address of its own on the fabric, only the management link."""

    def config(self, **params: Any) -> Any:
        result = super().config(**params)
        self.cmd(NO_IPV6)
        return result

    def defaultIntf(self) -> None:
        """None, without Mininet's warning: a pod has no data interface of its own."""
        return None


def node(pod: int) -> str:
    return f"pod{pod}"


def instance(pod: int) -> OvsInstance:
    return OvsInstance(PODS_DIR / f"p{pod}")


def home(switch: Switch) -> OvsInstance | None:
    """The Open vSwitch that holds this switch: its pod's, or None for the machine's (a core switch)."""
    return None if switch.pod is None else instance(switch.pod)


def start(net: Mininet, fabric: FatTree) -> None:
    """Cable every pod to the management network, then start every pod's Open vSwitch at once."""
    mgmt.attach({mgmt.pod_end(p): net[node(p)].pid for p in range(fabric.k)})
    run_guarded(net, {node(p): (_script(p), instance(p)) for p in range(fabric.k)})


def _script(pod: int) -> str:
    ovs = instance(pod)
    return ovs.guarded([*management_steps(mgmt.pod_address(pod), MGMT_SERVER_SIDE), *ovs.start_steps()])
