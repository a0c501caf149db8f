"""Broadcast and multicast inside a tenant: from every member, one UDP datagram to the broadcast address
and one to a multicast group, and from a dual-stack one also one to an IPv6 multicast group. Each must
reach every other member of its tenant (of its subnet, in a routed tenant), and no one else: the sender's
virtual switch copies it to the tenant's local VMs and, once, to each other server of the tenant (a
bare-metal member's kernel does the same from its forwarding table), and the far virtual switches hand
it only to their own VMs of that tenant.

A copy can be lost on a loaded machine, so a datagram that reached only part of its tenant is sent again
(the same token: whoever has it already only has it again), at most AGAIN times, before it is judged.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from ipaddress import IPv6Address

from probes.attacks import EVERYONE, MULTICAST
from probes.endpoint import Endpoint
from probes.packets import Host, probe
from probes.session import Outcome, Probe, Tokens
from probes.verdicts import Check

NAME = "tenant broadcast and multicast"
AGAIN = 2  # extra sends of a datagram that reached part of its tenant
KINDS = {"broadcast": EVERYONE, "multicast": MULTICAST}
MULTICAST6 = Host("33:33:00:00:00:fb", IPv6Address("ff02::fb"))  # mDNS's IPv6 group


@dataclass(frozen=True)
class Flood:
    """One datagram to everyone: its kind, and its probe (awaited at one peer, allowed at all of them)."""

    kind: str
    probe: Probe

    def missing(self, outcome: Outcome) -> set[str]:
        return set(self.probe.allowed - outcome.reached(self.probe))

    def stray(self, outcome: Outcome) -> set[str]:
        return outcome.reached(self.probe) - self.probe.allowed

    def exact(self, outcome: Outcome) -> bool:
        return not self.missing(outcome) and not self.stray(outcome)


def floods(endpoints: list[Endpoint], tokens: Tokens) -> list[Flood]:
    """A broadcast and a multicast from every member that has a peer in its tenant (an IPv6 multicast too
    from a dual-stack one, to its IPv6 broadcast domain)."""
    found = []
    for sender in endpoints:
        peers = _peers(sender, endpoints) if sender.ip else frozenset()
        for kind, group in KINDS.items() if peers else ():
            found.append(_flood(kind, sender, peers, probe("udp", sender.host, group, token := tokens()), token))
        peers6 = _peers(sender, endpoints, v6=True) if sender.ip6 and not sender.bare_metal else frozenset()
        if peers6:
            frame = probe("udp6", sender.host_of(v6=True), MULTICAST6, token := tokens())
            found.append(_flood("IPv6 multicast", sender, peers6, frame, token))
    return found


def _peers(sender: Endpoint, endpoints: list[Endpoint], v6: bool = False) -> frozenset[str]:
    return frozenset(ep.label for ep in endpoints if sender.neighbour(ep, v6) and ep.label != sender.label)


def _flood(kind: str, sender: Endpoint, peers: frozenset[str], frame: bytes, token: bytes) -> Flood:
    return Flood(kind, Probe(token, sender.label, frame, min(peers), peers))


def unfinished(sent: list[Flood], outcome: Outcome) -> list[Flood]:
    """The datagrams that reached only part of their tenant (and no one else): worth sending again."""
    return [f for f in sent if f.missing(outcome) and not f.stray(outcome)]


def check(sent: list[Flood], outcome: Outcome) -> Check:
    """Every datagram reached exactly its tenant's other members."""
    if not sent:
        return Check.not_applicable(NAME, "no tenant has two members")
    wrong = [f for f in sent if not f.exact(outcome)]
    copies = sum(len(outcome.reached(f.probe)) for f in sent)
    kinds = ", ".join(f"{n} {kind}s" for kind, n in Counter(f.kind for f in sent).items())
    detail = (f"{len(sent) - len(wrong)}/{len(sent)} datagrams ({kinds}) reached exactly their tenant's other "
              f"members ({copies} deliveries)")
    if wrong:
        detail += "; " + "; ".join(_wrong(f, outcome) for f in wrong[:10])
    return Check.judged(NAME, not wrong, detail)


def _wrong(flood: Flood, outcome: Outcome) -> str:
    parts = [f"missed {', '.join(sorted(flood.missing(outcome)))}" if flood.missing(outcome) else "",
             f"LEAKED to {', '.join(sorted(flood.stray(outcome)))}" if flood.stray(outcome) else ""]
    return f"{flood.kind} from {flood.probe.sender}: " + " and ".join(p for p in parts if p)
