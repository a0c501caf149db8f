"""Changes to a running lab's desired state, each made by editing the scenario as a user would edit its
file and validating the result exactly like a file (same one-line errors), plus what only a change can
get wrong (a name that is not there, a move to where the VM already is). Pure: the lab applies them."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from topologies.encap import NAMES as ENCAPS
from topologies.quoting import quote
from topologies.scenario import VM, Scenario, ScenarioError, document, parse

Edit = Callable[[dict[str, Any]], None]


def _changed(current: Scenario, what: str, edit: Edit) -> Scenario:
    doc = document(current)
    edit(doc["tenants"])
    return parse(doc, what, mode=current.mode)


def vm_named(current: Scenario, label: str) -> VM:
    vm = next((vm for vm in current.vms if vm.label == label), None)
    if vm is None:
        known = ", ".join(vm.label for vm in current.vms[:8]) or "none"
        raise ScenarioError(f"no VM {quote(label)}; name one as tenant/vm, e.g. {known}")
    return vm


def add_vm(current: Scenario, label: str, ip: str, server: str, mac: str | None = None,
           ip6: str | None = None) -> Scenario:
    tenant, _, name = label.partition("/")
    if tenant not in {t.name for t in current.tenants}:
        raise ScenarioError(f"no tenant {quote(tenant)}; add it first (`tenant add {tenant} --vni N`) or "
                            f"use one of {', '.join(t.name for t in current.tenants) or 'none'}")
    if any(vm.label == label for vm in current.vms):
        raise ScenarioError(f"{label} already exists; remove it first or pick another name")

    def edit(tenants: dict[str, Any]) -> None:
        address = {"ip6": ip} if ":" in ip else {"ip": ip, **({"ip6": ip6} if ip6 else {})}  # IPv6 only, or not
        tenants[tenant]["vms"][name] = {**address, "server": server, **({"mac": mac} if mac else {})}
    return _changed(current, f"vm add {label}", edit)


def remove_vm(current: Scenario, label: str) -> Scenario:
    vm = vm_named(current, label)

    def edit(tenants: dict[str, Any]) -> None:
        del tenants[vm.tenant]["vms"][vm.name]
    return _changed(current, f"vm remove {label}", edit)


def migrate(current: Scenario, label: str, server: str) -> Scenario:
    vm = vm_named(current, label)
    if vm.bare_metal:
        raise ScenarioError(f"{label} is a bare-metal server (vtep: kernel), not a VM: it cannot move")
    target = current.fabric.server(server)
    if target == vm.server:
        raise ScenarioError(f"{label} is already on {server}; name another server")
    if target and any(v.bare_metal and v.server == target for v in current.vms):
        raise ScenarioError(f"{server} is bare metal (not virtualized): no VM can move onto it")

    def edit(tenants: dict[str, Any]) -> None:
        tenants[vm.tenant]["vms"][vm.name]["server"] = server
    return _changed(current, f"migrate {label}", edit)


def add_tenant(current: Scenario, name: str, vni: int, encap: str = "vxlan", routing: str = "l2") -> Scenario:
    if name in {t.name for t in current.tenants}:
        raise ScenarioError(f"tenant {quote(name)} already exists; pick another name")
    if encap not in ENCAPS:
        raise ScenarioError(f"unknown encapsulation {quote(encap)}; use {', '.join(ENCAPS)}")

    def edit(tenants: dict[str, Any]) -> None:
        tenants[name] = {"vni": vni, "encap": encap, **({"routing": routing} if routing != "l2" else {}), "vms": {}}
    return _changed(current, f"tenant add {name}", edit)


def remove_tenant(current: Scenario, name: str) -> Scenario:
    if name not in {t.name for t in current.tenants}:
        raise ScenarioError(f"no tenant {quote(name)}; use one of "
                            f"{', '.join(t.name for t in current.tenants) or 'none'}")

    def edit(tenants: dict[str, Any]) -> None:
        del tenants[name]
    return _changed(current, f"tenant remove {name}", edit)
