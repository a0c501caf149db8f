"""Probe packets, crafted and dissected with scapy: what a VM (or a rogue host) puts on the wire,
and what the underlay carries.

Every probe carries a token (MAGIC + 6 bytes) right after its transport header, so wherever it turns
up, in a VM or inside a tunnel on an underlay link, it is known for what it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, GRE, Ether
from scapy.packet import Packet, Raw

from topologies.encap import Encap

MAGIC = b"OLAB"
TOKEN_LEN = 10
PROTOS = ("icmp", "udp", "tcp")
UDP_PORT, TCP_PORT = 7777, 80
TEB = 0x6558  # GRE and GENEVE carrying Ethernet (transparent Ethernet bridging)
TUNNEL_LAYERS = [encap.scapy_layer() for encap in Encap]  # imported, so scapy dissects every tunnel
BROADCAST = "ff:ff:ff:ff:ff:ff"
ECHO_TYPES = (0, 8)  # an ICMP echo's id is its flow; an ICMP error has none


@dataclass(frozen=True)
class Host:
    """Who sends: a MAC and an IP (a VM, or a host pretending to be one)."""

    mac: str
    ip: IPv4Address


def probe(proto: str, src: Host, dst: Host, token: bytes, flow: int = 0) -> bytes:
    """An ICMP echo request, a UDP datagram or a TCP SYN from src to dst carrying `token`; `flow`
    picks the source port (or ICMP id), so each probe is a flow of its own."""
    l4 = {"icmp": ICMP(type=8, id=flow & 0xFFFF, seq=1),
          "udp": UDP(sport=20000 + flow % 40000, dport=UDP_PORT),
          "tcp": TCP(sport=20000 + flow % 40000, dport=TCP_PORT, flags="S", seq=flow)}[proto]
    return bytes(Ether(src=src.mac, dst=dst.mac) / IP(src=str(src.ip), dst=str(dst.ip)) / l4 / Raw(token))


def arp(op: str, sender: Host, target_ip: IPv4Address, target_mac: str = "00:00:00:00:00:00",
        eth_dst: str = BROADCAST, token: bytes = b"") -> bytes:
    """An ARP request ("who-has") or reply ("is-at"); the token rides in the frame's padding."""
    frame = Ether(src=sender.mac, dst=eth_dst) / ARP(op=op, hwsrc=sender.mac, psrc=str(sender.ip),
                                                     hwdst=target_mac, pdst=str(target_ip))
    return bytes(frame / Raw(token))


def encapsulated(encap: Encap, outer_src: Host, outer_dst_mac: str, outer_dst_ip: IPv4Address, vni: int,
                 inner: bytes) -> bytes:
    """A hand-made tunnel packet: `inner` wrapped in VXLAN, GENEVE or GRE with `vni`."""
    ip = Ether(src=outer_src.mac, dst=outer_dst_mac) / IP(src=str(outer_src.ip), dst=str(outer_dst_ip))
    header = encap.scapy_layer()
    if encap is Encap.GRE:
        wrapped = ip / header(key_present=1, key=vni, proto=TEB)
    else:
        fields = {"proto": TEB} if encap is Encap.GENEVE else {}
        wrapped = ip / UDP(sport=49152, dport=encap.udp_port) / header(vni=vni, **fields)
    return bytes(wrapped / Raw(inner))


def token_in(frame: bytes) -> bytes | None:
    """The token of a probe that arrived as sent: an echo request, a datagram to UDP_PORT, a SYN, or
    an ARP frame; None for anything else (replies, ICMP errors quoting a probe, tunnels)."""
    return token_of(Ether(frame)) if MAGIC in frame else None


def token_of(pkt: Packet) -> bytes | None:
    """token_in, for a frame scapy has already taken apart."""
    if ARP in pkt:
        return _token(bytes(pkt[ARP].payload))
    if IP not in pkt:
        return None
    l4 = pkt[IP].payload
    wanted = ((isinstance(l4, ICMP) and l4.type == 8) or (isinstance(l4, UDP) and l4.dport == UDP_PORT)
              or (isinstance(l4, TCP) and l4.flags == "S"))
    return _token(bytes(l4.payload)) if wanted else None


def _token(payload: bytes) -> bytes | None:
    return payload[:TOKEN_LEN] if payload.startswith(MAGIC) else None


def arp_answer(frame: bytes) -> tuple[IPv4Address, str] | None:
    """(the address asked about, the MAC given) if the frame is an ARP reply."""
    pkt = Ether(frame)
    if ARP not in pkt or pkt[ARP].op != 2:
        return None
    return IPv4Address(pkt[ARP].psrc), pkt[ARP].hwsrc


@dataclass(frozen=True)
class Inner:
    """The frame a tunnel carries, as far as the wire checks need it."""

    raw: bytes
    mac: str  # source MAC
    ip: IPv4Address | None  # source IP
    flow: tuple[object, ...]  # its 5-tuple (addresses, protocol, ports or ICMP id)
    token: bytes | None


@dataclass(frozen=True)
class Wire:
    """One frame seen on an underlay link, taken apart."""

    kind: Encap | str  # a tunnel, or arp | ip (unencapsulated IP) | other
    src: IPv4Address | None = None  # outer addresses (ARP: sender and target)
    dst: IPv4Address | None = None
    sport: int | None = None
    vni: int | None = None
    inner: Inner | None = None

    @property
    def encap(self) -> Encap | None:
        """The tunnel it is, if it is one."""
        return self.kind if isinstance(self.kind, Encap) else None


def _inner(pkt: Packet) -> Inner:
    raw = bytes(pkt)
    if not isinstance(pkt, Ether) or IP not in pkt:
        return Inner(raw, getattr(pkt, "src", ""), None, (), None)
    ip = pkt[IP]
    l4 = ip.payload
    sport, dport = (l4.sport, l4.dport) if isinstance(l4, (TCP, UDP)) else (None, None)
    icmp_id = l4.id if isinstance(l4, ICMP) and l4.type in ECHO_TYPES else None
    flow = (ip.src, ip.dst, ip.proto, sport, dport, icmp_id)
    return Inner(raw, pkt.src, IPv4Address(ip.src), flow, token_of(pkt))


def describe_frame(frame: bytes) -> str:
    """One line for a frame on the underlay: the outer header, the tunnel and its VNI, what is inside."""
    outer, tunnel, inner = header_stack(frame)
    return f"{outer} {tunnel} | inside: {inner}" if tunnel else inner


def header_stack(frame: bytes) -> tuple[str, str, str]:
    """A frame's headers from the outside in: the outer addresses and the tunnel with its VNI (both empty
    when it is not encapsulated), then the packet inside."""
    wire = dissect(frame)
    if not wire.encap:
        return "", "", Ether(frame).summary()
    port = f" sport {wire.sport}" if wire.sport is not None else ""
    inner = Ether(wire.inner.raw).summary() if wire.inner else "?"
    return f"{wire.src} -> {wire.dst}", f"{wire.encap.text.upper()}{port} VNI {wire.vni}", inner


def dissect(frame: bytes) -> Wire:
    pkt = Ether(frame)
    if ARP in pkt:
        return Wire("arp", IPv4Address(pkt[ARP].psrc), IPv4Address(pkt[ARP].pdst))
    if IP not in pkt:
        return Wire("other")
    ip = pkt[IP]
    src, dst = IPv4Address(ip.src), IPv4Address(ip.dst)
    tunnel = Encap.on_udp_port(ip.payload.dport) if isinstance(ip.payload, UDP) else None
    if tunnel:
        udp = ip.payload
        header: Packet = udp.payload
        return Wire(tunnel, src, dst, udp.sport, getattr(header, "vni", None), _inner(header.payload))
    if ip.proto == Encap.GRE.ip_proto and isinstance(ip.payload, GRE):
        gre = ip.payload
        return Wire(Encap.GRE, src, dst, None, gre.key if gre.key_present else None, _inner(gre.payload))
    return Wire("ip", src, dst)


def routed(frame: bytes, gateway_mac: str, dst_mac: str) -> bytes:
    """The frame as a router forwards it: from the gateway's MAC to the destination's, its TTL one lower
    (the IP checksum computed again)."""
    pkt = Ether(frame)
    pkt.src, pkt.dst = gateway_mac, dst_mac
    pkt[IP].ttl -= 1
    del pkt[IP].chksum
    return bytes(pkt)
