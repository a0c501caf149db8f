"""What the underlay carried, read from captures on its links (server uplinks, core links): the
lecture's claims about encapsulation, checked frame by frame while the capture runs.

  outer addresses    every packet on the underlay is between physical servers (ARP: servers and
                     their gateways)
  encapsulation      tenant traffic travels only as VXLAN on UDP 4789, GENEVE on UDP 6081 or GRE
                     (IP protocol 47), in its tenant's own encapsulation and with its tenant's VNI
  inner intact       the decapsulated probe is byte for byte what the VM sent
  nothing bare       no tenant address, and no probe, ever crosses the underlay unencapsulated
  source ports       several inner flows between two servers use several outer UDP source ports
                     (the lecture's note on 5-tuples and load balancing)
  dissection         the fast reader that takes every frame apart agrees with scapy on a sample

Frames are fed one at a time as they are captured (`WireChecks.feed`), so a capture of a hundred
thousand frames is analysed by the time it ends and never stored whole.
"""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from probes import packets
from probes.endpoint import Endpoint
from probes.fastparse import dissect
from probes.packets import MAGIC, Wire
from probes.verdicts import Check
from topologies.encap import Encap

SHOW = 3  # examples quoted per failed check
SAMPLE = 300  # frames cross-checked against scapy per capture
PairKey = tuple[IPv4Address, IPv4Address, Encap | str]  # outer source, outer destination, encapsulation


@dataclass(frozen=True)
class Underlay:
    """What the wire checks need to know of the lab."""

    servers: dict[IPv4Address, str]  # underlay address -> server name
    gateways: frozenset[IPv4Address]
    endpoints: tuple[Endpoint, ...]
    sent: dict[bytes, bytes]  # token -> the frame a VM sent
    flat: bool = False  # flat mode: VM packets cross bare, routed by their own addresses; nothing is encapsulated


@dataclass
class _Problems:
    """How many frames broke a rule, and the first few, quoted."""

    count: int = 0
    shown: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.count += 1
        if len(self.shown) < SHOW:
            self.shown.append(text)

    def check(self, name: str, passed: str) -> Check:
        if not self.count:
            return Check.judged(f"wire: {name}", True, passed)
        more = f" (+{self.count - SHOW} more)" if self.count > SHOW else ""
        return Check.judged(f"wire: {name}", False, f"{self.count} frames wrong: {'; '.join(self.shown)}{more}")


class WireChecks:
    """The checks above, kept up to date frame by frame."""

    def __init__(self, lab: Underlay, seed: int = 0) -> None:
        self.lab = lab
        self.known = set(lab.servers) | lab.gateways
        self.tenant_ips = {ep.ip for ep in lab.endpoints if ep.ip} - set(lab.servers) - lab.gateways
        self.routed = set(lab.servers) | (self.tenant_ips if lab.flat else set())  # who IP packets may be between
        self.bare = 0  # frames with a VM's address outside any tunnel (flat mode's way)
        self.by_mac: dict[str, list[Endpoint]] = defaultdict(list)
        for ep in lab.endpoints:
            self.by_mac[ep.mac].append(ep)
            if ep.gateway_mac:  # what its virtual switch routed for it leaves with the gateway's MAC
                self.by_mac[ep.gateway_mac].append(ep)
        self.seen: set[bytes] = set()
        self.frames = 0
        self.problems: dict[str, _Problems] = defaultdict(_Problems)
        self.kinds: Counter[Encap] = Counter()
        self.compared = 0
        self.flows: dict[PairKey, set[tuple[object, ...]]] = defaultdict(set)
        self.ports: dict[PairKey, set[int]] = defaultdict(set)
        self.sample: list[bytes] = []
        self.random = random.Random(seed)

    def feed(self, frame: bytes) -> None:
        """Take one captured frame into account (a frame seen on several links counts once)."""
        self.frames += 1
        if frame in self.seen:
            return
        self.seen.add(frame)
        self._keep_sample(frame)
        wire = dissect(frame)
        self._outer(wire)
        if wire.encap:
            self.kinds[wire.encap] += 1
            if self.lab.flat:
                self.problems["tunnel"].add(f"{wire.kind} VNI {wire.vni} {wire.src} -> {wire.dst}")
            self._encapsulation(wire)
            self._intact(wire)
            self._source_port(wire)
        elif wire.kind == "other" or {wire.src, wire.dst} & self.tenant_ips or MAGIC in frame:
            self.bare += 1
            if not self.lab.flat:
                self.problems["bare"].add(f"{wire.kind} frame {wire.src} -> {wire.dst}")

    def _keep_sample(self, frame: bytes) -> None:
        """A uniform sample of the distinct frames (reservoir sampling), for the scapy cross-check."""
        if len(self.sample) < SAMPLE:
            self.sample.append(frame)
            return
        slot = self.random.randrange(len(self.seen))
        if slot < SAMPLE:
            self.sample[slot] = frame

    def _outer(self, w: Wire) -> None:
        allowed = self.known if w.kind == "arp" else self.routed
        if w.kind != "other" and not (w.src in allowed and w.dst in allowed):
            self.problems["outer"].add(f"{w.kind} {w.src} -> {w.dst}")

    def _sender(self, w: Wire) -> Endpoint | None:
        """The VM whose frame this is: by MAC and address, and, where two tenants' VMs share both (tenants
        choose them), the one whose tunnel it is in."""
        assert w.inner is not None
        inner = w.inner
        candidates = [ep for ep in self.by_mac.get(inner.mac, ()) if inner.ip in (None, ep.ip, ep.ip6)]
        return next((ep for ep in candidates if (ep.encap, ep.vni, ep.server_ip) == (w.encap, w.vni, w.src)),
                    next(iter(candidates), None))

    def _encapsulation(self, w: Wire) -> None:
        sender = self._sender(w)
        if sender is None:
            self.problems["encapsulation"].add(f"{w.kind} VNI {w.vni} from {w.src} carries a frame from no known VM")
        elif (w.encap, w.vni, w.src) != (sender.encap, sender.vni, sender.server_ip):
            self.problems["encapsulation"].add(f"{sender.label}'s frame went as {w.kind} VNI {w.vni} from {w.src}, "
                                               f"not {sender.encap} VNI {sender.vni} from {sender.server_ip}")

    def _intact(self, w: Wire) -> None:
        token = w.inner.token if w.inner else None
        sent = self.lab.sent.get(token) if token else None
        if w.inner is None or sent is None:
            return
        self.compared += 1
        if w.inner.raw[:len(sent)] != sent or w.inner.raw[len(sent):].strip(b"\0"):
            self.problems["intact"].add(f"probe {token.hex() if token else ''} changed inside the {w.kind} tunnel")

    def _source_port(self, w: Wire) -> None:
        if w.sport is None or w.inner is None or w.src is None or w.dst is None:
            return
        key = (w.src, w.dst, w.kind)
        self.flows[key].add(w.inner.flow)
        self.ports[key].add(w.sport)

    def checks(self) -> list[Check]:
        """Every wire check's verdict on the frames fed so far."""
        if not self.seen:
            return [Check.not_applicable("wire", "no frame crossed the tapped links")]
        if self.lab.flat:
            return self._flat_checks()
        p = self.problems
        seen = ", ".join(f"{self.kinds[k]} {k}" for k in Encap if self.kinds[k])
        encapsulation = (p["encapsulation"].check("encapsulation", f"every tunnel frame ({seen}) carried its tenant's "
                                                                   f"VNI in its tenant's encapsulation from the "
                                                                   f"sender's server")
                         if seen else Check.not_applicable("wire: encapsulation", "no tunnel frame was seen"))
        intact = (p["intact"].check("inner packets intact", f"{self.compared} decapsulated probes were byte for "
                                                            f"byte what the VMs sent")
                  if self.compared or p["intact"].count
                  else Check.not_applicable("wire: inner packets intact", "no probe was seen inside a tunnel"))
        return [
            p["outer"].check("outer addresses", f"all {len(self.seen)} distinct frames were between physical "
                                                f"servers (ARP: servers and gateways)"),
            encapsulation, intact,
            p["bare"].check("nothing unencapsulated", "no tenant address and no probe crossed the underlay "
                                                      "outside a tunnel"),
            self._source_ports(),
            self._cross_check(),
        ]

    def _flat_checks(self) -> list[Check]:
        """Flat mode: packets between servers or VMs only, VM packets bare, and not one tunnel frame."""
        p = self.problems
        return [p["outer"].check("outer addresses", f"all {len(self.seen)} distinct frames were between physical "
                                                    f"servers or VMs (ARP: servers and gateways)"),
                p["tunnel"].check("no encapsulation", f"{self.bare} frames carried VM addresses bare across the "
                                                      f"underlay and none was encapsulated (flat mode)"),
                self._cross_check()]

    def _source_ports(self) -> Check:
        """Per server pair and UDP encapsulation: how many inner flows, how many outer source ports."""
        names = self.lab.servers
        busy = [k for k in self.flows if len(self.flows[k]) >= 3]
        narrow = _Problems()
        for k in busy:
            if len(self.ports[k]) < 2:
                narrow.add(f"{names.get(k[0], str(k[0]))}->{names.get(k[1], str(k[1]))} {k[2]}: "
                           f"{len(self.flows[k])} flows, 1 port")
        if not busy:
            return Check.not_applicable("wire: outer source ports", "no server pair carried 3 or more inner flows")
        best = max(busy, key=lambda k: len(self.flows[k]))
        total = sum(len(p) for p in self.ports.values())
        return narrow.check("outer source ports", f"{len(busy)} server pairs carried 3+ inner flows, each on several "
                                                    f"source ports ({total} in all); e.g. {names.get(best[0])}->"
                                                    f"{names.get(best[1])} {best[2]}: {len(self.flows[best])} inner "
                                                    f"flows used {len(self.ports[best])} outer source ports")

    def _cross_check(self) -> Check:
        wrong = _Problems()
        for frame in self.sample:
            if dissect(frame) != packets.dissect(frame):
                wrong.add(f"{frame[:64].hex()}...")
        return wrong.check("fast dissection", f"the fast reader of all {len(self.seen)} distinct frames agreed "
                                                f"with scapy on a sample of {len(self.sample)}")


def analyze(frames: Iterable[bytes], lab: Underlay) -> list[Check]:
    """The wire checks over frames captured earlier."""
    checks = WireChecks(lab)
    for frame in frames:
        checks.feed(frame)
    return checks.checks()
