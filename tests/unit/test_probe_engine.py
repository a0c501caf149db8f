"""The probing engine at scale, without a network: stamped frames equal scapy's, the fast reader agrees
with scapy, and the paced session re-sends what must arrive and never what must not."""
import random
from collections import defaultdict, deque
from ipaddress import IPv4Address

import pytest

from probes import fastparse, packets, wire
from probes.packets import PROTOS, Host, arp, encapsulated, probe
from probes.session import Pacing, Probe, Question, Tokens, run_session
from probes.stamp import checksum, stamp_arp_request, stamp_probe
from probes.wire import Underlay, WireChecks
from topologies.encap import Encap

IP = IPv4Address
rng = random.Random(7)


def random_host() -> Host:
    mac = "02:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(5))
    return Host(mac, IP(rng.randrange(1, 2 ** 32 - 1)))


@pytest.mark.parametrize("proto", PROTOS)
def test_stamped_probes_are_byte_for_byte_what_scapy_builds(proto):
    for _ in range(300):
        src, dst, token = random_host(), random_host(), Tokens()()
        flow = rng.choice([0, 1, 39999, 40000, 65535, 65536, rng.randrange(2 ** 32)])
        assert stamp_probe(proto, src, dst, token, flow) == probe(proto, src, dst, token, flow)


def test_stamped_arp_requests_are_what_scapy_builds():
    for _ in range(300):
        sender, target = random_host(), IP(rng.randrange(2 ** 32))
        assert stamp_arp_request(sender, target) == arp("who-has", sender, target)


def test_checksum_of_a_known_header():
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")  # RFC 1071 style example
    assert checksum(header) == 0xB861


def frames_of_every_shape() -> list[bytes]:
    a, b, server = random_host(), random_host(), Host("02:00:0a:00:00:02", IP("10.0.0.2"))
    token = Tokens()()
    inner = [probe(p, a, b, token, 5) for p in PROTOS]
    inner.append(bytes(packets.Ether(src=b.mac, dst=a.mac) / packets.IP(src=str(b.ip), dst=str(a.ip))
                       / packets.ICMP(type=3, code=3) / inner[1][14:]))  # an ICMP error quoting a probe
    frames = [*inner, arp("who-has", a, b.ip), arp("is-at", a, b.ip, b.mac, b.mac, token)]
    frames += [encapsulated(e, server, "02:00:0a:00:00:01", IP("10.3.1.3"), 5001, f)
               for e in Encap for f in inner]
    frames.append(bytes.fromhex("ffffffffffff020000000001" + "86dd") + bytes(40))  # IPv6: other
    return frames


def test_the_fast_reader_agrees_with_scapy_on_every_shape():
    for frame in frames_of_every_shape():
        assert fastparse.dissect(frame) == packets.dissect(frame)
        assert fastparse.token_in(frame) == packets.token_in(frame)
        assert fastparse.arp_answer(frame) == packets.arp_answer(frame)


def test_wire_checks_cross_check_their_sample_with_scapy():
    checks = WireChecks(Underlay({IP("10.0.0.2"): "p0e0h0", IP("10.3.1.3"): "p3e1h1"}, frozenset(), (), {}))
    for frame in frames_of_every_shape():
        checks.feed(frame)
        checks.feed(frame)  # seen on a second link: counted once
    found = {f.name.removeprefix("wire: "): f for f in checks.checks()}
    assert found["fast dissection"].ok and "sample of 19" in found["fast dissection"].detail
    assert checks.frames == 38 and len(checks.seen) == 19


def test_a_fast_reader_that_disagrees_with_scapy_is_caught(monkeypatch):
    checks = WireChecks(Underlay({}, frozenset(), (), {}))
    for frame in frames_of_every_shape():
        checks.feed(frame)
    monkeypatch.setattr(wire, "dissect", lambda frame: packets.Wire("other"))
    found = {f.name.removeprefix("wire: "): f for f in checks.checks()}
    assert not found["fast dissection"].ok and found["fast dissection"].detail.startswith("18 frames wrong")


class LossyNetwork:
    """A fake Capture: every sent frame arrives at once where its probe says, except the first
    `drop_first` tries of the tokens listed, which are lost."""

    def __init__(self, route: dict[bytes, str], drop_first: dict[bytes, int], senders: list[str]) -> None:
        self.listeners = set(senders) | set(route.values())
        self.route, self.drop_first = route, dict(drop_first)
        self.sent: dict[bytes, int] = defaultdict(int)
        self.queue: deque[tuple[str, bytes]] = deque()

    def send(self, name: str, frame: bytes) -> None:
        token = fastparse.token_in(frame)
        self.sent[token] += 1
        if self.drop_first.get(token, 0) >= self.sent[token]:
            return
        if token in self.route:
            self.queue.append((self.route[token], frame))

    def poll(self, timeout: float, on_frame) -> None:
        while self.queue:
            on_frame(*self.queue.popleft())

    def run(self, done, timeout, settle, on_frame) -> None:
        self.poll(0, on_frame)


def planned(n: int, expect: bool) -> list[Probe]:
    tokens, a, b = Tokens(), random_host(), random_host()
    result = []
    for i in range(n):
        token = tokens()
        result.append(Probe(token, f"vm{i % 4}", stamp_probe("udp", a, b, token, i), "dst" if expect else None))
    return result


FAST = Pacing(timeout=0.05, settle=0.0, rate=1e6, max_rate=1e6)


def test_a_lost_try_is_re_sent_with_the_same_token_until_it_arrives():
    probes = planned(40, expect=True)
    network = LossyNetwork({p.token: "dst" for p in probes}, {p.token: 2 for p in probes[:10]}, ["vm0", "vm1", "vm2", "vm3"])
    outcome = run_session(network, probes, [], FAST)
    assert all(outcome.ok(p) for p in probes)
    assert [outcome.tries_of(p) for p in probes] == [3] * 10 + [1] * 30
    assert outcome.resent == 20 and outcome.lost == 0


def test_a_probe_that_never_arrives_is_lost_after_the_last_try():
    probes = planned(5, expect=True)
    network = LossyNetwork({p.token: "dst" for p in probes}, {probes[0].token: 99}, ["vm0", "vm1", "vm2", "vm3"])
    outcome = run_session(network, probes, [], FAST)
    assert outcome.lost == 1 and outcome.tries_of(probes[0]) == FAST.tries
    assert not outcome.ok(probes[0]) and all(outcome.ok(p) for p in probes[1:])


def test_a_probe_to_isolate_is_sent_once_and_one_arrival_is_a_leak():
    probes = planned(8, expect=False)
    leak = probes[3]
    network = LossyNetwork({leak.token: "elsewhere"}, {}, ["vm0", "vm1", "vm2", "vm3"])
    outcome = run_session(network, probes, [], FAST)
    assert set(network.sent.values()) == {1}
    assert [p for p in probes if not outcome.ok(p)] == [leak] and outcome.reached(leak) == {"elsewhere"}


def test_arp_questions_that_must_be_answered_are_re_sent_until_they_are():
    asker = Host("02:00:00:00:00:01", IP("192.0.2.2"))
    frame = stamp_arp_request(asker, IP("192.0.2.3"))

    class Responder(LossyNetwork):
        def send(self, name, sent):
            self.sent[sent] += 1
            if self.sent[sent] >= 2:  # the first question goes unanswered
                reply = arp("is-at", Host("02:00:00:00:00:03", IP("192.0.2.3")), asker.ip, asker.mac, asker.mac)
                self.queue.append((name, reply))

    network = Responder({}, {}, ["web"])
    question = Question("web", IP("192.0.2.3"), frame, "02:00:00:00:00:03")
    outcome = run_session(network, [], [question], FAST)
    assert outcome.answered_right(question) and network.sent[frame] == 2 and outcome.resent == 1
