"""IPv6 beside IPv4 on a tenant's VMs (`ip6: fd00:1::2/64`): how the address is read, and the rules a
tenant's IPv6 addresses follow together, the same as its IPv4 ones (tenants still overlap freely)."""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Interface
from typing import Any

from topologies.model import VM, Checker
from topologies.quoting import quote

EXAMPLE = "fd00:1::2/64"


def interface6(check: Checker, value: Any, path: str) -> IPv6Interface:
    """A VM's IPv6 address with its prefix: a unicast global or unique-local host address."""
    if not isinstance(value, str) or "/" not in value:
        raise check.fail(path, f"{quote(value)} is not an IPv6 address with a prefix; write it like {EXAMPLE}")
    try:
        ip6 = IPv6Interface(value)
    except ValueError:
        raise check.fail(path, f"{quote(value)} is not a valid IPv6 address/prefix; write it like {EXAMPLE}") from None
    kinds = ((not 48 <= ip6.network.prefixlen <= 126, f"in a /{ip6.network.prefixlen} prefix (use /48 to /126)"),
             (ip6.ip.is_link_local, "link-local (every VM has its own already)"),
             (ip6.ip.is_multicast, "a multicast address"), (ip6.ip.is_loopback, "the loopback address"),
             (ip6.ip.is_unspecified, "the unspecified address"), (ip6.ip.ipv4_mapped is not None, "IPv4-mapped"),
             (ip6.ip == ip6.network.network_address, "the subnet's own address (its routers' anycast)"))
    kind = next((kind for bad, kind in kinds if bad), None)
    if kind:
        raise check.fail(path, f"{ip6} is {kind}, which no VM can have; pick a host address such as {EXAMPLE}")
    return ip6


def check_ip6(check: Checker, path: str, vms: tuple[VM, ...]) -> None:
    """Inside one tenant: no IPv6 address twice, one IPv6 subnet unless routed, subnets that do not
    overlap and no VM on a gateway when routed, and no bare-metal member (no virtual switch answers
    neighbour discovery for it)."""
    owners: dict[IPv6Address, str] = {}
    dual = [vm for vm in vms if vm.ip6]
    for vm in dual:
        assert vm.ip6 is not None
        where = f"{path}.vms.{vm.name}"
        if vm.bare_metal:
            raise check.fail(f"{where}.ip6", "a bare-metal member cannot have ip6: no virtual switch answers "
                                             "neighbour discovery for it; leave ip6 out")
        if vm.ip6.ip in owners:
            raise check.fail(f"{where}.ip6", f"{vm.ip6.ip} is already {owners[vm.ip6.ip]}'s address in this "
                                             f"tenant; give each VM its own")
        owners[vm.ip6.ip] = vm.name
        first = dual[0].ip6
        assert first is not None
        if not vm.routed and vm.ip6.network != first.network:
            raise check.fail(f"{where}.ip6", f"{vm.ip6} is outside the tenant's IPv6 subnet {first.network} (of "
                                             f"{dual[0].name}); use one subnet, or route (routing: distributed)")
        if vm.routed:
            _check_routed6(check, where, vm, dual)


def _check_routed6(check: Checker, where: str, vm: VM, dual: list[VM]) -> None:
    assert vm.ip6 is not None
    net = vm.ip6.network
    other = next((v for v in dual if v.ip6 and v.ip6.network != net and v.ip6.network.overlaps(net)), None)
    if other and other.ip6:
        raise check.fail(f"{where}.ip6", f"{net} overlaps {other.ip6.network} (of {other.name}); a routed "
                                         f"tenant's subnets must not overlap")
    if vm.ip6.ip == vm.gateway6:
        raise check.fail(f"{where}.ip6", f"{vm.ip6.ip} is the gateway of {net} in a routed tenant (its subnet's "
                                         f"first address, answered by every virtual switch); give the VM another")
