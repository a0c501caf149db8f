"""The live view's model, pure: every node placed once, links up or down as the lab has them, VMs on their
servers, each cable's rates from two readings of its counters, a traced packet hop by hop with its header
stack; what the page may ask without the lab's secret; and `--web` read as [ADDR:]PORT or refused."""

from ipaddress import IPv4Address

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.vxlan import VXLAN

from controller.overlay import compile_overlay
from controller.trace import trace_vm, vm_packet
from controller.underlay import compile_underlay
from overlaylab.classroom.livelab import Live
from overlaylab.classroom.liveserver import address
from overlaylab.classroom.liveview import link_ports, netdev, rates, trace_view, view
from overlaylab.errors import LabError
from overlaylab.verify.observe import Observation, Sighting, Traced
from overlaylab.verify.observegroup import ends_of, servers_of
from topologies import changes
from topologies.scenario import load

NETDEV = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
p0e0-eth1:  1000      10    0    0    0     0          0         0      500       5    0    0    0     0       0          0
"""


def test_the_view_has_every_node_link_and_vm_and_follows_changes():
    scenario = load()
    drawn = view(scenario, set())
    fabric = scenario.fabric
    assert len(drawn["nodes"]) == len(fabric.switches) + len(fabric.servers)
    assert len({(n["x"], n["y"]) for n in drawn["nodes"]}) == len(drawn["nodes"])  # nothing drawn over anything
    assert {link["state"] for link in drawn["links"]} == {"up"} and len(drawn["links"]) == len(fabric.links)
    cut = view(scenario, {frozenset(("p0a0", "c0"))})
    assert [f"{c['a']}-{c['b']}" for c in cut["links"] if c["state"] == "down"] == ["p0a0-c0"]
    assert {n["name"] for n in cut["nodes"] if n["state"] == "down"} == set()
    p0a0 = {frozenset((link.a, link.b)) for link in fabric.links if "p0a0" in (link.a, link.b)}
    assert {n["name"] for n in view(scenario, p0a0)["nodes"] if n["state"] == "down"} == {"p0a0"}  # a switch failed
    moved = view(changes.migrate(scenario, "pepsi/web", "p1e0h0"), set())
    assert {v["vm"]: v["server"] for v in moved["vms"]}["pepsi/web"] == "p1e0h0"
    assert "machine" not in drawn["nodes"][0]
    placed = view(scenario, set(), {n["name"]: "m2" if n["name"].startswith("c") else "m1" for n in drawn["nodes"]})
    assert {n["name"]: n["machine"] for n in placed["nodes"]}["c0"] == "m2"  # the page marks it data-machine


@pytest.mark.parametrize(("text", "expected"), [("8080", ("127.0.0.1", 8080)), ("0.0.0.0:80", ("0.0.0.0", 80)),
                                                ("[::1]:8080", ("::1", 8080)),
                                                ("127.0.0.1:0", ("127.0.0.1", 0))])
def test_web_takes_addr_and_port(text, expected):
    assert address(text) == expected


@pytest.mark.parametrize("text", ["", "http", "host:", "8080x", "70000", "-1"])
def test_a_bad_web_address_is_refused_in_one_line(text):
    with pytest.raises(LabError, match=r"give \[ADDR:\]PORT"):
        address(text)


def test_rates_come_from_two_readings_of_each_cables_upper_port():
    fabric = load().fabric
    assert link_ports(fabric)["p0e0h0-p0e0"] == "p0e0-eth1"  # counted where the switch is, never in a server
    assert netdev(NETDEV) == {"lo": (0, 0), "p0e0-eth1": (1500, 15)}
    assert rates({"p0e0h0-p0e0": (1500, 15), "gone": (1, 1)}, {"p0e0h0-p0e0": (4000, 35), "new": (9, 9)}, 0.5) == {
        "p0e0h0-p0e0": [40.0, 40000]}  # packets/s and bits/s, both ways; a cable read once has no rate yet


def lecture_trace(seen: list[str], delivered: bool = True) -> tuple[Traced, dict]:
    """pepsi/web to pepsi/db, predicted by the compiled tables, and seen on the cables named."""
    scenario = load()
    web, db = (next(vm for vm in scenario.vms if vm.label == label) for label in ("pepsi/web", "pepsi/db"))
    tables = {**compile_underlay(scenario.fabric), **compile_overlay(scenario)}
    paths = trace_vm(scenario, tables, web, vm_packet(web, db))
    frame = bytes(Ether() / IP(src="10.0.0.2", dst="10.0.0.3") / UDP(sport=49152, dport=4789) / VXLAN(vni=5001)
                  / Ether() / IP(src="192.0.2.2", dst="192.0.2.3") / UDP(dport=7777))
    sightings = tuple(Sighting(frozenset(cable.split("-")), "tap", frame) for cable in seen)
    traced = Traced(paths, (web, db), Observation(sightings, delivered), 0 if delivered else None)
    return traced, trace_view(traced, web.server.name, db.server.name)


def test_a_trace_is_shown_hop_by_hop_with_the_header_stack_on_each_cable():
    _, shown = lecture_trace(["p0e0-p0e0h1", "p0e0h0-p0e0"])  # seen out of order: shown along the path
    assert shown["paths"] == [{"nodes": ["p0e0h0", "p0e0", "p0e0h1"], "verdict": "delivered to pepsi/db",
                               "delivered": True, "to": "pepsi/db"}]
    assert [(hop["from"], hop["to"]) for hop in shown["observed"]] == [("p0e0h0", "p0e0"), ("p0e0", "p0e0h1")]
    first = shown["observed"][0]
    assert (first["outer"], first["tunnel"]) == ("10.0.0.2 -> 10.0.0.3", "VXLAN sport 49152 VNI 5001")
    assert "192.0.2.2" in first["inner"] and (shown["src"], shown["dst"], shown["taken"]) == ("pepsi/web", "pepsi/db", 0)


def test_a_trace_between_servers_is_shown_as_predicted_only():
    traced, _ = lecture_trace([])
    shown = trace_view(Traced(traced.paths), "p0e0h0", "p0e0h1")
    assert "observed" not in shown and shown["src"] == "p0e0h0"


class Asked:
    """The lab as the page's requests reach it: what was asked, nothing done."""

    def __init__(self):
        self.calls = []

    def trace(self, src, dst, proto="udp"):
        self.calls.append(("trace", src, dst, proto))
        return lecture_trace([])[0]

    def fail(self, kind, *names):
        self.calls.append(("fail", kind, *names))
        return {"changes": {"underlay": 7, "vswitches": 0}}

    restore = fail

    def migrate(self, label, server):
        self.calls.append(("migrate", label, server))
        return {"changes": {"underlay": 0, "vswitches": 3}}


def test_the_page_traces_for_anyone_but_changes_the_lab_only_with_buttons_and_the_secret():
    lab = Asked()
    live = Live(None, lab)
    assert live.act({"do": "trace", "src": "pepsi/web", "dst": "pepsi/db"}, False).startswith("traced pepsi/web")
    with pytest.raises(LabError, match="no protocol 'ssh'"):
        live.act({"do": "trace", "src": "pepsi/web", "dst": "pepsi/db", "proto": "ssh"}, True)
    link = {"do": "link", "a": "p0a0", "b": "c0", "up": False}
    for buttons, secret in ((False, True), (True, False)):
        live.buttons = buttons
        with pytest.raises(PermissionError, match="read-only"):
            live.act(link, secret)
    live.buttons = True
    assert live.act(link, True) == "link p0a0-c0 down: flow changes underlay 7, virtual switches 0"
    assert live.act({"do": "migrate", "vm": "pepsi/web", "server": "p1e0h0"}, True).startswith("pepsi/web moved")
    with pytest.raises(LabError, match="it may ask for trace, link or migrate"):
        live.act({"do": "reboot"}, True)
    assert lab.calls == [("trace", "pepsi/web", "pepsi/db", "udp"), ("fail", "link", "p0a0", "c0"),
                         ("migrate", "pepsi/web", "p1e0h0")]


def test_a_broadcast_is_shown_a_copy_at_a_time_side_by_side_each_to_its_vm():
    scenario = load()
    web = next(vm for vm in scenario.vms if vm.label == "pepsi/web")
    tables = {**compile_underlay(scenario.fabric), **compile_overlay(scenario)}
    paths = trace_vm(scenario, tables, web, {**vm_packet(web, web), "eth_dst": "ff:ff:ff:ff:ff:ff",
                                             "ipv4_dst": IPv4Address("255.255.255.255")})
    servers = servers_of(scenario.vms)
    each = tuple(next(i for i, p in enumerate(paths) if p.delivered_to == label) for label in ("pepsi/db", "pepsi/legacy"))
    sightings = []
    for index in each:
        far = scenario.fabric.server_named(servers[paths[index].delivered_to])
        frame = bytes(Ether() / IP(src="10.0.0.2", dst=str(far.ip)) / UDP(sport=1, dport=4789) / VXLAN(vni=5001)
                      / Ether(dst="ff:ff:ff:ff:ff:ff") / IP(src="192.0.2.2", dst="255.255.255.255") / UDP(dport=7777))
        sightings += [Sighting(cable, "tap", frame) for cable in ends_of(paths[index], "p0e0h0", servers)]
    traced = Traced(paths, observed=Observation(tuple(reversed(sightings)), True),
                    reached=frozenset({"pepsi/db", "pepsi/legacy"}), each=each)
    shown = trace_view(traced, "p0e0h0", None, servers)
    assert {p["to"] for p in shown["paths"]} == {"pepsi/db", "pepsi/legacy"}
    assert all(p["nodes"][-1] in ("p0e0h1", "p2e0h0") for p in shown["paths"])  # each to its VM's server
    firsts = [(h["from"], h["to"]) for h in shown["observed"] if h["step"] == 1]
    assert firsts == [("p0e0h0", "p0e0"), ("p0e0h0", "p0e0")]  # both copies leave together
    lasts = {h["to"]: h["step"] for h in shown["observed"] if not h["tunnel"]}
    assert lasts == {"pepsi/db": 3, "pepsi/legacy": 7} and shown["reached"] == ["pepsi/db", "pepsi/legacy"]
