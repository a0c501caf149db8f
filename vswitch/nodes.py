"""Mininet node classes for what runs on the emulated hardware: physical servers and tenant VMs."""
from __future__ import annotations

import ctypes
import os
import signal
from typing import Any

from mininet.node import Host

from topologies.scenario import VM

PR_SET_PDEATHSIG = 1
MARK = "OVERLAYLAB_LAB"  # the environment variable every process of a lab carries: the lab's name
NO_IPV6 = "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1"


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

    def _popen(self, cmd: list[str], **params: Any) -> Any:
        params.setdefault("preexec_fn", die_with_parent)
        if self.mark:
            params["env"] = {**(params.get("env") or os.environ), MARK: self.mark}
        return super()._popen(cmd, **params)  # type: ignore[misc]


class _Quiet(Orphanless, Host):
    """A host without IPv6 chatter, whose veth computes its own checksums: TCP through userspace OVS
    needs tx checksum offload off (without it ping works and TCP silently hangs)."""

    def config(self, **params: Any) -> Any:
        result = super().config(**params)
        self.cmd(f"{NO_IPV6}; ethtool -K {self.defaultIntf()} tx off >/dev/null 2>&1")
        return result


class PhysicalServer(_Quiet):
    """A physical server: its own namespace, one uplink to its edge switch (eth0), and, once
    virtualized, its own virtual switch (see vswitch.ovs)."""


class VirtualMachine(_Quiet):
    """A tenant VM: a namespace behind a veth into its server's br-int, with an MTU that leaves room
    for its tenant's outer headers; in a routed tenant, a default route to its subnet's gateway; when
    dual-stack, its IPv6 address (no duplicate detection: its virtual switch owns every answer) and, routed,
    an IPv6 default route too."""

    def config(self, mtu: int = 1500, gateway: str | None = None, ip6: str | None = None,
               gateway6: str | None = None, **params: Any) -> Any:
        result = super().config(**params)
        intf = self.defaultIntf()
        self.cmd(f"ip link set dev {intf} mtu {mtu}")
        if gateway:
            self.cmd(f"ip route replace default via {gateway} dev {intf}")
        if ip6:
            self.cmd(f"{_ipv6_on(str(intf))}; ip -6 addr replace {ip6} dev {intf} nodad")
        if gateway6:
            self.cmd(f"ip -6 route replace default via {gateway6} dev {intf}")
        return result


def _ipv6_on(intf: str) -> str:
    """IPv6 on the VM's interface alone, without router solicitation, autoconfiguration or duplicate
    detection (which would hold the address back for a second)."""
    conf = f"net/ipv6/conf/{intf}"
    return (f"sysctl -qw net/ipv6/conf/all/disable_ipv6=0 {conf}/disable_ipv6=0 {conf}/accept_dad=0 "
            f"{conf}/accept_ra=0 {conf}/router_solicitations=0 {conf}/dad_transmits=0")


def addressing(vm: VM) -> dict[str, str | None]:
    """How a VM's node is addressed: its IPv4 address (None: IPv6-only, and Mininet then gives it none), its
    IPv6 address, and its gateways when routed."""
    return {"ip": str(vm.ip) if vm.ip else None, "gateway": str(vm.gateway) if vm.routed and vm.ip else None,
            "ip6": str(vm.ip6) if vm.ip6 else None,
            "gateway6": str(vm.gateway6) if vm.routed and vm.ip6 else None}
