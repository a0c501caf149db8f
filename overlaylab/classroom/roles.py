"""The parts the narrated demo shows its points with, found in whatever scenario it runs (pure): the
lecture's own has them all, another has them or is refused in one line that names what it lacks."""
from __future__ import annotations

from dataclasses import dataclass

from topologies.fattree import Server
from topologies.scenario import VM, Scenario, ScenarioError


@dataclass(frozen=True)
class Roles:
    """Two tenants' VMs with one address on one server (`twins`: multi-tenancy), the first with a peer of
    its tenant in its rack (`rack`), the second with one in another pod (`across`: the core, ECMP), and a
    server in another pod to move the first twin to and back (`away`)."""

    twins: tuple[VM, VM]
    rack: tuple[VM, VM]
    across: tuple[VM, VM]
    away: Server

    @property
    def servers(self) -> tuple[Server, Server, Server]:
        """The twins' server, its rack peer's and the far peer's: the physical step's three."""
        return self.twins[0].server, self.rack[1].server, self.across[1].server


def roles_of(scenario: Scenario) -> Roles:
    """The demo's roles in `scenario`, or one line saying which it lacks and what would give it."""
    vms = [vm for vm in scenario.vms if not vm.bare_metal and vm.ip]  # the demo speaks IPv4
    for first, second in ((a, b) for a in vms for b in vms if _twins(a, b)):
        near = next((p for p in _peers(vms, first) if p.server.rack == first.server.rack), None)
        far = next((p for p in _peers(vms, second) if p.server.pod != second.server.pod), None)
        if near and far:
            return Roles((first, second), (first, near), (second, far), _away(scenario, first))
    raise ScenarioError(f"{scenario.source}: the demo needs two tenants' VMs with one address on one server, "
                        f"the first with a peer of its tenant in its rack, the second with one in another "
                        f"pod (as in lecture.yaml); this scenario has no such VMs")


def _away(scenario: Scenario, vm: VM) -> Server:
    """The farthest server from the VM's, in another pod, with no VM of its own if there is one."""
    hosting = {member.server for member in scenario.vms}
    others = [s for s in reversed(scenario.fabric.servers) if s.pod != vm.server.pod]
    return next((s for s in others if s not in hosting), others[0])


def _twins(a: VM, b: VM) -> bool:
    return a.tenant != b.tenant and a.v4.ip == b.v4.ip and a.server == b.server


def _peers(vms: list[VM], vm: VM) -> list[VM]:
    """The VMs of its tenant on other servers."""
    return [p for p in vms if p.tenant == vm.tenant and p.server != vm.server]
