"""Probe frames at scale: scapy builds one template per shape, and each probe is the template with its
addresses, ports and token stamped into the bytes (checksums recomputed).

Crafting 200,000 probes with scapy takes minutes; stamping takes about a second. scapy stays the
source of truth for every header: a template is whatever scapy builds, and the unit tests prove that
a stamped frame equals the one scapy builds from the same values, byte for byte.
"""
from __future__ import annotations

import struct
from functools import cache
from ipaddress import IPv4Address, IPv6Address

from probes.packets import PROTOS6, Host, arp, probe, solicit

ETH, IP_LEN, IP6_LEN = 14, 20, 40  # scapy's Ether and option-less IP header lengths, and IPv6's
# Where each protocol keeps its checksum and its "flow" fields, from the start of the L4 header.
_CSUM = {"icmp": 2, "udp": 6, "tcp": 16}
_IP_PROTO = {"icmp": 1, "udp": 17, "tcp": 6, "icmp6": 58, "udp6": 17, "tcp6": 6}


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of `data`."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


@cache
def _template(proto: str, token_len: int) -> bytearray:
    """scapy's frame for this shape, with placeholder addresses, ports and token."""
    nobody = IPv6Address(0) if proto in PROTOS6 else IPv4Address(0)
    placeholder = Host("00:00:00:00:00:00", nobody)
    return bytearray(probe(proto, placeholder, placeholder, bytes(token_len)))


def stamp_probe(proto: str, src: Host, dst: Host, token: bytes, flow: int = 0) -> bytes:
    """Exactly `packets.probe(proto, src, dst, token, flow)`, without building it in scapy."""
    frame = _template(proto, len(token))[:]
    frame[0:6], frame[6:12] = _mac(dst.mac), _mac(src.mac)
    if proto in PROTOS6:  # addresses only: IPv6 has no header checksum
        l4 = ETH + IP6_LEN
        frame[ETH + 8:l4] = src.ip.packed + dst.ip.packed
    else:
        l4 = ETH + IP_LEN
        frame[ETH + 12:ETH + 20] = src.ip.packed + dst.ip.packed
        frame[ETH + 10:ETH + 12] = b"\0\0"
        frame[ETH + 10:ETH + 12] = struct.pack("!H", checksum(bytes(frame[ETH:l4])))
    kind = proto.removesuffix("6")
    if kind == "icmp":
        frame[l4 + 4:l4 + 6] = struct.pack("!H", flow & 0xFFFF)
    else:
        frame[l4:l4 + 2] = struct.pack("!H", 20000 + flow % 40000)
    if kind == "tcp":
        frame[l4 + 4:l4 + 8] = struct.pack("!I", flow)
    frame[-len(token):] = token
    _l4_checksum(frame, proto, l4, src, dst)
    return bytes(frame)


def _l4_checksum(frame: bytearray, proto: str, l4: int, src: Host, dst: Host) -> None:
    """The transport checksum; over IPv6 every one (ICMPv6's too) covers the pseudo-header."""
    at = l4 + _CSUM[proto.removesuffix("6")]
    frame[at:at + 2] = b"\0\0"
    segment = bytes(frame[l4:])
    addresses = src.ip.packed + dst.ip.packed
    if proto == "icmp":
        covered = segment
    elif proto in PROTOS6:
        covered = addresses + struct.pack("!I3xB", len(segment), _IP_PROTO[proto]) + segment
    else:
        covered = addresses + struct.pack("!BBH", 0, _IP_PROTO[proto], len(segment)) + segment
    value = checksum(covered)
    if proto.startswith("udp") and value == 0:
        value = 0xFFFF  # UDP sends a computed 0 as all ones (0 means "no checksum")
    frame[at:at + 2] = struct.pack("!H", value)


@cache
def _arp_template() -> bytearray:
    nobody = Host("00:00:00:00:00:00", IPv4Address(0))
    return bytearray(arp("who-has", nobody, IPv4Address(0)))


def stamp_arp_request(sender: Host, target: IPv4Address) -> bytes:
    """Exactly `packets.arp("who-has", sender, target)`: a broadcast ARP request."""
    frame = _arp_template()[:]
    mac = _mac(sender.mac)
    frame[6:12] = mac
    frame[ETH + 8:ETH + 14] = mac
    frame[ETH + 14:ETH + 18] = sender.ip.packed
    frame[ETH + 24:ETH + 28] = target.packed
    return bytes(frame)


@cache
def _solicit_template() -> bytearray:
    return bytearray(solicit(Host("00:00:00:00:00:00", IPv6Address(0)), IPv6Address(0)))


def stamp_solicit(sender: Host, target: IPv6Address) -> bytes:
    """Exactly `packets.solicit(sender, target)`: a neighbour solicitation to target's solicited-node group."""
    frame = _solicit_template()[:]
    group = bytes.fromhex("ff0200000000000000000001ff") + target.packed[-3:]
    mac = _mac(sender.mac)
    frame[0:6], frame[6:12] = b"\x33\x33" + group[-4:], mac
    frame[ETH + 8:ETH + 40] = sender.ip.packed + group
    l4 = ETH + IP6_LEN
    frame[l4 + 8:l4 + 24] = target.packed
    frame[l4 + 26:l4 + 32] = mac
    _l4_checksum(frame, "icmp6", l4, sender, Host("", IPv6Address(group)))
    return bytes(frame)


def stamp_routed(frame: bytes, gateway_mac: str, dst_mac: str) -> bytes:
    """Exactly `packets.routed(frame, gateway_mac, dst_mac)` for a probe frame: the MACs rewritten, the TTL
    (IPv6: hop limit) one lower, the IPv4 header checksum computed again."""
    out = bytearray(frame)
    out[0:6], out[6:12] = _mac(dst_mac), _mac(gateway_mac)
    if out[ETH] >> 4 == 6:
        out[ETH + 7] -= 1
        return bytes(out)
    out[ETH + 8] -= 1
    header = ETH + (out[ETH] & 0x0F) * 4
    out[ETH + 10:ETH + 12] = b"\0\0"
    out[ETH + 10:ETH + 12] = struct.pack("!H", checksum(bytes(out[ETH:header])))
    return bytes(out)
