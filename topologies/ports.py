"""Which br-int port each VM has: a new lab's in scenario order, a running lab's kept while others come
and go, and checked when the controller is handed them."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from topologies.fattree import Server
from topologies.model import MAX_VMS_PER_SERVER, Checker, Scenario, Tenant
from topologies.quoting import quote


def first_ports(tenants: tuple[Tenant, ...]) -> dict[str, int]:
    """A new lab's port numbers: each server's VMs take br-int ports 1, 2, ... in scenario order."""
    taken: dict[Server, int] = {}
    ports = {}
    for vm in (vm for t in tenants for vm in t.vms if not vm.bare_metal):
        taken[vm.server] = ports[vm.label] = taken.get(vm.server, 0) + 1
    return ports


def rebound(tenants: tuple[Tenant, ...], ports: Mapping[str, int]) -> tuple[Tenant, ...]:
    return tuple(replace(t, vms=tuple(replace(vm, port=ports.get(vm.label, 0)) for vm in t.vms)) for t in tenants)


def bind(scenario: Scenario, ports: Mapping[str, int]) -> Scenario:
    """The scenario with its VMs on the given br-int ports (a running lab's: a VM keeps its port while
    others come and go). Every VM needs one, in 1..MAX_VMS_PER_SERVER and its own on its server."""
    check = Checker(scenario.source)
    used: dict[tuple[Server, int], str] = {}
    for vm in (vm for vm in scenario.vms if not vm.bare_metal):
        port = ports.get(vm.label)
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= MAX_VMS_PER_SERVER:
            raise check.fail(f"ports.{vm.label}", f"{quote(port)} is not a VM port; use 1..{MAX_VMS_PER_SERVER}")
        if (vm.server, port) in used:
            raise check.fail(f"ports.{vm.label}", f"port {port} of {vm.server.name} is already "
                                                  f"{used[(vm.server, port)]}'s; give each VM its own")
        used[(vm.server, port)] = vm.label
    return replace(scenario, tenants=rebound(scenario.tenants, ports))


def carried_ports(old: Scenario, new: Scenario) -> dict[str, int]:
    """The ports of `new` when a running lab changes from `old`: a VM that stays on its server keeps
    its port; one that is new there (added, or moved in) takes the lowest port free on that server."""
    before = {vm.label: vm for vm in old.vms if not vm.bare_metal}
    ports = {vm.label: before[vm.label].port for vm in new.vms
             if not vm.bare_metal and vm.label in before and before[vm.label].server == vm.server}
    used = {(vm.server, ports[vm.label]) for vm in new.vms if vm.label in ports}
    for vm in (vm for vm in new.vms if not vm.bare_metal and vm.label not in ports):
        ports[vm.label] = next(p for p in range(1, MAX_VMS_PER_SERVER + 1) if (vm.server, p) not in used)
        used.add((vm.server, ports[vm.label]))
    return ports


def ports_of(scenario: Scenario) -> dict[str, int]:
    """Every VM's br-int port, by label (what bind() takes)."""
    return {vm.label: vm.port for vm in scenario.vms if not vm.bare_metal}
