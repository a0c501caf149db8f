"""The scenario's model: tenants, their VMs and the fabric they run on, as frozen dataclasses, and the
one-line error a scenario the lab refuses gets (topologies.scenario reads and validates the file)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network
from pathlib import Path
from typing import Any

from topologies.encap import Encap, Vtep
from topologies.fattree import FatTree, Server, mac_of
from topologies.names import VM_PORTS
from topologies.quoting import quote

MAX_VMS_PER_SERVER = len(VM_PORTS)  # a VM per br-int port of topologies.names' plan
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")  # whole names only (fullmatch)
MAX_LINE = 300
FABRIC_SPACE = IPv4Network("10.0.0.0/8")  # the servers' hierarchical addresses (10.pod.edge.ID, ID = host + 2)
FABRIC_MACS = mac_of(FABRIC_SPACE.network_address)[:8]  # servers' and routers' MACs spell their 10.x address
FLOOD_LIMIT = 100  # broadcasts and multicasts a VM may send per second, after a burst of as many


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


def refusal(message: str) -> ScenarioError:
    """One printable line, however odd the file, its name or its keys."""
    line = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in message)
    return ScenarioError(line if len(line) <= MAX_LINE else line[:MAX_LINE - 3] + "...")


class Routing(Enum):
    """How a tenant's VMs reach each other: one subnet looked up by MAC (l2), or the lecture's model, where
    every VM's default route is its subnet's gateway, answered and routed by its own server's virtual
    switch, which looks the destination up by IP (distributed, as OVN's logical routers)."""

    L2 = "l2"
    DISTRIBUTED = "distributed"


@dataclass(frozen=True)
class VM:
    """A tenant's virtual machine (or, with vtep 'kernel', a bare-metal member) on a physical server."""

    tenant: str
    vni: int
    encap: Encap  # the tenant's
    name: str
    ip: IPv4Interface | None  # None: an IPv6-only VM
    server: Server
    mac: str
    vtep: Vtep = Vtep.OVS
    port: int = 0  # its OpenFlow port on its server's br-int (0: bare metal, no virtual switch)
    routing: Routing = Routing.L2  # the tenant's
    ip6: IPv6Interface | None = None  # beside ip: a dual-stack VM; instead of it: an IPv6-only one

    @property
    def routed(self) -> bool:
        return self.routing is Routing.DISTRIBUTED

    @property
    def v4(self) -> IPv4Interface:
        """Its IPv4 address, where only one with IPv4 will do (the demo's and the exercises' VMs all have one)."""
        if self.ip is None:
            raise ValueError(f"{self.label} has no IPv4 address (it is IPv6-only)")
        return self.ip

    @property
    def gateway(self) -> IPv4Address | None:
        """Its subnet's gateway in a routed tenant: the subnet's first address, which no VM may take."""
        return self.ip.network.network_address + 1 if self.ip else None

    @property
    def gateway6(self) -> IPv6Address | None:
        """Its IPv6 subnet's gateway in a routed tenant: the subnet's first address, as in IPv4."""
        return self.ip6.network.network_address + 1 if self.ip6 else None

    def address(self, v6: bool = False) -> IPv4Address | IPv6Address:
        """Its address in one family."""
        if v6:
            assert self.ip6 is not None, f"{self.label} has no IPv6 address"
            return self.ip6.ip
        return self.v4.ip

    @property
    def addresses(self) -> tuple[IPv4Address | IPv6Address, ...]:
        """Its addresses, IPv4 first."""
        return tuple(i.ip for i in (self.ip, self.ip6) if i is not None)

    @property
    def first_address(self) -> IPv4Address | IPv6Address:
        """Its IPv4 address, or its IPv6 one when it has no other: how it is known (its MAC is made from it)."""
        return self.addresses[0]

    @property
    def gateway_mac(self) -> str:
        """The gateway's MAC, the same on every server (each answers for it): 02:fe + the VNI + 01."""
        return gateway_mac(self.vni)

    def same_subnet(self, other: VM, v6: bool = False) -> bool:
        if v6:
            return bool(self.ip6 and other.ip6 and other.ip6.ip in self.ip6.network)
        return bool(self.ip and other.ip and other.ip.ip in self.ip.network)

    def speaks_with(self, other: VM) -> bool:
        """Do the two have an address family in common (IPv4, or IPv6)?"""
        return bool((self.ip and other.ip) or (self.ip6 and other.ip6))

    def next_hop_mac(self, dst: VM, v6: bool = False) -> str:
        """The MAC it sends a packet for `dst` to: dst's own on its subnet, else its gateway's when routed."""
        return dst.mac if not self.routed or self.same_subnet(dst, v6) else self.gateway_mac

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
    routing: Routing = Routing.L2

    @property
    def subnets(self) -> list[IPv4Network]:
        """Its VMs' subnets, each once, in order."""
        return list(dict.fromkeys(vm.ip.network for vm in self.vms if vm.ip))

    @property
    def subnets6(self) -> list[IPv6Network]:
        """Its VMs' IPv6 subnets, each once, in order."""
        return list(dict.fromkeys(vm.ip6.network for vm in self.vms if vm.ip6))


def gateway_mac(vni: int) -> str:
    return f"02:fe:{vni >> 16:02x}:{(vni >> 8) & 0xff:02x}:{vni & 0xff:02x}:01"


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
        doc = {**({"ip": str(vm.ip)} if vm.ip else {}), **({"ip6": str(vm.ip6)} if vm.ip6 else {}),
               "server": vm.server.name}
        if vm.mac != derived_mac(vm.vni, vm.first_address):
            doc["mac"] = vm.mac
        if vm.bare_metal:
            doc["vtep"] = vm.vtep.value
        return doc
    def tenant_doc(t: Tenant) -> dict[str, Any]:
        doc: dict[str, Any] = {"vni": t.vni, "encap": t.encap.text}
        if t.routing is not Routing.L2:
            doc["routing"] = t.routing.value
        return {**doc, "vms": {vm.name: vm_doc(vm) for vm in t.vms}}
    return {"description": scenario.description, "fabric": {"type": "fattree", "k": scenario.fabric.k},
            "tenants": {t.name: tenant_doc(t) for t in scenario.tenants}}


def derived_mac(vni: int, ip: IPv4Address | IPv6Address) -> str:
    """02 + the VNI (3 bytes) + the IP's last 2 bytes: readable, and unique inside a tenant's subnet. A VNI
    of 2560..2815 would spell the fabric's own 02:00:0a: prefix (VNI 2560 and x.x.0.2 is server p0e0h0's
    MAC), so those start with 06, also locally administered, instead."""
    octets = [0x02, *vni.to_bytes(3, "big"), *ip.packed[-2:]]
    mac = ":".join(f"{b:02x}" for b in octets)
    return "06" + mac[2:] if mac.startswith(FABRIC_MACS) else mac


class Checker:
    """Walks the parsed YAML, remembering the file name so each error can say where it is."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> ScenarioError:
        where = f"{self.source}: {path}: " if path else f"{self.source}: "
        return refusal(where + message)

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


