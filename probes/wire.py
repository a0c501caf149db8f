"""What the underlay carried, read from captures on its links (server uplinks, core links): the
lecture's claims about encapsulation, checked frame by frame.

  outer addresses    every packet on the underlay is between physical servers (ARP: servers and
                     their gateways)
  encapsulation      tenant traffic travels only as VXLAN on UDP 4789, GENEVE on UDP 6081 or GRE
                     (IP protocol 47), in its tenant's own encapsulation and with its tenant's VNI
  inner intact       the decapsulated probe is byte for byte what the VM sent
  nothing bare       no tenant address, and no probe, ever crosses the underlay unencapsulated
  source ports       several inner flows between two servers use several outer UDP source ports
                     (the lecture's note on 5-tuples and load balancing)
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Iterable

from probes.matrix import Endpoint
from probes.packets import MAGIC, Inner, Wire, dissect

ENCAPS = ("vxlan", "geneve", "gre")
SHOW = 3  # examples quoted per failed check


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Underlay:
    """What the wire checks need to know of the lab."""

    servers: dict[IPv4Address, str]  # underlay address -> server name
    gateways: frozenset[IPv4Address]
    endpoints: tuple[Endpoint, ...]
    sent: dict[bytes, bytes]  # token -> the frame a VM sent


def analyze(frames: Iterable[bytes], lab: Underlay) -> list[Finding]:
    unique = set(frames)
    wires = [(frame, dissect(frame)) for frame in unique]
    tunnels = [(f, w) for f, w in wires if w.kind in ENCAPS]
    return [_outer(wires, lab), _encapsulation(tunnels, lab), _intact(tunnels, lab), _bare(wires, lab),
            source_ports(tunnels, lab)]


def _fail(name: str, problems: list[str], passed: str) -> Finding:
    if problems:
        shown = "; ".join(problems[:SHOW]) + (f" (+{len(problems) - SHOW} more)" if len(problems) > SHOW else "")
        return Finding(name, False, f"{len(problems)} frames wrong: {shown}")
    return Finding(name, True, passed)


def _outer(wires: list[tuple[bytes, Wire]], lab: Underlay) -> Finding:
    known = set(lab.servers) | lab.gateways
    problems = [f"{w.kind} {w.src} -> {w.dst}" for _, w in wires
                if w.kind != "other" and not ({w.src, w.dst} <= (known if w.kind == "arp" else set(lab.servers)))]
    return _fail("outer addresses", problems,
                 f"all {len(wires)} distinct frames were between physical servers (ARP: servers and gateways)")


def _sender(inner: Inner, lab: Underlay) -> Endpoint | None:
    return next((ep for ep in lab.endpoints if ep.mac == inner.mac and inner.ip in (None, ep.ip)), None)


def _encapsulation(tunnels: list[tuple[bytes, Wire]], lab: Underlay) -> Finding:
    problems = []
    counts: dict[str, int] = defaultdict(int)
    for _, w in tunnels:
        assert w.inner is not None
        sender = _sender(w.inner, lab)
        counts[w.kind] += 1
        if sender is None:
            problems.append(f"{w.kind} VNI {w.vni} from {w.src} carries a frame from no known VM")
        elif (w.kind, w.vni, w.src) != (sender.encap, sender.vni, sender.server_ip):
            problems.append(f"{sender.label}'s frame went as {w.kind} VNI {w.vni} from {w.src}, not "
                            f"{sender.encap} VNI {sender.vni} from {sender.server_ip}")
    seen = ", ".join(f"{counts[k]} {k}" for k in ENCAPS if counts[k]) or "none"
    return _fail("encapsulation", problems, f"every tunnel frame ({seen}) carried its tenant's VNI in its "
                                           f"tenant's encapsulation from the sender's server")


def _intact(tunnels: list[tuple[bytes, Wire]], lab: Underlay) -> Finding:
    compared, problems = 0, []
    for _, w in tunnels:
        token = w.inner.token if w.inner else None
        sent = lab.sent.get(token) if token else None
        if w.inner is None or sent is None:
            continue
        compared += 1
        if w.inner.raw[:len(sent)] != sent or w.inner.raw[len(sent):].strip(b"\0"):
            problems.append(f"probe {token.hex() if token else ''} changed inside the {w.kind} tunnel")
    return _fail("inner packets intact", problems,
                 f"{compared} decapsulated probes were byte for byte what the VMs sent")


def _bare(wires: list[tuple[bytes, Wire]], lab: Underlay) -> Finding:
    tenant_ips = {ep.ip for ep in lab.endpoints} - set(lab.servers) - lab.gateways
    problems = [f"{w.kind} frame {w.src} -> {w.dst}" for frame, w in wires if w.kind not in ENCAPS and
                (w.kind == "other" or {w.src, w.dst} & tenant_ips or MAGIC in frame)]
    return _fail("nothing unencapsulated", problems,
                 "no tenant address and no probe crossed the underlay outside a tunnel")


def source_ports(tunnels: list[tuple[bytes, Wire]], lab: Underlay) -> Finding:
    """Per server pair and UDP encapsulation: how many inner flows, how many outer source ports."""
    flows: dict[tuple, set] = defaultdict(set)
    ports: dict[tuple, set] = defaultdict(set)
    for _, w in tunnels:
        if w.sport is None or w.inner is None:
            continue
        key = (w.src, w.dst, w.kind)
        flows[key].add(w.inner.flow)
        ports[key].add(w.sport)
    busy = [k for k in flows if len(flows[k]) >= 3]
    narrow = [f"{lab.servers[k[0]]}->{lab.servers[k[1]]} {k[2]}: {len(flows[k])} flows, 1 port"
              for k in busy if len(ports[k]) < 2]
    best = max(busy, key=lambda k: len(flows[k]), default=None)
    spread = (f"{lab.servers[best[0]]}->{lab.servers[best[1]]} {best[2]}: {len(flows[best])} inner flows used "
              f"{len(ports[best])} outer source ports" if best else "no server pair carried 3 or more inner flows")
    total = sum(len(p) for p in ports.values())
    return _fail("outer source ports", narrow, f"{len(busy)} server pairs carried 3+ inner flows, each on several "
                                               f"source ports ({total} in all); e.g. {spread}")

