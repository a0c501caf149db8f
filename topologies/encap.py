"""What the lab knows about each encapsulation and each kind of VTEP, in one place.

A scenario names them as text (`encap: gre`, `vtep: kernel`); validation turns the text into these
values once, and every layer (the controller's tunnel ports, the VMs' MTU, the kernel VTEP, the
probes that forge and dissect tunnel packets) reads its facts from here.
"""
from __future__ import annotations

import importlib
from enum import Enum
from typing import Any

from topologies.names import TUNNEL_PORTS

UNDERLAY_MTU = 1500
OUTER_IP = 20  # an IPv4 header without options
INNER_ETHERNET = 14  # the tenant's frame keeps its Ethernet header inside the tunnel


class Encap(Enum):
    """A tunnel protocol: the OpenFlow port of its tunnel on br-int, how the underlay recognises it (a
    UDP destination port, or an IP protocol), its header, and the scapy layer that reads it."""

    VXLAN = ("vxlan", TUNNEL_PORTS["vxlan"], 4789, None, 8, "scapy.layers.vxlan", "VXLAN")
    GENEVE = ("geneve", TUNNEL_PORTS["geneve"], 6081, None, 8, "scapy.contrib.geneve", "GENEVE")
    GRE = ("gre", TUNNEL_PORTS["gre"], None, 47, 8, "scapy.layers.l2", "GRE")  # with the key field that carries the VNI

    def __init__(self, text: str, ofport: int, udp_port: int | None, ip_proto: int | None, header: int,
                 module: str, layer: str) -> None:
        self.text, self.ofport, self.udp_port, self.ip_proto = text, ofport, udp_port, ip_proto
        self.header, self._module, self._layer = header, module, layer

    def __str__(self) -> str:
        return self.text

    @classmethod
    def named(cls, text: object) -> Encap | None:
        """The encapsulation a scenario calls `text`, or None."""
        return next((e for e in cls if e.text == text), None)

    @classmethod
    def on_udp_port(cls, port: int) -> Encap | None:
        return _BY_UDP_PORT.get(port)

    @property
    def overhead(self) -> int:
        """Bytes the tunnel adds to a tenant's IP packet on the underlay."""
        return OUTER_IP + (8 if self.udp_port else 0) + self.header + INNER_ETHERNET

    @property
    def inner_mtu(self) -> int:
        """The largest IP packet a VM may send so that its tunnel packet fits the underlay's 1500."""
        return UNDERLAY_MTU - self.overhead

    def scapy_layer(self) -> Any:
        """The scapy class of the tunnel header (imported on demand: the controller never needs scapy)."""
        return getattr(importlib.import_module(self._module), self._layer)


_BY_UDP_PORT = {e.udp_port: e for e in Encap if e.udp_port}
NAMES = tuple(e.text for e in Encap)


class Vtep(Enum):
    """Who encapsulates for a tenant member: its server's Open vSwitch (a VM), or the Linux kernel's
    VXLAN device of a bare-metal server."""

    OVS = "ovs"
    KERNEL = "kernel"

    def __str__(self) -> str:
        return self.value
