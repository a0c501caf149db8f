"""The scenario file: the lab's desired state, validated into dataclasses before anything is built.

Every problem is one `ScenarioError` line naming the file, the key and the fix, as in
`lecture.yaml: tenants.pepsi.vni: 0 is out of range; use 1..16777215`.
"""
from __future__ import annotations

import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

import yaml

from topologies import strictyaml
from topologies.encap import NAMES as ENCAP_NAMES
from topologies.encap import Encap, Vtep
from topologies.fattree import FatTree, Server, k_problem, mac_of
from topologies.names import VM_PORTS
from topologies.quoting import quote

BUNDLED = Path(__file__).resolve().parent
DEFAULT_SCENARIO = BUNDLED / "lecture.yaml"
VNI_MAX = 2 ** 24 - 1
MAX_VMS_PER_SERVER = len(VM_PORTS)  # a VM per br-int port of topologies.names' plan
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")  # whole names only (fullmatch)
MAC_RE = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
MAX_BYTES = 1 << 20  # a scenario is a few kilobytes; anything near this is not one
MAX_LINE = 300
TOP_KEYS = ("description", "fabric", "tenants")
FABRIC_KEYS = ("type", "k")
TENANT_KEYS = ("vni", "encap", "vms")
VM_KEYS = ("ip", "server", "mac", "vtep")
FABRIC_SPACE = IPv4Network("10.0.0.0/8")  # the servers' hierarchical addresses (10.pod.edge.host)
FABRIC_MACS = mac_of(FABRIC_SPACE.network_address)[:8]  # servers' and routers' MACs spell their 10.x address


class Mode(Enum):
    """How VMs reach each other: encapsulated between servers (the overlay), or routed by the underlay
    itself, address by address, with no encapsulation (flat: the lecture's "naive" alternative)."""

    OVERLAY = "overlay"
    FLAT = "flat"

    def __str__(self) -> str:
        return self.value


class ScenarioError(ValueError):
    """A scenario the lab refuses to build, with the one-line reason and fix."""


def key_text(key: Any) -> str:
    """A key in an error's path: as written when it is a plain name, quoted otherwise (newlines, NUL or
    terminal escapes must not spill into the message)."""
    return key if isinstance(key, str) and NAME_RE.fullmatch(key) else quote(key)


def _refusal(message: str) -> ScenarioError:
    """One printable line, however odd the file, its name or its keys."""
    line = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in message)
    return ScenarioError(line if len(line) <= MAX_LINE else line[:MAX_LINE - 3] + "...")


@dataclass(frozen=True)
class VM:
    """A tenant's virtual machine (or, with vtep 'kernel', a bare-metal member) on a physical server."""

    tenant: str
    vni: int
    encap: Encap  # the tenant's
    name: str
    ip: IPv4Interface
    server: Server
    mac: str
    vtep: Vtep = Vtep.OVS
    port: int = 0  # its OpenFlow port on its server's br-int (0: bare metal, no virtual switch)

    @property
    def label(self) -> str:
        """How users see it everywhere: tenant/vm."""
        return f"{self.tenant}/{self.name}"

    @property
    def bare_metal(self) -> bool:
        """A server that is not virtualized, its kernel the tenant's VTEP; not a VM on a virtual switch."""
        return self.vtep is Vtep.KERNEL


@dataclass(frozen=True)
class Tenant:
    name: str
    vni: int
    encap: Encap
    vms: tuple[VM, ...]


@dataclass(frozen=True)
class Scenario:
    source: str  # how errors and reports name the file
    description: str
    fabric: FatTree
    tenants: tuple[Tenant, ...]
    path: Path | None = None  # the file itself, for whoever must read the very same scenario
    mode: Mode = Mode.OVERLAY  # how the lab runs it (a command's --mode), not part of the file

    @property
    def flat(self) -> bool:
        return self.mode is Mode.FLAT

    @property
    def vms(self) -> tuple[VM, ...]:
        return tuple(vm for t in self.tenants for vm in t.vms)


def document(scenario: Scenario) -> dict[str, Any]:
    """The scenario as the YAML a user would write (parse() of it gives the same scenario back): what
    `scenario save` writes and what the controller's API exchanges."""
    def vm_doc(vm: VM) -> dict[str, str]:
        doc = {"ip": str(vm.ip), "server": vm.server.name}
        if vm.mac != derived_mac(vm.vni, vm.ip.ip):
            doc["mac"] = vm.mac
        if vm.bare_metal:
            doc["vtep"] = vm.vtep.value
        return doc
    return {"description": scenario.description, "fabric": {"type": "fattree", "k": scenario.fabric.k},
            "tenants": {t.name: {"vni": t.vni, "encap": t.encap.text, "vms": {vm.name: vm_doc(vm) for vm in t.vms}}
                        for t in scenario.tenants}}


def save(scenario: Scenario, path: str | Path) -> None:
    """The scenario as a file that load() reads back the same (`scenario save`, Lab.save)."""
    Path(path).write_text(yaml.safe_dump(document(scenario), sort_keys=False))


def derived_mac(vni: int, ip: IPv4Address) -> str:
    """02 + the VNI (3 bytes) + the IP's last 2 bytes: readable, and unique inside a tenant's subnet. A VNI
    of 2560..2815 would spell the fabric's own 02:00:0a: prefix (VNI 2560 and x.x.0.2 is server p0e0h0's
    MAC), so those start with 06, also locally administered, instead."""
    octets = [0x02, *vni.to_bytes(3, "big"), *ip.packed[2:]]
    mac = ":".join(f"{b:02x}" for b in octets)
    return "06" + mac[2:] if mac.startswith(FABRIC_MACS) else mac


class _Checker:
    """Walks the parsed YAML, remembering the file name so each error can say where it is."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> ScenarioError:
        where = f"{self.source}: {path}: " if path else f"{self.source}: "
        return _refusal(where + message)

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...] | None = None) -> Mapping[str, Any]:
        """The mapping at `path`; with `allowed`, any other key is an error."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}; "
                                  f"write it as `key: value` lines")
        for key in value:
            if allowed is not None and key not in allowed:
                raise self.fail(f"{path}.{key_text(key)}" if path else key_text(key),
                                f"unknown key; allowed here: {', '.join(allowed)}")
        return value

    def name(self, value: Any, path: str, what: str) -> str:
        if not isinstance(value, str) or not NAME_RE.fullmatch(value):
            raise self.fail(path, f"{quote(value)} is not a valid {what} name; use letters, digits, '_', "
                                  f"'.' or '-' (at most 63, starting with a letter or digit)")
        return value


def parse(data: Any, source: str = "<scenario>", k: int | None = None, mode: Mode = Mode.OVERLAY) -> Scenario:
    """Validate parsed YAML into a Scenario; `k` (from --k) overrides fabric.k; `mode` flat also refuses
    what the underlay cannot route by VM address alone."""
    check = _Checker(source)
    if data is None:
        raise check.fail("", "the file is empty (or only comments, or null); describe a lab, at least "
                             "`fabric: {k: 4}`")
    top = check.mapping(data, "", TOP_KEYS)
    fabric = _fabric(check, top.get("fabric"), k)
    tenants = _tenants(check, top.get("tenants"), fabric)
    _check_servers(check, tenants)
    tenants = _rebound(tenants, _first_ports(tenants))
    if mode is Mode.FLAT:
        _check_flat(check, tenants)
    description = top.get("description") or ""
    if not isinstance(description, str):
        raise check.fail("description", f"{quote(description)} is not text; write a sentence, in quotes if need be")
    if any(not (c.isprintable() or c in "\n\t") for c in description):
        raise check.fail("description", f"{quote(description)} holds control characters (a terminal escape "
                                        f"would be printed raw at `up`); write plain text")
    return Scenario(source, description.strip(), fabric, tenants, mode=mode)


def _check_flat(check: _Checker, tenants: tuple[Tenant, ...]) -> None:
    """Flat mode routes VM addresses in the underlay, next to the servers' own: every VM address must be
    unique in the whole datacenter and outside the fabric's space, and there is no tunnel to a kernel VTEP."""
    vms = [vm for t in tenants for vm in t.vms]
    owners: dict[IPv4Address, str] = {}
    for vm in vms:
        if vm.ip.ip in owners:
            raise check.fail(f"tenants.{vm.tenant}.vms.{vm.name}.ip",
                             f"{vm.ip.ip} is also {owners[vm.ip.ip]}'s; in flat mode the underlay routes VM "
                             f"addresses, and one address leads to one VM: telling tenants apart takes the "
                             f"overlay's virtual network ID (run without --mode flat)")
        owners[vm.ip.ip] = vm.label
    for vm in vms:
        where = f"tenants.{vm.tenant}.vms.{vm.name}"
        if vm.bare_metal:
            raise check.fail(f"{where}.vtep", "a bare-metal member is reached through its kernel's VXLAN "
                                              "tunnel, and flat mode has no tunnels; run it in overlay mode")
        if vm.ip.ip in FABRIC_SPACE:
            raise check.fail(f"{where}.ip", f"{vm.ip.ip} is in the fabric's own {FABRIC_SPACE}, which flat mode "
                                            f"routes to servers; give the VM an address outside it")


def load(path: str | Path | None = None, k: int | None = None, mode: Mode = Mode.OVERLAY) -> Scenario:
    """Read and validate a scenario file (the bundled default when path is None), to run in `mode`."""
    path = Path(path) if path is not None else DEFAULT_SCENARIO
    source = path.name if path.parent == BUNDLED else str(path)
    text = _read(path, source)
    try:
        data = strictyaml.load(text)
    except yaml.YAMLError as exc:
        raise _refusal(_yaml_problem(source, exc)) from None
    except RecursionError:
        raise _refusal(f"{source}: nested too deeply to read; a scenario needs a few levels of `key: value`") from None
    return replace(parse(data, source, k, mode), path=path.resolve())


def _read(path: Path, source: str) -> str:
    """The file's text, if it is a regular file of a sane size in UTF-8 (never a FIFO, a device or a log)."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise _refusal(f"{source}: not a regular file (a directory, FIFO or device?); give the path of a "
                           f".yaml scenario")
        if info.st_size > MAX_BYTES:
            raise _refusal(f"{source}: {info.st_size} bytes is too large for a scenario (at most "
                           f"{MAX_BYTES} bytes); is this the right file?")
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        bundled = ", ".join(sorted(p.name for p in BUNDLED.glob("*.yaml")))
        raise _refusal(f"{source}: cannot read it ({exc.strerror}); bundled scenarios: {bundled}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refusal(f"{source}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                       f"save it as UTF-8") from None


def _yaml_problem(source: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, strictyaml.DuplicateKeyError):
        return f"{where}: {problem}; every tenant and VM name must be unique in its mapping"
    if isinstance(exc, yaml.constructor.ConstructorError):
        return f"{where}: {problem}"
    return f"{where}: not valid YAML ({problem}); check indentation and `key: value` syntax"


def _fabric(check: _Checker, value: Any, k: int | None) -> FatTree:
    fabric = check.mapping(value, "fabric", FABRIC_KEYS)
    kind = fabric.get("type", "fattree")
    if kind != "fattree":
        raise check.fail("fabric.type", f"unknown fabric type {quote(kind)}; use fattree")
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
    vms = check.mapping(spec.get("vms"), f"{path}.vms")
    built = tuple(_vm(check, Tenant(name, vni, encap, ()), vm, body, fabric) for vm, body in vms.items())
    _check_unique(check, path, built)
    if any(vm.bare_metal for vm in built) and encap is not Encap.VXLAN:
        raise check.fail(f"{path}.encap", f"{encap} cannot reach a `vtep: kernel` member; "
                                          f"kernel VTEPs speak VXLAN only, so use encap: vxlan")
    return Tenant(name, vni, encap, built)


def _vm(check: _Checker, tenant: Tenant, name: Any, body: Any, fabric: FatTree) -> VM:
    path = f"tenants.{tenant.name}.vms.{key_text(name)}"
    check.name(name, path, "VM")
    spec = check.mapping(body, path, VM_KEYS)
    ip = _interface(check, spec.get("ip"), f"{path}.ip")
    named = spec.get("server")
    server = fabric.server(named) if isinstance(named, str) else None
    if server is None:
        first, last = fabric.servers[0].name, fabric.servers[-1].name
        raise check.fail(f"{path}.server", f"no server {quote(named)} in a k={fabric.k} fat-tree; "
                                           f"use one of {first} .. {last} (p<pod>e<edge>h<host>)")
    mac = _mac(check, spec["mac"], f"{path}.mac") if "mac" in spec else derived_mac(tenant.vni, ip.ip)
    vtep = next((v for v in Vtep if v.value == spec.get("vtep", Vtep.OVS.value)), None)
    if vtep is None:
        raise check.fail(f"{path}.vtep", f"unknown VTEP {quote(spec.get('vtep'))}; use kernel "
                                         f"(or leave it out for a VM)")
    return VM(tenant.name, tenant.vni, tenant.encap, name, ip, server, mac, vtep)


def _mac(check: _Checker, value: Any, path: str) -> str:
    """A MAC written out: six hex bytes, unicast, not all zeros (leave `mac:` out to have one derived)."""
    mac = value.lower() if isinstance(value, str) else ""
    if not MAC_RE.fullmatch(mac) or int(mac[:2], 16) & 1 or mac == "00:00:00:00:00:00":
        raise check.fail(path, f"{quote(value)} is not a unicast MAC; write six hex bytes with an even first "
                               f"byte, e.g. 02:00:00:00:00:01, or leave mac: out to have one derived")
    if mac.startswith(FABRIC_MACS):
        raise check.fail(path, f"{mac} is in the fabric's own {FABRIC_MACS}.. (a server's or router's MAC spells "
                               f"its 10.x address); write another, or leave mac: out to have one derived")
    return mac


def _interface(check: _Checker, value: Any, path: str) -> IPv4Interface:
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


def _first_ports(tenants: tuple[Tenant, ...]) -> dict[str, int]:
    """A new lab's port numbers: each server's VMs take br-int ports 1, 2, ... in scenario order."""
    taken: dict[Server, int] = {}
    ports = {}
    for vm in (vm for t in tenants for vm in t.vms if not vm.bare_metal):
        taken[vm.server] = ports[vm.label] = taken.get(vm.server, 0) + 1
    return ports


def _rebound(tenants: tuple[Tenant, ...], ports: Mapping[str, int]) -> tuple[Tenant, ...]:
    return tuple(replace(t, vms=tuple(replace(vm, port=ports.get(vm.label, 0)) for vm in t.vms)) for t in tenants)


def bind(scenario: Scenario, ports: Mapping[str, int]) -> Scenario:
    """The scenario with its VMs on the given br-int ports (a running lab's: a VM keeps its port while
    others come and go). Every VM needs one, in 1..MAX_VMS_PER_SERVER and its own on its server."""
    check = _Checker(scenario.source)
    used: dict[tuple[Server, int], str] = {}
    for vm in (vm for vm in scenario.vms if not vm.bare_metal):
        port = ports.get(vm.label)
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= MAX_VMS_PER_SERVER:
            raise check.fail(f"ports.{vm.label}", f"{quote(port)} is not a VM port; use 1..{MAX_VMS_PER_SERVER}")
        if (vm.server, port) in used:
            raise check.fail(f"ports.{vm.label}", f"port {port} of {vm.server.name} is already "
                                                  f"{used[(vm.server, port)]}'s; give each VM its own")
        used[(vm.server, port)] = vm.label
    return replace(scenario, tenants=_rebound(scenario.tenants, ports))


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


def _check_servers(check: _Checker, tenants: tuple[Tenant, ...]) -> None:
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
