"""The scenario file: the lab's desired state, validated into dataclasses before anything is built.

Every problem is one `ScenarioError` line naming the file, the key and the fix, as in
`lecture.yaml: tenants.pepsi.vni: 0 is out of range; use 1..16777215`.
"""
from __future__ import annotations

import re
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

import yaml

from topologies import strictyaml
from topologies.encap import NAMES as ENCAP_NAMES
from topologies.encap import Encap, Vtep
from topologies.fattree import FatTree, k_problem
from topologies.ip6 import check_ip6, interface6
from topologies.model import (
    FABRIC_MACS,
    FABRIC_SPACE,
    MAX_LINE,
    MAX_VMS_PER_SERVER,
    VM,
    Checker,
    Mode,
    Routing,
    Scenario,
    ScenarioError,
    Tenant,
    derived_mac,
    document,
    key_text,
    refusal,
)
from topologies.ports import bind, carried_ports, first_ports, ports_of, rebound
from topologies.quoting import quote
from topologies.tenantrules import check_routed, check_unique
from topologies.textfile import Unreadable, read_text

__all__ = ["BUNDLED", "DEFAULT_SCENARIO", "MAX_LINE", "VM", "Mode", "Scenario", "ScenarioError", "Tenant", "bind",
           "carried_ports", "document", "load", "parse", "ports_of", "save"]  # the scenario's door

BUNDLED = Path(__file__).resolve().parent
DEFAULT_SCENARIO = BUNDLED / "lecture.yaml"
VNI_MAX = 2 ** 24 - 1
MAC_RE = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
MAX_BYTES = 1 << 20  # a scenario is a few kilobytes; anything near this is not one
TOP_KEYS = ("description", "fabric", "tenants")
FABRIC_KEYS = ("type", "k")
TENANT_KEYS = ("vni", "encap", "routing", "vms")
VM_KEYS = ("ip", "ip6", "server", "mac", "vtep")


def save(scenario: Scenario, path: str | Path) -> None:
    """The scenario as a file that load() reads back the same (`scenario save`, Lab.save)."""
    Path(path).write_text(yaml.safe_dump(document(scenario), sort_keys=False))


def parse(data: Any, source: str = "<scenario>", k: int | None = None, mode: Mode = Mode.OVERLAY) -> Scenario:
    """Validate parsed YAML into a Scenario; `k` (from --k) overrides fabric.k; `mode` flat also refuses
    what the underlay cannot route by VM address alone."""
    check = Checker(source)
    if data is None:
        raise check.fail("", "the file is empty (or only comments, or null); describe a lab, at least "
                             "`fabric: {k: 4}`")
    top = check.mapping(data, "", TOP_KEYS)
    fabric = _fabric(check, top.get("fabric"), k)
    tenants = _tenants(check, top.get("tenants"), fabric)
    _check_servers(check, tenants)
    tenants = rebound(tenants, first_ports(tenants))
    if mode is Mode.FLAT:
        _check_flat(check, tenants)
    description = top.get("description") or ""
    if not isinstance(description, str):
        raise check.fail("description", f"{quote(description)} is not text; write a sentence, in quotes if need be")
    if any(not (c.isprintable() or c in "\n\t") for c in description):
        raise check.fail("description", f"{quote(description)} holds control characters (a terminal escape "
                                        f"would be printed raw at `up`); write plain text")
    return Scenario(source, description.strip(), fabric, tenants, mode=mode)


def _check_flat(check: Checker, tenants: tuple[Tenant, ...]) -> None:
    """Flat mode routes VM addresses in the underlay, next to the servers' own: every VM address must be
    unique in the whole datacenter and outside the fabric's space, and there is no tunnel to a kernel VTEP."""
    for tenant in tenants:
        if tenant.routing is Routing.DISTRIBUTED:
            raise check.fail(f"tenants.{tenant.name}.routing", "a routed tenant is routed by its virtual "
                                                              "switches, and flat mode has none of its own; "
                                                              "run it in overlay mode")
    vms = [vm for t in tenants for vm in t.vms]
    dual = next((vm for vm in vms if vm.ip6), None)
    if dual:
        raise check.fail(f"tenants.{dual.tenant}.vms.{dual.name}.ip6", "flat mode's underlay routes IPv4 only "
                                                                      "(the lab's underlay is IPv4); run it in "
                                                                      "overlay mode, or leave ip6 out")
    owners: dict[IPv4Address, str] = {}
    for vm in vms:
        if vm.v4.ip in owners:
            raise check.fail(f"tenants.{vm.tenant}.vms.{vm.name}.ip",
                             f"{vm.v4.ip} is also {owners[vm.v4.ip]}'s; in flat mode the underlay routes VM "
                             f"addresses, and one address leads to one VM: telling tenants apart takes the "
                             f"overlay's virtual network ID (run without --mode flat)")
        owners[vm.v4.ip] = vm.label
    for vm in vms:
        where = f"tenants.{vm.tenant}.vms.{vm.name}"
        if vm.bare_metal:
            raise check.fail(f"{where}.vtep", "a bare-metal member is reached through its kernel's VXLAN "
                                              "tunnel, and flat mode has no tunnels; run it in overlay mode")
        if vm.v4.ip in FABRIC_SPACE:
            raise check.fail(f"{where}.ip", f"{vm.v4.ip} is in the fabric's own {FABRIC_SPACE}, which flat mode "
                                            f"routes to servers; give the VM an address outside it")


def load(path: str | Path | None = None, k: int | None = None, mode: Mode = Mode.OVERLAY) -> Scenario:
    """Read and validate a scenario file (the bundled default when path is None), to run in `mode`."""
    path = Path(path) if path is not None else DEFAULT_SCENARIO
    source = path.name if path.parent == BUNDLED else str(path)
    try:
        text = read_text(path, MAX_BYTES, "a .yaml scenario")
    except Unreadable as exc:
        bundled = ", ".join(sorted(p.name for p in BUNDLED.glob("*.yaml")))
        raise refusal(f"{source}: {exc}" + (f"; bundled scenarios: {bundled}" if exc.missing else "")) from None
    try:
        data = strictyaml.load(text)
    except yaml.YAMLError as exc:
        raise refusal(_yaml_problem(source, exc)) from None
    except RecursionError:
        raise refusal(f"{source}: nested too deeply to read; a scenario needs a few levels of `key: value`") from None
    return replace(parse(data, source, k, mode), path=path.resolve())


def _yaml_problem(source: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, strictyaml.DuplicateKeyError):
        return f"{where}: {problem}; every tenant and VM name must be unique in its mapping"
    if isinstance(exc, yaml.constructor.ConstructorError):
        return f"{where}: {problem}"
    return f"{where}: not valid YAML ({problem}); check indentation and `key: value` syntax"


def _fabric(check: Checker, value: Any, k: int | None) -> FatTree:
    fabric = check.mapping(value, "fabric", FABRIC_KEYS)
    kind = fabric.get("type", "fattree")
    if kind != "fattree":
        raise check.fail("fabric.type", f"unknown fabric type {quote(kind)}; use fattree")
    chosen = k if k is not None else fabric.get("k", 4)
    problem = k_problem(chosen)
    if problem:
        raise check.fail("--k" if k is not None else "fabric.k", problem)
    return FatTree(chosen)


def _tenants(check: Checker, value: Any, fabric: FatTree) -> tuple[Tenant, ...]:
    tenants = check.mapping(value, "tenants")
    vnis: dict[int, str] = {}
    result = []
    for name, body in tenants.items():
        tenant = _tenant(check, name, body, fabric)
        if tenant.vni in vnis:
            raise check.fail(f"tenants.{name}.vni", f"{tenant.vni} is already the VNI of tenant "
                                                    f"{vnis[tenant.vni]}; give every tenant its own")
        vnis[tenant.vni] = name
        result.append(tenant)
    return tuple(result)


def _tenant(check: Checker, name: Any, body: Any, fabric: FatTree) -> Tenant:
    path = f"tenants.{key_text(name)}"
    check.name(name, path, "tenant")
    spec = check.mapping(body, path, TENANT_KEYS)
    vni = spec.get("vni")
    if vni is None:
        raise check.fail(f"{path}.vni", f"missing: every tenant needs a virtual network ID of its own, a whole "
                                        f"number in 1..{VNI_MAX}")
    if isinstance(vni, bool) or not isinstance(vni, int) or not 1 <= vni <= VNI_MAX:
        raise check.fail(f"{path}.vni", f"{quote(vni)} is out of range; use a whole number in 1..{VNI_MAX}")
    encap = Encap.named(spec.get("encap", "vxlan"))
    if encap is None:
        raise check.fail(f"{path}.encap", f"unknown encapsulation {quote(spec.get('encap'))}; "
                                          f"use {', '.join(ENCAP_NAMES)}")
    routing = next((r for r in Routing if r.value == spec.get("routing", Routing.L2.value)), None)
    if routing is None:
        raise check.fail(f"{path}.routing", f"unknown routing {quote(spec.get('routing'))}; use l2 (one subnet, "
                                            f"the default) or distributed (several, routed at each virtual switch)")
    vms = check.mapping(spec.get("vms"), f"{path}.vms")
    built = tuple(_vm(check, Tenant(name, vni, encap, (), routing), vm, body, fabric) for vm, body in vms.items())
    check_ip6(check, path, built)
    check_unique(check, path, built)
    if any(vm.bare_metal for vm in built) and encap is not Encap.VXLAN:
        raise check.fail(f"{path}.encap", f"{encap} cannot reach a `vtep: kernel` member; "
                                          f"kernel VTEPs speak VXLAN only, so use encap: vxlan")
    if routing is Routing.DISTRIBUTED:
        check_routed(check, path, built)
    return Tenant(name, vni, encap, built, routing)


def _vm(check: Checker, tenant: Tenant, name: Any, body: Any, fabric: FatTree) -> VM:
    path = f"tenants.{tenant.name}.vms.{key_text(name)}"
    check.name(name, path, "VM")
    spec = check.mapping(body, path, VM_KEYS)
    ip6 = interface6(check, spec["ip6"], f"{path}.ip6") if "ip6" in spec else None
    ip = _interface(check, spec.get("ip"), f"{path}.ip") if "ip" in spec or ip6 is None else None
    named = spec.get("server")
    server = fabric.server(named) if isinstance(named, str) else None
    if server is None:
        first, last = fabric.servers[0].name, fabric.servers[-1].name
        raise check.fail(f"{path}.server", f"no server {quote(named)} in a k={fabric.k} fat-tree; "
                                           f"use one of {first} .. {last} (p<pod>e<edge>h<host>)")
    known = ip or ip6  # one at least: `ip` is read when there is no ip6
    assert known is not None
    mac = _mac(check, spec["mac"], f"{path}.mac") if "mac" in spec else derived_mac(tenant.vni, known.ip)
    vtep = next((v for v in Vtep if v.value == spec.get("vtep", Vtep.OVS.value)), None)
    if vtep is None:
        raise check.fail(f"{path}.vtep", f"unknown VTEP {quote(spec.get('vtep'))}; use kernel "
                                         f"(or leave it out for a VM)")
    return VM(tenant.name, tenant.vni, tenant.encap, name, ip, server, mac, vtep, routing=tenant.routing, ip6=ip6)


def _mac(check: Checker, value: Any, path: str) -> str:
    """A MAC written out: six hex bytes, unicast, not all zeros (leave `mac:` out to have one derived)."""
    mac = value.lower() if isinstance(value, str) else ""
    if not MAC_RE.fullmatch(mac) or int(mac[:2], 16) & 1 or mac == "00:00:00:00:00:00":
        raise check.fail(path, f"{quote(value)} is not a unicast MAC; write six hex bytes with an even first "
                               f"byte, e.g. 02:00:00:00:00:01, or leave mac: out to have one derived")
    if mac.startswith(FABRIC_MACS):
        raise check.fail(path, f"{mac} is in the fabric's own {FABRIC_MACS}.. (a server's or router's MAC spells "
                               f"its 10.x address); write another, or leave mac: out to have one derived")
    return mac


def _interface(check: Checker, value: Any, path: str) -> IPv4Interface:
    if not isinstance(value, str) or "/" not in value:
        raise check.fail(path, f"{quote(value)} is not an address with a prefix; write it like 192.0.2.2/24")
    try:
        ip = IPv4Interface(value)
    except ValueError:
        raise check.fail(path, f"{quote(value)} is not a valid IPv4 address/prefix; "
                               f"write it like 192.0.2.2/24") from None
    kind = _unusable(ip)
    if kind:
        raise check.fail(path, f"{ip} is {kind}, which no VM can have; pick a unicast host address in a subnet "
                               f"such as 192.0.2.0/24")
    if ip.network.prefixlen < 31 and ip.ip in (ip.network.network_address, ip.network.broadcast_address):
        raise check.fail(path, f"{value} is the subnet's network or broadcast address; pick a host address")
    return ip


def _unusable(ip: IPv4Interface) -> str | None:
    """What kind of address no host may own, or None."""
    kinds = ((ip.network.prefixlen == 0, "a /0 prefix (every address at once)"),
             (ip.ip.is_unspecified, "the unspecified address"), (ip.ip.is_loopback, "a loopback address"),
             (ip.ip.is_multicast, "a multicast address"),
             (ip.ip.is_reserved, "a reserved (class E or limited broadcast) address"))
    return next((kind for bad, kind in kinds if bad), None)


def _check_servers(check: Checker, tenants: tuple[Tenant, ...]) -> None:
    """A server's virtual switch has ports for at most MAX_VMS_PER_SERVER VMs; a bare-metal (kernel
    VTEP) server is not virtualized, so it hosts nothing else."""
    by_server: dict[str, list[VM]] = {}
    for vm in (vm for t in tenants for vm in t.vms):
        by_server.setdefault(vm.server.name, []).append(vm)
    for server, vms in by_server.items():
        if len(vms) > MAX_VMS_PER_SERVER:
            last = vms[MAX_VMS_PER_SERVER]
            raise check.fail(f"tenants.{last.tenant}.vms.{last.name}.server",
                             f"{server} already hosts {MAX_VMS_PER_SERVER} VMs, the most one server takes; "
                             f"place this VM on another server")
        kernel = [vm for vm in vms if vm.bare_metal]
        if kernel and len(vms) > 1:
            other = next(vm for vm in vms if vm is not kernel[0])
            raise check.fail(f"tenants.{kernel[0].tenant}.vms.{kernel[0].name}.server",
                             f"{server} is bare metal (vtep: kernel) but also hosts {other.label}; "
                             f"move one of them to another server")
