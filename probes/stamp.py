"""Probe frames at scale: scapy builds one template per shape, and each probe is the template with its
addresses, ports and token stamped into the bytes (checksums recomputed).

Crafting 200,000 probes with scapy takes minutes; stamping takes about a second. scapy stays the
source of truth for every header: a template is whatever scapy builds, and the unit tests prove that
a stamped frame equals the one scapy builds from the same values, byte for byte.
"""
from __future__ import annotations

import struct
from functools import cache
from ipaddress import IPv4Address

from probes.packets import Host, arp, probe

ETH, IP_LEN = 14, 20  # scapy's Ether and option-less IP header lengths
_L4 = ETH + IP_LEN
# Where each protocol keeps its checksum and its "flow" fields, from the start of the L4 header.
_CSUM = {"icmp": 2, "udp": 6, "tcp": 16}
_IP_PROTO = {"icmp": 1, "udp": 17, "tcp": 6}


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
    placeholder = Host("00:00:00:00:00:00", IPv4Address(0))
    return bytearray(probe(proto, placeholder, placeholder, bytes(token_len)))


def stamp_probe(proto: str, src: Host, dst: Host, token: bytes, flow: int = 0) -> bytes:
    """Exactly `packets.probe(proto, src, dst, token, flow)`, without building it in scapy."""
    frame = _template(proto, len(token))[:]
    frame[0:6], frame[6:12] = _mac(dst.mac), _mac(src.mac)
    frame[ETH + 12:ETH + 20] = src.ip.packed + dst.ip.packed
    frame[ETH + 10:ETH + 12] = b"\0\0"
    frame[ETH + 10:ETH + 12] = struct.pack("!H", checksum(bytes(frame[ETH:_L4])))
    if proto == "icmp":
        frame[_L4 + 4:_L4 + 6] = struct.pack("!H", flow & 0xFFFF)
    else:
        frame[_L4:_L4 + 2] = struct.pack("!H", 20000 + flow % 40000)
    if proto == "tcp":
        frame[_L4 + 4:_L4 + 8] = struct.pack("!I", flow)
    frame[-len(token):] = token
    _l4_checksum(frame, proto, src.ip, dst.ip)
    return bytes(frame)


def _l4_checksum(frame: bytearray, proto: str, src: IPv4Address, dst: IPv4Address) -> None:
    at = _L4 + _CSUM[proto]
    frame[at:at + 2] = b"\0\0"
    segment = bytes(frame[_L4:])
    covered = segment if proto == "icmp" else (
        src.packed + dst.packed + struct.pack("!BBH", 0, _IP_PROTO[proto], len(segment)) + segment)
    value = checksum(covered)
    if proto == "udp" and value == 0:
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
