"""A tenant member as the probes see it: who it is, and where its socket lives."""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

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

    @property
    def host(self) -> Host:
        return Host(self.mac, self.ip)

    @property
    def bare_metal(self) -> bool:
        """A bare-metal member, behind its server kernel's VXLAN device."""
        return self.vtep is Vtep.KERNEL
