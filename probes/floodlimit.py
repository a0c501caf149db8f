"""A broadcast storm from one VM, bounded at its own virtual switch: the VM sends STORM broadcasts as fast
as the session sends, and a peer of its tenant must get some, but no more than the VM's meter lets through
(FLOOD_LIMIT a second after a burst of as many, over the time the storm took). Without the meter every one
would reach every peer, and each server of the tenant would get a copy over the underlay."""
from __future__ import annotations

from dataclasses import dataclass

from probes.attacks import EVERYONE
from probes.endpoint import Endpoint
from probes.session import Outcome, Probe, Tokens
from probes.stamp import stamp_probe
from probes.verdicts import Check
from topologies.model import FLOOD_LIMIT

NAME = "broadcast storm bounded"
STORM = 1000  # broadcasts in the storm: ten times what the meter lets through in a second


@dataclass(frozen=True)
class Storm:
    """The storm's broadcasts, from `sender`, counted where they reach `peer`."""

    sender: str
    peer: str
    probes: tuple[Probe, ...]

    def delivered(self, outcome: Outcome) -> int:
        return sum(self.peer in outcome.reached(p) for p in self.probes)

    def leaked(self, outcome: Outcome) -> set[str]:
        return {name for p in self.probes for name in outcome.reached(p) - p.allowed}


def storm(endpoints: list[Endpoint], tokens: Tokens) -> Storm | None:
    """A storm from the first VM that has a peer on another server (so its copies cross the underlay)."""
    for sender in (ep for ep in endpoints if not ep.bare_metal and ep.ip):
        peers = sorted(ep.label for ep in endpoints if sender.neighbour(ep) and ep.server_ip != sender.server_ip)
        if peers:
            allowed = frozenset(ep.label for ep in endpoints if sender.neighbour(ep) and ep is not sender)
            return Storm(sender.label, peers[0], tuple(
                Probe(token, sender.label, stamp_probe("udp", sender.host, EVERYONE, token, flow=i), None, allowed)
                for i, token in ((i, tokens()) for i in range(STORM))))
    return None


def check(sent: Storm | None, outcome: Outcome, seconds: float) -> Check:
    """Some got through, no more than the meter allows over `seconds`, and none left the tenant."""
    if sent is None:
        return Check.not_applicable(NAME, "no VM has a peer of its tenant on another server")
    got, bound = sent.delivered(outcome), FLOOD_LIMIT * (1 + seconds)
    leaked = sent.leaked(outcome)
    detail = (f"{sent.sender} sent {STORM} broadcasts in {seconds:.2f} s; {sent.peer} got {got} (its virtual "
              f"switch's meter: {FLOOD_LIMIT}/s after a burst of {FLOOD_LIMIT}, so at most {bound:.0f})")
    if leaked:
        detail += f"; LEAKED to {', '.join(sorted(leaked))}"
    return Check.judged(NAME, 0 < got <= bound and not leaked, detail)
