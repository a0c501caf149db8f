"""The delivery/isolation matrix: for every ordered pair of VMs, an ICMP, a UDP and a TCP (SYN)
probe, each with a unique token, and a sniffer in every VM recording where each token arrives.

Probes are crafted frames with the destination's MAC and IP, as a VM that knew them would send, so a
probe to another tenant's VM has every chance to leak: it must arrive at its VM when both are in one
tenant, and nowhere at all otherwise, even where another tenant owns the same IP.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from probes.packets import PROTOS, Host, probe
from probes.session import Outcome, Probe, Tokens

DELIVER, ISOLATE = "deliver", "isolate"


@dataclass(frozen=True)
class Endpoint:
    """A VM as the probes see it: who it is, and where its socket lives."""

    label: str
    tenant: str
    vni: int
    encap: str
    mac: str
    ip: IPv4Address
    server_ip: IPv4Address  # the physical server it lives on
    pid: int
    iface: str
    vtep: str = "ovs"  # or "kernel": a bare-metal member, behind the kernel's VXLAN device

    @property
    def host(self) -> Host:
        return Host(self.mac, self.ip)


@dataclass(frozen=True)
class PairProbe:
    src: str
    dst: str
    proto: str
    expected: str
    probe: Probe


@dataclass(frozen=True)
class PairResult:
    src: str
    dst: str
    proto: str
    expected: str
    observed: str
    elsewhere: tuple[str, ...] = ()  # VMs the probe reached that it was not sent to

    @property
    def ok(self) -> bool:
        return self.observed == self.expected and not self.elsewhere

    def as_json(self) -> dict[str, object]:
        extra = {"elsewhere": list(self.elsewhere)} if self.elsewhere else {}
        return {"src": self.src, "dst": self.dst, "proto": self.proto, "expected": self.expected,
                "observed": self.observed, "ok": self.ok, **extra}


def matrix(endpoints: list[Endpoint], tokens: Tokens, protos: tuple[str, ...] = PROTOS) -> list[PairProbe]:
    """One probe per ordered pair and protocol; each its own flow (source port or ICMP id)."""
    planned: list[PairProbe] = []
    for src in endpoints:
        for dst in endpoints:
            if src is dst:
                continue
            expected = DELIVER if src.tenant == dst.tenant else ISOLATE
            for proto in protos:
                token = tokens()
                frame = probe(proto, src.host, dst.host, token, flow=len(planned))
                planned.append(PairProbe(src.label, dst.label, proto, expected,
                                         Probe(token, src.label, frame, dst.label if expected == DELIVER else None)))
    return planned


def result(pair: PairProbe, outcome: Outcome) -> PairResult:
    reached = outcome.reached(pair.probe)
    observed = DELIVER if pair.dst in reached else ISOLATE
    return PairResult(pair.src, pair.dst, pair.proto, pair.expected, observed,
                      tuple(sorted(reached - {pair.dst})))
