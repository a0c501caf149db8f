"""The rules a tenant's VMs follow together: no address or MAC twice; one subnet in an L2 tenant; in a
routed one, subnets that do not overlap, no VM on a gateway and no bare-metal member."""
from __future__ import annotations

from ipaddress import IPv4Address

from topologies.model import VM, Checker


def check_unique(check: Checker, path: str, vms: tuple[VM, ...]) -> None:
    """Inside one tenant: one subnet, and no IP or MAC twice."""
    ips: dict[IPv4Address, str] = {}
    macs: dict[str, str] = {}
    for vm in vms:
        where = f"{path}.vms.{vm.name}"
        if vm.ip.network != vms[0].ip.network and not vm.routed:
            raise check.fail(f"{where}.ip", f"{vm.ip} is outside the tenant's subnet {vms[0].ip.network} "
                                            f"(of {vms[0].name}); put all of a tenant's VMs in one subnet, "
                                            f"or route between them (routing: distributed)")
        if vm.ip.ip in ips:
            raise check.fail(f"{where}.ip", f"{vm.ip.ip} is already {ips[vm.ip.ip]}'s address in this tenant; "
                                            f"give each VM its own")
        if vm.mac in macs:
            raise check.fail(f"{where}.mac", f"{vm.mac} is already {macs[vm.mac]}'s MAC in this tenant; "
                                             f"set a different mac:")
        ips[vm.ip.ip], macs[vm.mac] = vm.name, vm.name


def check_routed(check: Checker, path: str, vms: tuple[VM, ...]) -> None:
    """A routed tenant: subnets that do not overlap, no VM on its subnet's gateway, and no bare-metal member
    (its kernel routes nothing)."""
    for vm in vms:
        other = next((v for v in vms if v.ip.network != vm.ip.network and v.ip.network.overlaps(vm.ip.network)), None)
        if other:
            raise check.fail(f"{path}.vms.{vm.name}.ip", f"{vm.ip.network} overlaps {other.ip.network} (of "
                                                         f"{other.name}); a routed tenant's subnets must not overlap")
        where = f"{path}.vms.{vm.name}"
        if vm.ip.ip == vm.gateway:
            raise check.fail(f"{where}.ip", f"{vm.ip.ip} is the gateway of {vm.ip.network} in a routed tenant "
                                            f"(its subnet's first address, answered by every virtual switch); "
                                            f"give the VM another address")
        if vm.bare_metal:
            raise check.fail(f"{where}.vtep", "a bare-metal member cannot be in a routed tenant: its kernel has "
                                              "no gateway to route for it; use routing: l2")
