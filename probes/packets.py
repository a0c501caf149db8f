"""Probe packets, crafted and dissected with scapy: what a VM (or a rogue host) puts on the wire,
and what the underlay carries.

Every probe carries a token (MAGIC + 6 bytes) right after its transport header, so wherever it turns
up, in a VM or inside a tunnel on an underlay link, it is known for what it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    ICMPv6NDOptUnknown,
    IPv6,
)
from scapy.layers.l2 import ARP, GRE, Ether
from scapy.packet import Packet, Raw

from topologies.encap import Encap

MAGIC = b"OLAB"
TOKEN_LEN = 10
PROTOS = ("icmp", "udp", "tcp")
PROTOS6 = ("icmp6", "udp6", "tcp6")  # the same probes over IPv6 (ICMPv6 echo, UDP, TCP SYN)
ALL_MULTICAST = "33:33:00:00:00:01"  # ff02::1 on Ethernet
ECHO6_REQUEST, ND_SOLICIT, ND_ADVERT = 128, 135, 136
ND_TOKEN_AT = 24 + 8 + 2  # from the start of an advertisement: its header, the target MAC option, our option's
UDP_PORT, TCP_PORT = 7777, 80
TEB = 0x6558  # GRE and GENEVE carrying Ethernet (transparent Ethernet bridging)
TUNNEL_LAYERS = [encap.scapy_layer() for encap in Encap]  # imported, so scapy dissects every tunnel
BROADCAST = "ff:ff:ff:ff:ff:ff"
ECHO_TYPES = (0, 8)  # an ICMP echo's id is its flow; an ICMP error has none


@dataclass(frozen=True)
class Host:
    """Who sends: a MAC and an IP (a VM, or a host pretending to be one)."""

    mac: str
    ip: IPv4Address | IPv6Address


def probe(proto: str, src: Host, dst: Host, token: bytes, flow: int = 0) -> bytes:
    """An ICMP echo request, a UDP datagram or a TCP SYN from src to dst carrying `token` (over IPv6 for
    the PROTOS6 names: an ICMPv6 echo request, ...); `flow` picks the source port (or ICMP id), so each
    probe is a flow of its own."""
    echo = ICMPv6EchoRequest(id=flow & 0xFFFF, seq=1) if proto == "icmp6" else ICMP(type=8, id=flow & 0xFFFF, seq=1)
    l4 = {"icmp": echo, "udp": UDP(sport=20000 + flow % 40000, dport=UDP_PORT),
          "tcp": TCP(sport=20000 + flow % 40000, dport=TCP_PORT, flags="S", seq=flow)}[proto.removesuffix("6")]
    ip = IPv6(src=str(src.ip), dst=str(dst.ip)) if proto in PROTOS6 else IP(src=str(src.ip), dst=str(dst.ip))
    return bytes(Ether(src=src.mac, dst=dst.mac) / ip / l4 / Raw(token))


def solicit(sender: Host, target: IPv6Address) -> bytes:
    """A neighbour solicitation for `target` to its solicited-node multicast group, as a kernel sends it."""
    group = IPv6Address(int(IPv6Address("ff02::1:ff00:0")) | int(target) & 0xFFFFFF)
    mac = "33:33:" + ":".join(f"{b:02x}" for b in group.packed[-4:])
    return bytes(Ether(src=sender.mac, dst=mac) / IPv6(src=str(sender.ip), dst=str(group), hlim=255)
                 / ICMPv6ND_NS(tgt=str(target)) / ICMPv6NDOptSrcLLAddr(lladdr=sender.mac))


def advertise(sender: Host, target: IPv6Address, mac: str, token: bytes = b"") -> bytes:
    """An unsolicited neighbour advertisement to every node: `target is at mac`, overriding (the NDP lie
    that poisons a neighbour cache). The token rides in an experimental option of its own (type 253),
    at ND_TOKEN_AT, so the advertisement stays well formed."""
    tag = ICMPv6NDOptUnknown(type=253, len=2, data=token.ljust(14, b"\0")) if token else b""
    return bytes(Ether(src=sender.mac, dst=ALL_MULTICAST) / IPv6(src=str(sender.ip), dst="ff02::1", hlim=255)
                 / ICMPv6ND_NA(tgt=str(target), R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=mac) / tag)


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
    if IPv6 in pkt:
        return _token6(pkt[IPv6])
    if IP not in pkt:
        return None
    l4 = pkt[IP].payload
    wanted = ((isinstance(l4, ICMP) and l4.type == 8) or (isinstance(l4, UDP) and l4.dport == UDP_PORT)
              or (isinstance(l4, TCP) and l4.flags == "S"))
    return _token(bytes(l4.payload)) if wanted else None


def _token6(ip: Packet) -> bytes | None:
    """An IPv6 probe's token: after an echo request's, datagram's or SYN's header, or in an advertisement's
    own option (read from the bytes, as fastparse reads them: scapy's reading of ND options is its own)."""
    l4, raw = ip.payload, bytes(ip.payload)
    if ip.nh == 58 and raw[:1] in (bytes([ND_ADVERT]), bytes([ECHO6_REQUEST])):
        return _token(raw[ND_TOKEN_AT if raw[0] == ND_ADVERT else 8:])
    if isinstance(l4, UDP) and l4.dport == UDP_PORT:
        return _token(raw[8:])
    if isinstance(l4, TCP) and l4.flags == "S":
        return _token(raw[(raw[12] >> 4) * 4:])
    return None


def _token(payload: bytes) -> bytes | None:
    return payload[:TOKEN_LEN] if payload.startswith(MAGIC) else None


def arp_answer(frame: bytes) -> tuple[IPv4Address, str] | None:
    """(the address asked about, the MAC given) if the frame is an ARP reply."""
    pkt = Ether(frame)
    if ARP not in pkt or pkt[ARP].op != 2:
        return None
    return IPv4Address(pkt[ARP].psrc), pkt[ARP].hwsrc


def nd_answer(frame: bytes) -> tuple[IPv6Address, str] | None:
    """(the address asked about, the MAC given) if the frame is a neighbour advertisement."""
    pkt = Ether(frame)
    if ICMPv6ND_NA not in pkt or ICMPv6NDOptDstLLAddr not in pkt:
        return None
    return IPv6Address(pkt[ICMPv6ND_NA].tgt), pkt[ICMPv6NDOptDstLLAddr].lladdr


@dataclass(frozen=True)
class Inner:
    """The frame a tunnel carries, as far as the wire checks need it."""

    raw: bytes
    mac: str  # source MAC
    ip: IPv4Address | IPv6Address | None  # source IP
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
    layer = IP if IP in pkt else IPv6 if IPv6 in pkt else None
    if not isinstance(pkt, Ether) or layer is None:
        return Inner(raw, getattr(pkt, "src", ""), None, (), None)
    ip = pkt[layer]
    proto = ip.proto if layer is IP else ip.nh
    l4 = ip.payload
    sport, dport = (l4.sport, l4.dport) if isinstance(l4, (TCP, UDP)) else (None, None)
    echo = (isinstance(l4, ICMP) and l4.type in ECHO_TYPES) or isinstance(l4, ICMPv6EchoRequest | ICMPv6EchoReply)
    flow = (ip.src, ip.dst, proto, sport, dport, l4.id if echo else None)
    return Inner(raw, pkt.src, ip_address(ip.src), flow, token_of(pkt))


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
    """The frame as a router forwards it: from the gateway's MAC to the destination's, its TTL (IPv6: hop
    limit) one lower (the IPv4 checksum computed again)."""
    pkt = Ether(frame)
    pkt.src, pkt.dst = gateway_mac, dst_mac
    if IPv6 in pkt:
        pkt[IPv6].hlim -= 1
        return bytes(pkt)
    pkt[IP].ttl -= 1
    del pkt[IP].chksum
    return bytes(pkt)
