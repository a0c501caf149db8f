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

from ipaddress import IPv4Interface
from typing import Any

from mininet.net import Mininet
from mininet.node import Host

from overlaylab import mgmt
from overlaylab.errors import LabError
from overlaylab.state import PODS_DIR
from topologies.fattree import FatTree, Switch
from vswitch.nodes import Orphanless
from vswitch.ovs import OvsInstance

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
    pids = {mgmt.pod_end(p): net[node(p)].pid for p in range(fabric.k)}
    mgmt.attach(pids)
    for p in range(fabric.k):
        net[node(p)].sendCmd(_script(p, mgmt.pod_address(p)))
    failed = [p for p in range(fabric.k) if "POD-OK" not in net[node(p)].waitOutput()]
    if failed:
        log = instance(failed[0]).rundir / "start.log"
        lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
        raise LabError(f"pod {failed[0]}'s Open vSwitch did not start ({len(failed)} failed): "
                       f"{lines[-1] if lines else 'no output'} (see {log})")


def _script(pod: int, address: IPv4Interface) -> str:
    ovs = instance(pod)
    steps = [f"ip addr add {address} dev {mgmt.SERVER_SIDE}", f"ip link set {mgmt.SERVER_SIDE} up",
             *ovs.start_steps()]
    return (f"mkdir -p {ovs.rundir} && ( set -e; {'; '.join(steps)} ) >{ovs.rundir}/start.log 2>&1 "
            f"&& echo POD-OK || echo POD-FAILED")
