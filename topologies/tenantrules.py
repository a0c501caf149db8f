"""The rules a tenant's VMs follow together: no address or MAC twice; one subnet in an L2 tenant; in a
routed one, subnets that do not overlap, no VM on a gateway and no bare-metal member. (IPv6's own are in
topologies.ip6; an IPv6-only VM has no IPv4 rules to follow.)"""
from __future__ import annotations

from ipaddress import IPv4Address

from topologies.model import VM, Checker


def check_unique(check: Checker, path: str, vms: tuple[VM, ...]) -> None:
    """Inside one tenant: one subnet, and no IP or MAC twice."""
    ips: dict[IPv4Address, str] = {}
    v4 = [vm for vm in vms if vm.ip]
    for vm in v4:
        where, ip, first = f"{path}.vms.{vm.name}.ip", vm.v4, v4[0].v4
        if ip.network != first.network and not vm.routed:
            raise check.fail(where, f"{ip} is outside the tenant's subnet {first.network} (of {v4[0].name}); put "
                                    f"all of a tenant's VMs in one subnet, or route between them "
                                    f"(routing: distributed)")
        if ip.ip in ips:
            raise check.fail(where, f"{ip.ip} is already {ips[ip.ip]}'s address in this tenant; give each VM its own")
        ips[ip.ip] = vm.name
    macs: dict[str, str] = {}
    for vm in vms:
        if vm.mac in macs:
            raise check.fail(f"{path}.vms.{vm.name}.mac", f"{vm.mac} is already {macs[vm.mac]}'s MAC in this tenant; "
                                                          f"set a different mac:")
        macs[vm.mac] = vm.name


def check_routed(check: Checker, path: str, vms: tuple[VM, ...]) -> None:
    """A routed tenant: subnets that do not overlap, no VM on its subnet's gateway, and no bare-metal member
    (its kernel routes nothing)."""
    v4 = [vm for vm in vms if vm.ip]
    for vm in vms:
        where = f"{path}.vms.{vm.name}"
        if vm.bare_metal:
            raise check.fail(f"{where}.vtep", "a bare-metal member cannot be in a routed tenant: its kernel has "
                                              "no gateway to route for it; use routing: l2")
        if vm.ip is None:
            continue
        other = next((v for v in v4 if v.v4.network != vm.ip.network and v.v4.network.overlaps(vm.ip.network)), None)
        if other:
            raise check.fail(f"{where}.ip", f"{vm.ip.network} overlaps {other.v4.network} (of {other.name}); "
                                            f"a routed tenant's subnets must not overlap")
        if vm.ip.ip == vm.gateway:
            raise check.fail(f"{where}.ip", f"{vm.ip.ip} is the gateway of {vm.ip.network} in a routed tenant "
                                            f"(its subnet's first address, answered by every virtual switch); "
                                            f"give the VM another address")
