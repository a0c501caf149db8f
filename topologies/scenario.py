"""The scenario file: the lab's desired state, validated into dataclasses before anything is built.

Every problem is one `ScenarioError` line naming the file, the key and the fix, as in
`lecture.yaml: tenants.pepsi.vni: 0 is out of range; use 1..16777215`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any, Mapping

import yaml

from topologies import strictyaml
from topologies.fattree import FatTree, k_problem

BUNDLED = Path(__file__).resolve().parent
DEFAULT_SCENARIO = BUNDLED / "lecture.yaml"
ENCAPS = ("vxlan", "geneve", "gre")
VTEPS = ("ovs", "kernel")
VNI_MAX = 2 ** 24 - 1
MAX_VMS_PER_SERVER = 99  # br-int ports 1..99; the tunnel ports start at 100
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
TOP_KEYS = ("description", "fabric", "tenants")
FABRIC_KEYS = ("type", "k")
TENANT_KEYS = ("vni", "encap", "vms")
VM_KEYS = ("ip", "server", "mac", "vtep")


class ScenarioError(ValueError):
    """A scenario the lab refuses to build, with the one-line reason and fix."""


@dataclass(frozen=True)
class VM:
    """A tenant's virtual machine (or, with vtep 'kernel', a bare-metal member) on a physical server."""

    tenant: str
    vni: int
    name: str
    ip: IPv4Interface
    server: str
    mac: str
    vtep: str = "ovs"

    @property
    def label(self) -> str:
        """How users see it everywhere: tenant/vm."""
        return f"{self.tenant}/{self.name}"


@dataclass(frozen=True)
class Tenant:
    name: str
    vni: int
    encap: str
    vms: tuple[VM, ...]


@dataclass(frozen=True)
class Scenario:
    source: str  # how errors and reports name the file
    description: str
    fabric: FatTree
    tenants: tuple[Tenant, ...]
    path: Path | None = None  # the file itself, for whoever must read the very same scenario

    @property
    def vms(self) -> tuple[VM, ...]:
        return tuple(vm for t in self.tenants for vm in t.vms)


def derived_mac(vni: int, ip: IPv4Address) -> str:
    """02 + the VNI (3 bytes) + the IP's last 2 bytes: readable, and unique inside a tenant's subnet."""
    octets = [0x02, *vni.to_bytes(3, "big"), *ip.packed[2:]]
    return ":".join(f"{b:02x}" for b in octets)


class _Checker:
    """Walks the parsed YAML, remembering the file name so each error can say where it is."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> ScenarioError:
        where = f"{self.source}: {path}: " if path else f"{self.source}: "
        return ScenarioError(where + message)

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...] | None = None) -> Mapping[str, Any]:
        """The mapping at `path`; with `allowed`, any other key is an error."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}; "
                                  f"write it as `key: value` lines")
        for key in value:
            if allowed is not None and key not in allowed:
                raise self.fail(f"{path}.{key}" if path else str(key),
                                f"unknown key; allowed here: {', '.join(allowed)}")
        return value

    def name(self, value: Any, path: str, what: str) -> str:
        if not isinstance(value, str) or not NAME_RE.match(value):
            raise self.fail(path, f"{value!r} is not a valid {what} name; use letters, digits, '_', "
                                  f"'.' or '-' (at most 63, starting with a letter or digit)")
        return value


def parse(data: Any, source: str = "<scenario>", k: int | None = None) -> Scenario:
    """Validate parsed YAML into a Scenario; `k` (from --k) overrides fabric.k."""
    check = _Checker(source)
    top = check.mapping(data, "", TOP_KEYS)
    fabric = _fabric(check, top.get("fabric"), k)
    tenants = _tenants(check, top.get("tenants"), fabric)
    _check_servers(check, tenants)
    description = top.get("description") or ""
    return Scenario(source, str(description).strip(), fabric, tenants)


def load(path: str | Path | None = None, k: int | None = None) -> Scenario:
    """Read and validate a scenario file (the bundled default when path is None)."""
    path = Path(path) if path is not None else DEFAULT_SCENARIO
    source = path.name if path.parent == BUNDLED else str(path)
    try:
        text = path.read_text()
    except OSError as exc:
        bundled = ", ".join(sorted(p.name for p in BUNDLED.glob("*.yaml")))
        raise ScenarioError(f"{source}: cannot read it ({exc.strerror}); bundled scenarios: {bundled}") from None
    try:
        data = strictyaml.load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(_yaml_problem(source, exc)) from None
    return replace(parse(data, source, k), path=path.resolve())


def _yaml_problem(source: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, strictyaml.DuplicateKeyError):
        return f"{where}: {problem}; every tenant and VM name must be unique in its mapping"
    return f"{where}: not valid YAML ({problem}); check indentation and `key: value` syntax"


def _fabric(check: _Checker, value: Any, k: int | None) -> FatTree:
    fabric = check.mapping(value, "fabric", FABRIC_KEYS)
    kind = fabric.get("type", "fattree")
    if kind != "fattree":
        raise check.fail("fabric.type", f"unknown fabric type {kind!r}; use fattree")
    chosen = k if k is not None else fabric.get("k", 4)
    problem = k_problem(chosen)
    if problem:
        raise check.fail("--k" if k is not None else "fabric.k", problem)
    return FatTree(chosen)


def _tenants(check: _Checker, value: Any, fabric: FatTree) -> tuple[Tenant, ...]:
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


def _tenant(check: _Checker, name: Any, body: Any, fabric: FatTree) -> Tenant:
    path = f"tenants.{name}"
    check.name(name, path, "tenant")
    spec = check.mapping(body, path, TENANT_KEYS)
    vni = spec.get("vni")
    if isinstance(vni, bool) or not isinstance(vni, int) or not 1 <= vni <= VNI_MAX:
        raise check.fail(f"{path}.vni", f"{vni!r} is out of range; use a whole number in 1..{VNI_MAX}")
    encap = spec.get("encap", "vxlan")
    if encap not in ENCAPS:
        raise check.fail(f"{path}.encap", f"unknown encapsulation {encap!r}; use {', '.join(ENCAPS)}")
    vms = check.mapping(spec.get("vms"), f"{path}.vms")
    built = tuple(_vm(check, name, vni, vm, body, fabric) for vm, body in vms.items())
    _check_unique(check, path, built)
    if any(vm.vtep == "kernel" for vm in built) and encap != "vxlan":
        raise check.fail(f"{path}.encap", f"{encap} cannot reach a `vtep: kernel` member; "
                                          f"kernel VTEPs speak VXLAN only, so use encap: vxlan")
    return Tenant(name, vni, encap, built)


def _vm(check: _Checker, tenant: str, vni: int, name: Any, body: Any, fabric: FatTree) -> VM:
    path = f"tenants.{tenant}.vms.{name}"
    check.name(name, path, "VM")
    spec = check.mapping(body, path, VM_KEYS)
    ip = _interface(check, spec.get("ip"), f"{path}.ip")
    server = spec.get("server")
    if fabric.server(str(server)) is None:
        first, last = fabric.servers[0].name, fabric.servers[-1].name
        raise check.fail(f"{path}.server", f"no server {server!r} in a k={fabric.k} fat-tree; "
                                           f"use one of {first} .. {last} (p<pod>e<edge>h<host>)")
    mac = str(spec.get("mac") or derived_mac(vni, ip.ip)).lower()
    if not MAC_RE.match(mac) or int(mac[:2], 16) & 1:
        raise check.fail(f"{path}.mac", f"{spec.get('mac')!r} is not a unicast MAC; "
                                        f"write six hex bytes with an even first byte, e.g. 02:00:00:00:00:01")
    vtep = spec.get("vtep", "ovs")
    if vtep not in VTEPS:
        raise check.fail(f"{path}.vtep", f"unknown VTEP {vtep!r}; use kernel (or leave it out for a VM)")
    return VM(tenant, vni, name, ip, str(server), mac, vtep)


def _interface(check: _Checker, value: Any, path: str) -> IPv4Interface:
    if not isinstance(value, str) or "/" not in value:
        raise check.fail(path, f"{value!r} is not an address with a prefix; write it like 192.0.2.2/24")
    try:
        ip = IPv4Interface(value)
    except ValueError:
        raise check.fail(path, f"{value!r} is not a valid IPv4 address/prefix; write it like 192.0.2.2/24") from None
    if ip.network.prefixlen < 31 and ip.ip in (ip.network.network_address, ip.network.broadcast_address):
        raise check.fail(path, f"{value} is the subnet's network or broadcast address; pick a host address")
    return ip


def _check_unique(check: _Checker, path: str, vms: tuple[VM, ...]) -> None:
    """Inside one tenant: one subnet, and no IP or MAC twice."""
    ips: dict[IPv4Address, str] = {}
    macs: dict[str, str] = {}
    for vm in vms:
        where = f"{path}.vms.{vm.name}"
        if vm.ip.network != vms[0].ip.network:
            raise check.fail(f"{where}.ip", f"{vm.ip} is outside the tenant's subnet {vms[0].ip.network} "
                                            f"(of {vms[0].name}); put all of a tenant's VMs in one subnet")
        if vm.ip.ip in ips:
            raise check.fail(f"{where}.ip", f"{vm.ip.ip} is already {ips[vm.ip.ip]}'s address in this tenant; "
                                            f"give each VM its own")
        if vm.mac in macs:
            raise check.fail(f"{where}.mac", f"{vm.mac} is already {macs[vm.mac]}'s MAC in this tenant; "
                                             f"set a different mac:")
        ips[vm.ip.ip], macs[vm.mac] = vm.name, vm.name


def _check_servers(check: _Checker, tenants: tuple[Tenant, ...]) -> None:
    """A server's virtual switch has ports for at most MAX_VMS_PER_SERVER VMs; a bare-metal (kernel
    VTEP) server is not virtualized, so it hosts nothing else."""
    by_server: dict[str, list[VM]] = {}
    for vm in (vm for t in tenants for vm in t.vms):
        by_server.setdefault(vm.server, []).append(vm)
    for server, vms in by_server.items():
        if len(vms) > MAX_VMS_PER_SERVER:
            last = vms[MAX_VMS_PER_SERVER]
            raise check.fail(f"tenants.{last.tenant}.vms.{last.name}.server",
                             f"{server} already hosts {MAX_VMS_PER_SERVER} VMs, the most one server takes; "
                             f"place this VM on another server")
        kernel = [vm for vm in vms if vm.vtep == "kernel"]
        if kernel and len(vms) > 1:
            other = next(vm for vm in vms if vm is not kernel[0])
            raise check.fail(f"tenants.{kernel[0].tenant}.vms.{kernel[0].name}.server",
                             f"{server} is bare metal (vtep: kernel) but also hosts {other.label}; "
                             f"move one of them to another server")
