"""Where each part of a lab runs when it spreads over machines (`--hosts A,B,...`, issue 21): a pod whole
on one machine (its switches, servers and VMs, so that every cable inside it stays a veth, and a pod is
what a machine's failure takes, as a datacenter loses a pod with its power), the core switches spread over
the machines in even blocks as the pods are (those of one machine share an Open vSwitch there, as a pod's
switches do), and each cable whose ends land on two machines stitched (only aggregation-to-core cables can:
about (M-1)/M of them). Pure: the plan, its stitches and their MTU, before anything is built."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from topologies.fattree import CORE, FatTree, Link

STITCH_OVERHEAD = 50  # a stitch's outer Ethernet, IPv4, UDP and VXLAN headers
FABRIC_MTU = 1500  # what an underlay cable carries: a tenant's 1450-byte frame in its VXLAN or GENEVE


class PlacementError(ValueError):
    """A set of machines the lab cannot be placed on, with the one-line reason and fix."""


@dataclass(frozen=True)
class Placement:
    """Each pod's machine, and each core switch's."""

    hosts: tuple[str, ...]
    pods: tuple[str, ...]  # pods[p]: the machine of pod p
    cores: dict[str, str]  # core switch name -> machine

    def machine_of(self, fabric: FatTree, node: str) -> str:
        """The machine of a switch or server (by name); a VM's is its server's."""
        switch = fabric.switch(node)
        if switch is not None:
            return self.cores[node] if switch.role == CORE else self.pods[switch.pod or 0]
        return self.pods[fabric.server_named(node).pod]

    def stitched(self, fabric: FatTree) -> list[Link]:
        """The cables between two machines."""
        return [link for link in fabric.links
                if self.machine_of(fabric, link.a) != self.machine_of(fabric, link.b)]

    def pods_of(self, host: str) -> list[int]:
        return [pod for pod, machine in enumerate(self.pods) if machine == host]

    def core_machines(self) -> list[str]:
        """The machines that hold core switches, in the order given."""
        return [host for host in self.hosts if host in self.cores.values()]


def place(fabric: FatTree, hosts: Sequence[str]) -> Placement:
    """Pods in contiguous blocks, as even as they go (sizes differ by one at most, the first machines take the
    extra ones); the core switches likewise."""
    if not hosts:
        raise PlacementError("no machines given; write --hosts A,B,... (two or more addresses or names)")
    twice = next((h for i, h in enumerate(hosts) if h in hosts[:i]), None)
    if twice is not None:
        raise PlacementError(f"{twice} is given twice in --hosts; name each machine once")
    if len(hosts) > fabric.k:
        raise PlacementError(f"{len(hosts)} machines for a k={fabric.k} fat-tree, which has {fabric.k} pods: a pod "
                             f"stays on one machine, so give at most {fabric.k} (or a larger k)")
    pods = _blocks(fabric.k, hosts)
    cores = dict(zip((core.name for core in fabric.cores), _blocks(len(fabric.cores), hosts), strict=True))
    return Placement(tuple(hosts), tuple(pods), cores)


def _blocks(count: int, hosts: Sequence[str]) -> list[str]:
    """`count` things over the machines in contiguous blocks, sizes differing by one at most (the first machines
    take the extra ones): the i-th thing's machine."""
    size, extra = divmod(count, len(hosts))
    return [host for i, host in enumerate(hosts) for _ in range(size + (i < extra))]


def machine_mtu() -> int:
    """What the network between the machines must carry for a stitched cable to carry a full fabric frame."""
    return FABRIC_MTU + STITCH_OVERHEAD
