"""A tenant member as the probes see it: who it is, and where its socket lives."""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

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
    ip: IPv4Address
    server_ip: IPv4Address  # the physical server it lives on
    pid: int
    iface: str
    vtep: Vtep = Vtep.OVS
    network: IPv4Network | None = None  # its subnet, where its tenant is routed
    gateway_mac: str | None = None  # its gateway's MAC, where its tenant is routed (None: an L2 tenant)

    @property
    def host(self) -> Host:
        return Host(self.mac, self.ip)

    def neighbour(self, other: Endpoint) -> bool:
        """In its broadcast domain: its tenant's, or in a routed tenant its subnet's."""
        return other.tenant == self.tenant and (self.network is None or other.ip in self.network)

    def next_hop(self, dst: Endpoint) -> Host:
        """Where it sends a packet for `dst`: to dst's own MAC, or to its gateway's for a peer of its tenant
        on another subnet (as its default route says)."""
        if self.gateway_mac and dst.tenant == self.tenant and not self.neighbour(dst):
            return Host(self.gateway_mac, dst.ip)
        return dst.host

    @property
    def bare_metal(self) -> bool:
        """A bare-metal member, behind its server kernel's VXLAN device."""
        return self.vtep is Vtep.KERNEL
