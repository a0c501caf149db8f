"""What a hostile tenant, or a rogue host plugged into the fabric, might try; each must be isolated.

  IP spoofing      a VM sends to its peer from an address that is not its own
  MAC spoofing     ... from a MAC that is not its own
  ARP spoofing     a VM claims a tenant peer's address in a gratuitous ARP reply
  IPv6 spoofing    a dual-stack VM sends to its peer from an IPv6 address that is not its own
  NDP spoofing     ... claims a peer's IPv6 address in an unsolicited neighbour advertisement to all nodes
  broadcast        a VM broadcasts / multicasts: never beyond its own tenant
  gateway spoofing in a routed tenant, a VM sends to a peer on another subnet from that subnet's gateway
  tunnel forgery   a VM hand-makes a VXLAN or GENEVE packet with another tenant's VNI, addressed to
                   the victim's physical server
  rogue host       a host on a spare edge port injects the victim tenant's VNI, from its own address
                   and from a real server's address
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address

from probes.endpoint import Endpoint
from probes.packets import BROADCAST, Host, advertise, arp, encapsulated, probe
from probes.session import Outcome, Probe, Tokens
from topologies.encap import Encap

MULTICAST = Host("01:00:5e:00:00:fb", IPv4Address("224.0.0.251"))
EVERYONE = Host(BROADCAST, IPv4Address("255.255.255.255"))


@dataclass(frozen=True)
class Rogue:
    """The rogue host: its socket's name, who it is, and the MAC of its edge switch's router."""

    name: str
    host: Host
    gateway_mac: str


@dataclass(frozen=True)
class Attack:
    name: str
    detail: str
    probe: Probe

    def leaked(self, outcome: Outcome) -> list[str]:
        """Who got the attack's packet though it was not theirs to get."""
        return sorted(outcome.reached(self.probe) - self.probe.allowed)

    def isolated(self, outcome: Outcome) -> bool:
        return not self.leaked(outcome)

    def as_json(self, outcome: Outcome) -> dict[str, object]:
        leaked = self.leaked(outcome)
        return {"name": self.name, "detail": self.detail, "expected": "isolate",
                "observed": f"reached {', '.join(leaked)}" if leaked else "isolate", "ok": not leaked}


def attacks(endpoints: list[Endpoint], tokens: Tokens, rogue: Rogue | None) -> list[Attack]:
    """The attacks this scenario allows (each needs the VMs it names: a peer, another tenant). The
    attacker is a VM: a bare-metal member is outside any virtual switch's control by definition."""
    speaking = [ep for ep in endpoints if ep.ip is not None]  # IPv4's attacks: between members with IPv4
    pair = next(((a, b) for a in speaking for b in speaking
                 if a.tenant == b.tenant and a.server_ip != b.server_ip and not a.bare_metal), None)
    if pair is None:
        return _spoofing6(endpoints, tokens)
    a, b = pair
    tenant = frozenset(ep.label for ep in endpoints if ep.tenant == a.tenant) - {a.label}
    found = [*_spoofing(a, b, tokens), *_flooding(a, tenant, tokens), *_gateway_spoofing(endpoints, tokens),
             *_spoofing6(endpoints, tokens)]
    victim = next((ep for ep in speaking if ep.tenant != a.tenant), None)
    if victim:
        found += _forgery(a, b, victim, tokens)
        if rogue:
            found += _rogue(rogue, victim, endpoints, tokens)
    return found


def _attack(name: str, detail: str, sender: str, frame_of: Callable[[bytes], bytes], tokens: Tokens,
            allowed: frozenset[str] = frozenset()) -> Attack:
    token = tokens()
    return Attack(name, detail, Probe(token, sender, frame_of(token), None, allowed))


def _spoofing(a: Endpoint, b: Endpoint, tokens: Tokens) -> list[Attack]:
    assert a.ip is not None and b.ip is not None
    forged_ip = Host(a.mac, b.ip + 1 if b.ip + 1 != a.ip else b.ip + 2)
    forged_mac = Host(b.mac, a.ip)
    theirs = b.ip
    return [
        _attack("IP spoofing", f"{a.label} -> {b.label} from {forged_ip.ip}, not its own {a.ip}", a.label,
                lambda t: probe("udp", forged_ip, b.host, t), tokens),
        _attack("MAC spoofing", f"{a.label} -> {b.label} from MAC {b.mac}, not its own {a.mac}", a.label,
                lambda t: probe("udp", forged_mac, b.host, t), tokens),
        _attack("ARP spoofing", f"{a.label} tells everyone {b.ip} (of {b.label}) is at its own {a.mac}", a.label,
                lambda t: arp("is-at", Host(a.mac, theirs), theirs, BROADCAST, BROADCAST, t), tokens),
    ]


def _spoofing6(endpoints: list[Endpoint], tokens: Tokens) -> list[Attack]:
    """Between two dual-stack VMs of one tenant on two servers: IPv6's doors, as IPv4's."""
    pair = next(((a, b) for a in endpoints for b in endpoints if a.ip6 and b.ip6 and a.tenant == b.tenant
                 and a.server_ip != b.server_ip and not a.bare_metal), None)
    if pair is None or pair[0].ip6 is None or pair[1].ip6 is None:
        return []
    a, b = pair
    own, theirs = pair[0].ip6, pair[1].ip6
    forged = Host(a.mac, theirs + 1 if theirs + 1 != own else theirs + 2)
    return [
        _attack("IPv6 spoofing", f"{a.label} -> {b.label} from {forged.ip}, not its own {own}", a.label,
                lambda t: probe("udp6", forged, a.next_hop(b, v6=True), t), tokens),
        _attack("NDP spoofing", f"{a.label} tells all nodes {theirs} (of {b.label}) is at its own {a.mac}", a.label,
                lambda t: advertise(a.host_of(v6=True), theirs, a.mac, t), tokens),
    ]


def _gateway_spoofing(endpoints: list[Endpoint], tokens: Tokens) -> list[Attack]:
    """In a routed tenant, a VM sends to a peer on another subnet as if it were that subnet's gateway (so
    that the peer would take it for routed traffic): its own virtual switch must drop it at the door."""
    pair = next(((a, b) for a in endpoints for b in endpoints if a.network is not None and a.tenant == b.tenant
                 and not a.neighbour(b) and not a.bare_metal), None)
    if pair is None or pair[1].network is None:
        return []
    a, b = pair
    gateway = pair[1].network.network_address + 1
    return [_attack("gateway spoofing", f"{a.label} -> {b.label} from {gateway}, the gateway of {b.network}, "
                                        f"not its own {a.ip}", a.label,
                    lambda t: probe("udp", Host(a.mac, gateway), a.next_hop(b), t), tokens)]


def _flooding(a: Endpoint, tenant: frozenset[str], tokens: Tokens) -> list[Attack]:
    return [
        _attack("broadcast", f"{a.label} broadcasts to {EVERYONE.ip}: its own tenant at most", a.label,
                lambda t: probe("udp", a.host, EVERYONE, t), tokens, tenant),
        _attack("multicast", f"{a.label} multicasts to {MULTICAST.ip}: its own tenant at most", a.label,
                lambda t: probe("udp", a.host, MULTICAST, t), tokens, tenant),
    ]


def _forgery(a: Endpoint, b: Endpoint, victim: Endpoint, tokens: Tokens) -> list[Attack]:
    """Wrapped by hand, sent via a peer's MAC (the only way out of its virtual switch)."""
    return [_attack("tunnel forgery", f"{a.label} hand-makes {encap.text.upper()} with VNI {victim.vni} "
                                      f"({victim.label}'s tenant) to its server {victim.server_ip}", a.label,
                    _forged(encap, a.host, b.mac, victim), tokens)
            for encap in (Encap.VXLAN, Encap.GENEVE)]


def _forged(encap: Encap, outer: Host, next_hop_mac: str, victim: Endpoint) -> Callable[[bytes], bytes]:
    """Frames of a tunnel packet made by hand: a probe to the victim from an address of its subnet, in
    the victim's VNI, addressed to the victim's server."""
    inner = Host("02:00:00:00:00:66", victim.host.ip + 1)
    return lambda token: encapsulated(encap, outer, next_hop_mac, victim.server_ip, victim.vni,
                                      probe("udp", inner, victim.host, token))


def _rogue(rogue: Rogue, victim: Endpoint, endpoints: list[Endpoint], tokens: Tokens) -> list[Attack]:
    spoofed = next((ep.server_ip for ep in endpoints
                    if ep.tenant == victim.tenant and ep.server_ip != victim.server_ip), None)
    sources = [("its own address", rogue.host.ip)] + ([("a real server's address", spoofed)] if spoofed else [])
    return [_attack("rogue host", f"a host on a spare edge port injects {victim.encap.text.upper()} VNI {victim.vni} "
                                  f"for {victim.label} from {what} {ip}", rogue.name,
                    _forged(victim.encap, Host(rogue.host.mac, ip), rogue.gateway_mac, victim), tokens)
            for what, ip in sources]
