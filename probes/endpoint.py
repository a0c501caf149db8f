"""A tenant member as the probes see it: who it is, and where its socket lives."""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from probes.packets import Host
from topologies.encap import Encap, Vtep


@dataclass(frozen=True)
class Endpoint:
    """A VM (or bare-metal member) with its tenant, addresses, server and capture point."""

    label: str
    tenant: str
    vni: int
    encap: Encap
    mac: str
    ip: IPv4Address | None  # None: an IPv6-only VM
    server_ip: IPv4Address  # the physical server it lives on
    pid: int
    iface: str
    vtep: Vtep = Vtep.OVS
    network: IPv4Network | None = None  # its subnet, where its tenant is routed
    gateway_mac: str | None = None  # its gateway's MAC, where its tenant is routed (None: an L2 tenant)
    ip6: IPv6Address | None = None  # a dual-stack VM's IPv6 address
    network6: IPv6Network | None = None  # its IPv6 subnet, where its tenant is routed
    machine: str | None = None  # the machine its namespace is on, in a lab over several (None: this one)

    @property
    def host(self) -> Host:
        """It over IPv4 (only for a member that has IPv4)."""
        assert self.ip is not None, f"{self.label} has no IPv4 address"
        return Host(self.mac, self.ip)

    def host_of(self, v6: bool = False) -> Host:
        """It in one address family."""
        if v6:
            assert self.ip6 is not None, f"{self.label} has no IPv6 address"
            return Host(self.mac, self.ip6)
        return self.host

    def neighbour(self, other: Endpoint, v6: bool = False) -> bool:
        """In its broadcast domain: its tenant's, or in a routed tenant its subnet's (of that family)."""
        if other.tenant != self.tenant:
            return False
        if v6:
            return self.network6 is None or (other.ip6 is not None and other.ip6 in self.network6)
        return self.network is None or (other.ip is not None and other.ip in self.network)

    def next_hop(self, dst: Endpoint, v6: bool = False) -> Host:
        """Where it sends a packet for `dst`: to dst's own MAC, or to its gateway's for a peer of its tenant
        on another subnet (as its default route says)."""
        target = dst.host_of(v6)
        if self.gateway_mac and dst.tenant == self.tenant and not self.neighbour(dst, v6):
            return Host(self.gateway_mac, target.ip)
        return target

    @property
    def bare_metal(self) -> bool:
        """A bare-metal member, behind its server kernel's VXLAN device."""
        return self.vtep is Vtep.KERNEL
