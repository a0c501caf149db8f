"""The underlay's tables in both modes (pure): the fabric's own routes; in flat mode, also every VM address
routed by the underlay itself, with no encapsulation.

This is the lecture's naive alternative to the overlay, built for real so that its cost can be
measured: VM addresses follow no hierarchy, so no switch can aggregate them. Each VM gets, on top of
the fabric's own routes,

  its edge switch    a door for its address on its server's port, and a route down to that port;
  its pod's aggregation switches   a route down to its rack;
  every core switch  a route down to its pod;
  any switch that detours its server's rack or pod after a failure   the same detour.

Everything else still goes up the ECMP groups. So a core's table grows with every VM in the
datacenter, and a VM that moves changes tables in the underlay, where the overlay changes none.
"""
from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Network

from controller.flows import ETH_IP, DecTtl, Flow, Output, SetField, Tables, host, match
from controller.purpose import DETOUR, VM_ROUTE
from controller.underlay import (
    NONE_DOWN,
    T_INGRESS,
    T_ROUTE,
    Down,
    compile_underlay,
)
from topologies.fattree import AGG, CORE, EDGE, FatTree, Switch, gateway_of, mac_of
from topologies.scenario import VM, Scenario

# Their own priorities, so that `tables` can tell a VM's flows from the fabric's (they never overlap:
# flat mode refuses VM addresses inside the fabric's 10.0.0.0/8).
PRIO_VM, PRIO_VM_DOOR, PRIO_VM_DETOUR = 210, 110, 160


def underlay_tables(scenario: Scenario, down: Down = NONE_DOWN) -> dict[str, Tables]:
    """The underlay's desired tables for a lab: the fabric's alone in overlay mode (whatever the
    tenants), plus every VM's routes in flat mode."""
    fabric_only = compile_underlay(scenario.fabric, down)
    if not scenario.flat:
        return fabric_only
    vms = [vm for vm in scenario.vms if not vm.bare_metal]
    return {name: _with_vms(scenario.fabric, t, vms) for name, t in fabric_only.items()}


def _with_vms(fabric: FatTree, tables: Tables, vms: list[VM]) -> Tables:
    switch = fabric.switch(tables.name)
    assert switch is not None
    flows = [*_routes(switch, vms), *_detours(tables, vms)]
    return replace(tables, flows=(*flows, *tables.flows))


def _routes(switch: Switch, vms: list[VM]) -> list[Flow]:
    """The routes down towards each VM below this switch (and, on its edge switch, its door)."""
    if switch.role == CORE:
        return [_route(vm, vm.server.pod + 1, f"pod {vm.server.pod}") for vm in vms]
    if switch.role == AGG:
        return [_route(vm, vm.server.edge + 1, f"rack p{vm.server.pod}e{vm.server.edge}")
                for vm in vms if vm.server.pod == switch.pod]
    assert switch.role == EDGE
    router = mac_of(gateway_of(switch.pod or 0, switch.index))
    here = [vm for vm in vms if (vm.server.pod, vm.server.edge) == (switch.pod, switch.index)]
    return [flow for vm in here for flow in (
        Flow(PRIO_VM_DOOR, match(in_port=vm.server.host + 1, eth_type=ETH_IP, ipv4_src=host(vm.v4.ip)),
             table=T_INGRESS, goto=T_ROUTE, note=f"from {vm.label} on {vm.server.name}, with its own address",
             purpose=VM_ROUTE),
        _route(vm, vm.server.host + 1, f"server {vm.server.name}", SetField("eth_src", router),
               SetField("eth_dst", vm.mac), table=T_ROUTE))]


def _route(vm: VM, port: int, towards: str, *rewrite: SetField, table: int = 0) -> Flow:
    return Flow(PRIO_VM, match(eth_type=ETH_IP, ipv4_dst=host(vm.v4.ip)), (DecTtl(), *rewrite, Output(port)),
                table=table, note=f"{vm.label} ({vm.v4.ip}) is on {vm.server.name}: down to {towards}",
                purpose=VM_ROUTE)


def _detours(tables: Tables, vms: list[VM]) -> list[Flow]:
    """A VM's traffic takes the detour its server's rack or pod takes on this switch."""
    detours = [f for f in tables.flows if f.purpose == DETOUR]
    return [replace(f, priority=PRIO_VM_DETOUR, match=match(eth_type=ETH_IP, ipv4_dst=host(vm.v4.ip)),
                    note=f"{vm.label} on {vm.server.name}: {f.note}", purpose=VM_ROUTE)
            for f in detours for vm in vms if _contains(f, vm)]


def _contains(flow: Flow, vm: VM) -> bool:
    prefix = flow.fields.get("ipv4_dst")
    return isinstance(prefix, IPv4Network) and vm.server.ip in prefix
