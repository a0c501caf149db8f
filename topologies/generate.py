"""Scenarios for labs at scale, written as the YAML a user would write: `python -m topologies.generate
--k 8 --vms-per-server 2 > my.yaml`. The bundled `scale.yaml` (k=8, 256 VMs) is this module's output.

Tenants take turns over the servers, so every tenant spans every pod; encapsulations cycle through
VXLAN, GENEVE and GRE; tenants 2i and 2i+1 share one subnet, so addresses overlap across tenants
(`--unique`: every tenant a subnet of its own, so that flat mode can route them).
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from ipaddress import IPv4Network

from topologies.encap import NAMES as ENCAPS
from topologies.fattree import FatTree

ROUTED_SUBNETS = 4  # a routed tenant's subnets, /24s of its /16
DEFAULT_TENANTS = 8
FIRST_VNI = 6000


def scale_yaml(k: int, vms_per_server: int = 2, tenants: int = DEFAULT_TENANTS, unique: bool = False,
               routed: bool = False, dual_stack: bool = False) -> str:
    """A scenario with `vms_per_server` VMs on every server of a k-ary fat-tree, dealt to `tenants`; with
    `routed`, every other tenant routed over ROUTED_SUBNETS subnets (with `dual_stack`, in IPv6 too)."""
    slots = [server.name for server in FatTree(k).servers for _ in range(vms_per_server)]
    sharing = "every tenant its own subnet" if unique else "tenants 2i and 2i+1 share a subnet"
    stacks = " and dual-stack" if dual_stack else ""
    half = f"; odd tenants routed{stacks} over {ROUTED_SUBNETS} subnets" if routed else ""
    return _scenario(k, slots, tenants, unique, f"k={k} fat-tree, {len(slots)} VMs ({vms_per_server} per server) "
                                                f"in {tenants} tenants; {sharing}{half}", routed, dual_stack)


def spread_yaml(k: int, vms: int, tenants: int = DEFAULT_TENANTS) -> str:
    """`vms` VMs with addresses of their own (flat mode can route them), dealt over the servers one pod
    after another, so that even a few span the whole fabric."""
    servers = sorted(FatTree(k).servers, key=lambda s: (s.host, s.edge, s.pod))
    slots = [servers[i % len(servers)].name for i in range(vms)]
    return _scenario(k, slots, min(tenants, vms), True, f"k={k} fat-tree, {vms} VMs spread over the pods, "
                                                        f"every tenant its own subnet")


def _scenario(k: int, slots: list[str], tenants: int, unique: bool, description: str, routed: bool = False,
              dual_stack: bool = False) -> str:
    """The YAML of VMs on `slots` (a server name each), dealt to `tenants` in turn."""
    members: dict[int, list[tuple[str, str]]] = defaultdict(list)  # tenant -> [(vm, server)]
    for index, server in enumerate(slots):
        tenant = index % tenants
        members[tenant].append((f"vm{len(members[tenant])}", server))
    lines = [f"description: {description}", "fabric:", "  type: fattree", f"  k: {k}", "tenants:"]
    for tenant in range(tenants):
        subnet = IPv4Network(f"172.{16 + (tenant if unique else tenant // 2)}.0.0/16")
        lines += [f"  t{tenant}:", f"    vni: {FIRST_VNI + tenant}", f"    encap: {ENCAPS[tenant % len(ENCAPS)]}"]
        if routed and tenant % 2:
            lines += ["    routing: distributed", "    vms:"]
            lines += [f"      {vm}: {{ip: {subnet[256 * (i % ROUTED_SUBNETS) + 10 + i // ROUTED_SUBNETS]}/24, "
                      f"{_ip6(tenant, i) if dual_stack else ''}server: {server}}}"
                      for i, (vm, server) in enumerate(members[tenant])]
            continue
        lines += ["    vms:"]
        lines += [f"      {vm}: {{ip: {subnet[10 + i]}/{subnet.prefixlen}, server: {server}}}"
                  for i, (vm, server) in enumerate(members[tenant])]
    return "\n".join(lines) + "\n"


def _ip6(tenant: int, index: int) -> str:
    """A routed VM's IPv6 address: its tenant pair's /48, its subnet's /64 (as its IPv4 /24), its host."""
    subnet, host = index % ROUTED_SUBNETS + 1, 16 + index // ROUTED_SUBNETS
    return f'ip6: "fd00:{tenant // 2 + 1:x}:{subnet:x}::{host:x}/64", '


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--vms-per-server", type=int, default=2)
    parser.add_argument("--tenants", type=int, default=DEFAULT_TENANTS)
    parser.add_argument("--unique", action="store_true", help="every tenant a subnet of its own (no overlap)")
    parser.add_argument("--routed", action="store_true", help="every other tenant routed (routing: distributed)")
    parser.add_argument("--dual-stack", action="store_true", help="the routed tenants' VMs get IPv6 addresses too")
    args = parser.parse_args(argv)
    print(scale_yaml(args.k, args.vms_per_server, args.tenants, args.unique, args.routed, args.dual_stack), end="")


if __name__ == "__main__":
    main()
