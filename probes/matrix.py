"""The delivery/isolation matrix: for every ordered pair of VMs, an ICMP, a UDP and a TCP (SYN)
probe, each with a unique token, and a sniffer in every VM recording where each token arrives.

Probes are crafted frames with the destination's MAC and IP (its gateway's MAC, for a peer on another subnet
of a routed tenant), as a VM that knew them would send, so a
probe to another tenant's VM has every chance to leak: it must arrive at its VM when both are in one
tenant, and nowhere at all otherwise, even where another tenant owns the same IP.
"""
from __future__ import annotations

from dataclasses import dataclass

from probes.endpoint import Endpoint
from probes.packets import PROTOS, PROTOS6
from probes.session import Outcome, Probe, Tokens
from probes.stamp import stamp_probe, stamp_routed

DELIVER, ISOLATE = "deliver", "isolate"


@dataclass(frozen=True, slots=True)
class PairProbe:
    src: str
    dst: str
    proto: str
    expected: str
    probe: Probe
    arrives_as: bytes | None = None  # a probe routed by the first virtual switch: as it crosses the tunnel


@dataclass(frozen=True)
class PairResult:
    src: str
    dst: str
    proto: str
    expected: str
    observed: str
    elsewhere: tuple[str, ...] = ()  # VMs the probe reached that it was not sent to
    tries: int = 1  # sends it took (a probe to isolate is sent once)

    @property
    def ok(self) -> bool:
        return self.observed == self.expected and not self.elsewhere

    @property
    def lost(self) -> bool:
        """Sent to a peer of its tenant and never seen there, however often re-sent: the datapath lost
        it (not the tenant boundary, which is what isolation means)."""
        return self.expected == DELIVER and self.observed == ISOLATE

    @property
    def verdict(self) -> str:
        return f"lost after {self.tries} tries" if self.lost else self.observed

    def as_json(self) -> dict[str, object]:
        extra: dict[str, object] = {"elsewhere": list(self.elsewhere)} if self.elsewhere else {}
        if self.lost:
            extra["detail"] = self.verdict
        return {"src": self.src, "dst": self.dst, "proto": self.proto, "expected": self.expected,
                "observed": self.observed, "ok": self.ok, "tries": self.tries, **extra}


def matrix(endpoints: list[Endpoint], tokens: Tokens, protos: tuple[str, ...] = PROTOS + PROTOS6) -> list[PairProbe]:
    """One probe per ordered pair and protocol (over IPv6 too where both ends are dual-stack); each its own
    flow (source port or ICMP id)."""
    planned: list[PairProbe] = []
    for src in endpoints:
        for dst in endpoints:
            if src is dst:
                continue
            expected = DELIVER if src.tenant == dst.tenant else ISOLATE
            for proto in (p for p in protos if _both_speak(src, dst, p in PROTOS6)):
                v6 = proto in PROTOS6
                token, hop = tokens(), src.next_hop(dst, v6)
                frame = stamp_probe(proto, src.host_of(v6), hop, token, flow=len(planned))
                planned.append(PairProbe(src.label, dst.label, proto, expected,
                                         Probe(token, src.label, frame, dst.label if expected == DELIVER else None,
                                               _namesakes(src, dst, endpoints)),
                                         stamp_routed(frame, hop.mac, dst.mac) if hop.mac != dst.mac else None))
    return planned


def _both_speak(src: Endpoint, dst: Endpoint, v6: bool) -> bool:
    """Do both have an address of that family (a probe of it can be addressed)?"""
    return bool(src.ip6 and dst.ip6) if v6 else bool(src.ip and dst.ip)


def _namesakes(src: Endpoint, dst: Endpoint, endpoints: list[Endpoint]) -> frozenset[str]:
    """Who may get a probe to another tenant's VM: the VMs of the sender's own tenant with that VM's MAC (tenants
    choose their MACs too; in the sender's network the frame is addressed to them)."""
    if src.tenant == dst.tenant:
        return frozenset()
    return frozenset(ep.label for ep in endpoints if ep.tenant == src.tenant and ep.mac == dst.mac and ep is not src)


def result(pair: PairProbe, outcome: Outcome) -> PairResult:
    reached = outcome.reached(pair.probe)
    observed = DELIVER if pair.dst in reached else ISOLATE
    return PairResult(pair.src, pair.dst, pair.proto, pair.expected, observed,
                      tuple(sorted(reached - {pair.dst} - pair.probe.allowed)), outcome.tries_of(pair.probe))
