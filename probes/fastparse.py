"""Fast readers of captured frames, for the hundred thousand frames a large lab's probing produces.

Each function here gives exactly what its scapy twin in `probes.packets` gives (`dissect`, `token_in`,
`arp_answer`) by reading the few header fields it needs with `struct`; the wire checks cross-check a
sample of frames against scapy on every run, and the unit tests do so on every shape of frame.
What is shown to people is still decoded by scapy.
"""
from __future__ import annotations

import struct
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address

from probes.packets import (
    ECHO6_REQUEST,
    ECHO_TYPES,
    MAGIC,
    ND_ADVERT,
    ND_TOKEN_AT,
    TEB,
    TOKEN_LEN,
    UDP_PORT,
    Inner,
    Wire,
)
from topologies.encap import Encap

ETH_IP, ETH_ARP, ETH_IP6 = 0x0800, 0x0806, 0x86DD
ICMP, TCP, UDP, ICMP6 = 1, 6, 17, 58
IP6_LEN = 40
ECHO6_TYPES = (ECHO6_REQUEST, ECHO6_REQUEST + 1)
ECHO_REQUEST, SYN = 8, 0x02
_ETH = struct.Struct("!6s6sH")
_MAC_FMT = ":".join(["{:02x}"] * 6)


@lru_cache(maxsize=65536)
def _mac(raw: bytes) -> str:
    return _MAC_FMT.format(*raw)


@lru_cache(maxsize=65536)
def _ip(raw: bytes) -> IPv4Address:
    """A lab has a few thousand addresses and sees each one over and over: build each object once."""
    return IPv4Address(raw)


@lru_cache(maxsize=65536)
def _ip6(raw: bytes) -> IPv6Address:
    return IPv6Address(raw)


def _ip6_header(frame: bytes, at: int) -> tuple[int, int, int] | None:
    """(header length, next header, end of the datagram) of the IPv6 header at `at` (no extension
    headers: probes carry none), or None."""
    if len(frame) < at + IP6_LEN or frame[at] >> 4 != 6:
        return None
    length = struct.unpack_from("!H", frame, at + 4)[0]
    return IP6_LEN, frame[at + 6], min(len(frame), at + IP6_LEN + length)


def _ip_header(frame: bytes, at: int) -> tuple[int, int, int] | None:
    """(header length, protocol, end of the datagram) of the IPv4 header at `at`, or None."""
    if len(frame) < at + 20 or frame[at] >> 4 != 4:
        return None
    ihl = (frame[at] & 0x0F) * 4
    total = struct.unpack_from("!H", frame, at + 2)[0]
    return ihl, frame[at + 9], min(len(frame), at + max(total, ihl))


def _payload_token(frame: bytes, at: int, end: int) -> bytes | None:
    return frame[at:at + TOKEN_LEN] if frame.startswith(MAGIC, at, end) else None


def token_in(frame: bytes) -> bytes | None:
    """The token of a probe that arrived as sent (see packets.token_in), read without scapy."""
    if MAGIC not in frame or len(frame) < 14:
        return None
    kind = struct.unpack_from("!H", frame, 12)[0]
    if kind == ETH_ARP:
        return _payload_token(frame, 14 + 28, len(frame))
    header = _ip_header(frame, 14) if kind == ETH_IP else _ip6_header(frame, 14) if kind == ETH_IP6 else None
    if header is None:
        return None
    ihl, proto, end = header
    l4 = 14 + ihl
    if proto == ICMP6 and end > l4:
        at = {ECHO6_REQUEST: l4 + 8, ND_ADVERT: l4 + ND_TOKEN_AT}.get(frame[l4])
        return _payload_token(frame, at, end) if at else None
    if proto == ICMP and end >= l4 + 8 and frame[l4] == ECHO_REQUEST:
        return _payload_token(frame, l4 + 8, end)
    if proto == UDP and end >= l4 + 8 and struct.unpack_from("!H", frame, l4 + 2)[0] == UDP_PORT:
        return _payload_token(frame, l4 + 8, end)
    if proto == TCP and end >= l4 + 20 and frame[l4 + 13] == SYN:
        return _payload_token(frame, l4 + (frame[l4 + 12] >> 4) * 4, end)
    return None


def arp_answer(frame: bytes) -> tuple[IPv4Address, str] | None:
    """(the address asked about, the MAC given) if the frame is an ARP reply (see packets.arp_answer)."""
    if len(frame) < 42 or struct.unpack_from("!HH", frame, 12) != (ETH_ARP, 1):
        return None
    if struct.unpack_from("!H", frame, 20)[0] != 2:
        return None
    return _ip(frame[28:32]), _mac(frame[22:28])


def nd_answer(frame: bytes) -> tuple[IPv6Address, str] | None:
    """(the address asked about, the MAC given) if the frame is a neighbour advertisement carrying the
    target's MAC first (see packets.nd_answer)."""
    if len(frame) < 14 + IP6_LEN + 32 or struct.unpack_from("!H", frame, 12)[0] != ETH_IP6:
        return None
    l4 = 14 + IP6_LEN
    if frame[20] != ICMP6 or frame[l4] != ND_ADVERT or frame[l4 + 24] != 2:
        return None
    return _ip6(frame[l4 + 8:l4 + 24]), _mac(frame[l4 + 26:l4 + 32])


def _inner(frame: bytes) -> Inner:
    """A tunnel's frame, IPv4 or IPv6: its source MAC and address, its 5-tuple and its token."""
    src_mac = _mac(frame[6:12]) if len(frame) >= 14 else ""
    kind = struct.unpack_from("!H", frame, 12)[0] if len(frame) >= 14 else 0
    v6 = kind == ETH_IP6
    header = _ip6_header(frame, 14) if v6 else _ip_header(frame, 14) if kind == ETH_IP else None
    if header is None:
        return Inner(frame, src_mac, None, (), None)
    length, proto, _ = header
    src, dst = (_ip6(frame[22:38]), _ip6(frame[38:54])) if v6 else (_ip(frame[26:30]), _ip(frame[30:34]))
    l4 = 14 + length
    echo, echo_types = (ICMP6, ECHO6_TYPES) if v6 else (ICMP, ECHO_TYPES)
    sport = dport = icmp_id = None
    if proto in (TCP, UDP) and len(frame) >= l4 + 4:
        sport, dport = struct.unpack_from("!HH", frame, l4)
    elif proto == echo and len(frame) >= l4 + 6 and frame[l4] in echo_types:
        icmp_id = struct.unpack_from("!H", frame, l4 + 4)[0]
    return Inner(frame, src_mac, src, (str(src), str(dst), proto, sport, dport, icmp_id), token_in(frame))


def dissect(frame: bytes) -> Wire:
    """One underlay frame taken apart, as packets.dissect does with scapy."""
    if len(frame) < 14:
        return Wire("other")
    kind = struct.unpack_from("!H", frame, 12)[0]
    if kind == ETH_ARP and len(frame) >= 42:
        return Wire("arp", _ip(frame[28:32]), _ip(frame[38:42]))
    header = _ip_header(frame, 14) if kind == ETH_IP else None
    if header is None:
        return Wire("other")
    ihl, proto, end = header
    src, dst = _ip(frame[26:30]), _ip(frame[30:34])
    l4 = 14 + ihl
    if proto == UDP and end >= l4 + 16:
        sport, dport = struct.unpack_from("!HH", frame, l4)
        tunnel = Encap.on_udp_port(dport)
        if tunnel:
            return _udp_tunnel(frame, tunnel, src, dst, sport, l4 + 8, end)
    if proto == Encap.GRE.ip_proto and end >= l4 + 4:
        return _gre(frame, src, dst, l4, end)
    return Wire("ip", src, dst)


def _udp_tunnel(frame: bytes, kind: Encap, src: IPv4Address, dst: IPv4Address, sport: int, at: int,
                end: int) -> Wire:
    vni = int.from_bytes(frame[at + 4:at + 7], "big")
    inner = at + 8 + (frame[at] & 0x3F) * 4 if kind is Encap.GENEVE else at + 8  # GENEVE: + its options
    return Wire(kind, src, dst, sport, vni, _inner(frame[inner:end]))


def _gre(frame: bytes, src: IPv4Address, dst: IPv4Address, at: int, end: int) -> Wire:
    flags, proto = struct.unpack_from("!HH", frame, at)
    checksum, key_present, sequence = flags & 0x8000, flags & 0x2000, flags & 0x1000
    offset = at + 4 + (4 if checksum else 0)
    key = struct.unpack_from("!I", frame, offset)[0] if key_present and end >= offset + 4 else None
    offset += (4 if key_present else 0) + (4 if sequence else 0)
    inner = _inner(frame[offset:end]) if proto == TEB else Inner(frame[offset:end], "", None, (), None)
    return Wire(Encap.GRE, src, dst, None, key, inner)
