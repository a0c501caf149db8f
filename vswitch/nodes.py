"""Mininet node classes for what runs on the emulated hardware: physical servers and tenant VMs."""
from __future__ import annotations

import ctypes
import os
import signal
from dataclasses import replace
from typing import Any

from mininet.link import Intf, Link
from mininet.node import Host

from topologies.scenario import VM
from vswitch import wiring
from vswitch.wiring import Setup

PR_SET_PDEATHSIG = 1
MARK = "OVERLAYLAB_LAB"  # the environment variable every process of a lab carries: the lab's name
DIES_WITH_PARENT = ("setpriv", "--pdeathsig", "KILL")  # a command's prefix: it dies if the lab does


def die_with_parent() -> None:
    """preexec_fn: the kernel kills this child if the lab dies, so a killed lab leaves fewer orphans."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Orphanless:
    """Node shells die with the lab, so even a SIGKILLed lab takes its namespaces with it; and they carry
    the lab's mark (`OVERLAYLAB_LAB=<name>` in their environment, handed down to everything started in
    them), by which `overlaylab clean` finds a crashed lab's processes."""

    def __init__(self, name: str, mark: str = "", **params: Any) -> None:
        self.mark = mark
        super().__init__(name, **params)  # type: ignore[call-arg]

    def _popen(self, cmd: list[str] | str, **params: Any) -> Any:
        """Through `setpriv --pdeathsig`, not a preexec_fn doing the same: with a preexec_fn Python forks the
        whole lab process (hundreds of MiB, dozens of threads) where it would otherwise vfork; k=8's 474 node
        shells took 4.7 of the network's 7 s to start so, on 2 cores."""
        if self.mark:
            params["env"] = {**(params.get("env") or os.environ), MARK: self.mark}
        words = cmd.split() if isinstance(cmd, str) else list(cmd)
        return super()._popen([*DIES_WITH_PARENT, *words], **params)  # type: ignore[misc]


class Wired(Orphanless, Host):
    """A host set up from the lab's process (vswitch.wiring): IPv6 off but where asked, and its data interface
    computing its own checksums: TCP through userspace OVS needs tx checksum offload off (without it ping works
    and TCP silently hangs)."""

    def config(self, **params: Any) -> dict[str, Any]:
        setup = self.wanted(**params)
        self.wire(setup)
        intf = self.defaultIntf()
        if intf is not None:  # what Mininet's own setMAC and setIP would have noted
            intf.mac = setup.mac or intf.mac
            if setup.ip:
                intf.ip, intf.prefixLen = setup.ip.split("/")
        return {}

    def wanted(self, mac: str | None = None, ip: str | None = None, defaultRoute: str | None = None,  # noqa: N803
              **_params: Any) -> Setup:
        """How this host is set up, from Mininet's parameters (`defaultRoute="via 10.0.1.1"`)."""
        intf = self.defaultIntf()
        return Setup(intf=intf.name if intf is not None else None, mac=mac, ip=ip, gateway=_gateway(defaultRoute))

    def wire(self, setup: Setup) -> None:
        """Over netlink, from here (a node on another machine runs `wiring.commands` instead)."""
        wiring.apply(self.pid, setup)


class CableEnd(Intf):
    """One end of a `Cable`: made with its name and MAC and brought up by the cable, so none of Mininet's
    `ifconfig`s are needed."""

    def config(self, mac: str | None = None, **_params: Any) -> dict[str, Any]:
        self.mac = mac
        return {}


class Cable(Link):
    """Mininet's veth link between two nodes on this machine, made over netlink from here (vswitch.wiring)."""

    def __init__(self, node1: Any, node2: Any, **params: Any) -> None:
        super().__init__(node1, node2, **{**params, "intf": CableEnd})

    @staticmethod
    def makeIntfPair(intfname1: str, intfname2: str, addr1: str | None = None, addr2: str | None = None,  # noqa: N802
                     node1: Any = None, node2: Any = None, deleteIntfs: bool = True) -> None:  # noqa: N803
        wiring.veth(intfname1, node1.pid, addr1, intfname2, node2.pid, addr2)


def _gateway(route: str | None) -> str | None:
    if route is None:
        return None
    words = route.split()
    if len(words) != 2 or words[0] != "via":
        raise ValueError(f"a host's defaultRoute is 'via GATEWAY', not {route!r}")
    return words[1]


class PhysicalServer(Wired):
    """A physical server: its own namespace, one uplink to its edge switch (eth0), and, once
    virtualized, its own virtual switch (see vswitch.ovs)."""


class VirtualMachine(Wired):
    """A tenant VM: a namespace behind a veth into its server's br-int, with an MTU that leaves room
    for its tenant's outer headers; in a routed tenant, a default route to its subnet's gateway; when
    dual-stack, its IPv6 address (no duplicate detection: its virtual switch owns every answer) and, routed,
    an IPv6 default route too."""

    def wanted(self, mtu: int = 1500, gateway: str | None = None, ip6: str | None = None,  # type: ignore[override]
              gateway6: str | None = None, **params: Any) -> Setup:
        return replace(super().wanted(**params), mtu=mtu, gateway=gateway, ip6=ip6, gateway6=gateway6)


def addressing(vm: VM) -> dict[str, str | None]:
    """How a VM's node is addressed: its IPv4 address (None: IPv6-only, and Mininet then gives it none), its
    IPv6 address, and its gateways when routed."""
    return {"ip": str(vm.ip) if vm.ip else None, "gateway": str(vm.gateway) if vm.routed and vm.ip else None,
            "ip6": str(vm.ip6) if vm.ip6 else None,
            "gateway6": str(vm.gateway6) if vm.routed and vm.ip6 else None}
