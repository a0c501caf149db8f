"""The delivery/isolation matrix: a probe with a unique token from every VM to every other, and a
sniffer in every VM that records where each token arrives.

Probes are crafted frames (the destination's MAC and IP, as a VM that knew them would send), so a
probe to another tenant's VM has every chance to leak: it must arrive at its VM when both are in one
tenant, and nowhere at all otherwise, even where another tenant owns the same IP.
"""
from __future__ import annotations

import os
import selectors
import socket
import struct
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from probes.netns import PACKET_OUTGOING, packet_socket

MAGIC = b"OLAB"
DELIVER, ISOLATE = "deliver", "isolate"
ETH_IP, PROTO_ICMP, ICMP_ECHO = 0x0800, 1, 8


@dataclass(frozen=True)
class Endpoint:
    """A VM as the probes see it: where its socket lives and what it is called."""

    label: str
    tenant: str
    mac: str
    ip: IPv4Address
    pid: int
    iface: str


@dataclass
class PairResult:
    src: str
    dst: str
    proto: str
    expected: str
    observed: str = ISOLATE
    elsewhere: list[str] = field(default_factory=list)  # VMs the probe reached that it was not sent to

    @property
    def ok(self) -> bool:
        return self.observed == self.expected and not self.elsewhere

    def as_json(self) -> dict[str, object]:
        return {"src": self.src, "dst": self.dst, "proto": self.proto, "expected": self.expected,
                "observed": self.observed, "ok": self.ok, **({"elsewhere": self.elsewhere} if self.elsewhere else {})}


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def icmp_frame(src: Endpoint, dst: Endpoint, token: bytes) -> bytes:
    """Ethernet + IPv4 + ICMP echo request carrying `token`."""
    icmp = struct.pack("!BBHHH", ICMP_ECHO, 0, 0, 0x6f6c, 1) + token
    icmp = icmp[:2] + struct.pack("!H", _checksum(icmp)) + icmp[4:]
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0x4000, 64, PROTO_ICMP, 0,
                         src.ip.packed, dst.ip.packed)
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return _mac(dst.mac) + _mac(src.mac) + struct.pack("!H", ETH_IP) + header + icmp


def probe_token(frame: bytes) -> bytes | None:
    """The token of an ICMP echo request probe, or None for anything else (replies, errors, noise)."""
    if len(frame) < 34 or struct.unpack("!H", frame[12:14])[0] != ETH_IP or frame[23] != PROTO_ICMP:
        return None
    icmp = 14 + (frame[14] & 0x0F) * 4
    if frame[icmp:icmp + 1] != bytes([ICMP_ECHO]) or frame[icmp + 8:icmp + 12] != MAGIC:
        return None
    return frame[icmp + 8:icmp + 16]


def run_matrix(endpoints: list[Endpoint], timeout: float = 10.0, settle: float = 0.3) -> list[PairResult]:
    """Send one ICMP probe per ordered pair, and report where each arrived.

    Waits until every probe that should arrive has (or `timeout`), then `settle` seconds more: the
    window in which a leak would have to show itself."""
    sockets = {ep.label: packet_socket(ep.pid, ep.iface) for ep in endpoints}
    try:
        results = _send_all(endpoints, sockets)
        _collect(sockets, results, timeout, settle)
    finally:
        for sock in sockets.values():
            sock.close()
    return list(results.values())


def _send_all(endpoints: list[Endpoint], sockets: dict[str, socket.socket]) -> dict[bytes, PairResult]:
    run = os.urandom(2)
    results: dict[bytes, PairResult] = {}
    for src in endpoints:
        for dst in endpoints:
            if src is dst:
                continue
            token = MAGIC + run + struct.pack("!H", len(results))
            expected = DELIVER if src.tenant == dst.tenant else ISOLATE
            results[token] = PairResult(src.label, dst.label, "icmp", expected)
            sockets[src.label].send(icmp_frame(src, dst, token))
    return results


def _collect(sockets: dict[str, socket.socket], results: dict[bytes, PairResult], timeout: float,
             settle: float) -> None:
    selector = selectors.DefaultSelector()
    for label, sock in sockets.items():
        selector.register(sock, selectors.EVENT_READ, label)
    pending = {t for t, r in results.items() if r.expected == DELIVER}
    deadline = time.monotonic() + timeout
    quiet_until = None
    while True:
        now = time.monotonic()
        if quiet_until is None and (not pending or now > deadline):
            quiet_until = now + settle
        if quiet_until is not None and now > quiet_until:
            return
        for key, _ in selector.select(timeout=0.05):
            _drain(key.fileobj, key.data, results, pending)


def _drain(sock: socket.socket, label: str, results: dict[bytes, PairResult], pending: set[bytes]) -> None:
    while True:
        try:
            frame, address = sock.recvfrom(65535)
        except BlockingIOError:
            return
        token = probe_token(frame) if address[2] != PACKET_OUTGOING else None
        if token not in results:
            continue
        result = results[token]
        if label == result.dst:
            result.observed = DELIVER
            pending.discard(token)
        elif label not in result.elsewhere:
            result.elsewhere.append(label)
