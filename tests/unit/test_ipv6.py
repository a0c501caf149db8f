"""Dual-stack VMs (`ip6:`): the scenario's rules, and the virtual switches' tables proved by tracing (the
neighbour discovery answer made in OpenFlow, IPv6 routed once at the first virtual switch, the doors IPv6
opens kept shut); then the probes' IPv6 frames, byte for byte scapy's, and read back the same by both readers."""
from ipaddress import IPv4Address, IPv6Address

import pytest
import yaml
from scapy.layers.l2 import Ether

from controller.brint import NA_HOST, NA_ROUTER
from controller.codec import tables_doc, tables_of
from controller.flows import ND_ADVERT
from controller.overlay import compile_overlay
from controller.trace import solicitation, trace_vm, vm_packet6
from controller.underlay import compile_underlay
from probes import arpcheck, fastparse, packets
from probes.attacks import attacks
from probes.endpoint import Endpoint
from probes.matrix import matrix
from probes.packets import PROTOS6, Host, advertise, probe, solicit
from probes.replication import floods
from probes.session import Tokens
from probes.stamp import stamp_probe, stamp_routed, stamp_solicit
from topologies.encap import Encap
from topologies.scenario import BUNDLED, Mode, ScenarioError, document, load, parse

DUAL = load(BUNDLED / "dualstack.yaml")
TABLES = {**compile_underlay(DUAL.fabric), **compile_overlay(DUAL)}
VMS = {vm.label: vm for vm in DUAL.vms}
GATEWAY_MAC = "02:fe:00:1b:bd:01"  # VNI 7101


def traced(src, packet):
    return trace_vm(DUAL, TABLES, VMS[src], packet)


@pytest.mark.parametrize(("asker", "target", "mac", "flags"), [
    ("acme/web1", "fd00:a:1::11", "02:00:1b:bd:01:0b", NA_HOST),  # a peer on its subnet, on another server
    ("acme/web1", "fd00:a:1::1", GATEWAY_MAC, NA_ROUTER),  # its gateway: a router
    ("globex/web", "fd00:a:1::11", "02:00:1b:be:01:0b", NA_HOST),  # the same address in another tenant
])
def test_a_solicitation_is_answered_by_the_virtual_switch_with_an_advertisement(asker, target, mac, flags):
    vm = VMS[asker]
    (path,) = traced(asker, solicitation(vm, IPv6Address(target)))
    got = path.packet
    assert path.delivered_to == asker and len(path.hops) == 3  # classify, answer, finish: never off the server
    assert (got["icmpv6_type"], got["nd_reserved"], got["nd_options_type"]) == (ND_ADVERT, flags, 2)
    assert (got["ipv6_nd_tll"], got["eth_src"], got["eth_dst"]) == (mac, mac, vm.mac)
    assert (got["ipv6_src"], got["ipv6_dst"]) == (IPv6Address(target), vm.ip6.ip)


@pytest.mark.parametrize("target", ["fd00:a:3::10", "fd00:a:3::1", "fd00:a:9::9"])
def test_no_answer_for_another_subnet_its_gateway_or_an_address_nobody_has(target):
    (path,) = traced("acme/web1", solicitation(VMS["acme/web1"], IPv6Address(target)))
    assert path.delivered_to is None


def test_ipv6_is_routed_once_at_the_first_virtual_switch_and_switched_on_its_subnet():
    web, db, web2 = VMS["acme/web1"], VMS["acme/db"], VMS["acme/web2"]
    paths = traced("acme/web1", vm_packet6(web, db))
    assert {p.delivered_to for p in paths} == {"acme/db"}
    assert {(p.packet["ttl"], p.packet["eth_src"], p.packet["eth_dst"]) for p in paths} == {(63, GATEWAY_MAC, db.mac)}
    paths = traced("acme/web1", vm_packet6(web, web2))
    assert {(p.delivered_to, p.packet["ttl"], p.packet["eth_src"]) for p in paths} == {("acme/web2", 64, web.mac)}


def test_a_vm_may_not_advertise_nor_send_from_another_ipv6_address():
    web, web2 = VMS["acme/web1"], VMS["acme/web2"]
    lie = {**vm_packet6(web, web2), "ip_proto": 58, "icmpv6_type": ND_ADVERT, "eth_dst": "33:33:00:00:00:01"}
    forged = {**vm_packet6(web, web2), "ipv6_src": IPv6Address("fd00:a:1::99")}
    for packet in (lie, forged):
        (path,) = traced("acme/web1", packet)
        assert path.delivered_to is None and path.verdict.startswith("dropped at p0e0h0/br-int")


def test_ipv6_multicast_stays_in_its_tenant_and_subnet():
    web = VMS["acme/web1"]
    packet = {**vm_packet6(web, web), "eth_dst": "33:33:00:00:00:fb", "ipv6_dst": IPv6Address("ff02::fb")}
    assert {p.delivered_to for p in traced("acme/web1", packet)} == {"acme/web2"}
    packet = {**packet, "eth_src": VMS["globex/web"].mac, "ipv6_src": VMS["globex/web"].ip6.ip}
    assert {p.delivered_to for p in traced("globex/web", packet)} == {"globex/app"}


def test_the_tables_survive_the_controllers_json_both_ways():
    for tables in compile_overlay(DUAL).values():
        assert tables_of(tables_doc(tables)) == tables


VM = "tenants: {a: {vni: 1, routing: %s, vms: {x: {ip: 10.0.0.2/24, %sserver: p0e0h0}, y: {ip: 10.0.0.3/24, %sserver: p0e0h1}}}}\n"


@pytest.mark.parametrize(("routing", "x", "y", "problem"), [
    ("l2", "ip6: fe80::1/64, ", "", "tenants.a.vms.x.ip6: fe80::1/64 is link-local"),
    ("l2", "ip6: 'fd00::2', ", "", "not an IPv6 address with a prefix"),
    ("l2", "ip6: 10.0.0.2/24, ", "", "not a valid IPv6 address/prefix"),
    ("l2", "ip6: 'fd00::2/64', ", "ip6: 'fd00::2/64', ", "y.ip6: fd00::2 is already x's address"),
    ("l2", "ip6: 'fd00:1::2/64', ", "ip6: 'fd00:2::2/64', ", "outside the tenant's IPv6 subnet fd00:1::/64"),
    ("distributed", "ip6: 'fd00:1::1/64', ", "", "fd00:1::1 is the gateway of fd00:1::/64"),
    ("distributed", "ip6: 'fd00:1::2/64', ", "ip6: 'fd00:1::3/48', ", "x.ip6: fd00:1::/64 overlaps fd00:1::/48 (of y)"),
    ("l2", "ip6: 'fd00::/64', ", "", "the subnet's own address"),
])
def test_ip6_rules_are_one_line_each(routing, x, y, problem):
    with pytest.raises(ScenarioError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse(yaml.safe_load(VM % (routing, x, y)))


def test_ip6_survives_a_save_flat_mode_refuses_it_and_a_vm_may_have_ipv6_only():
    again = parse(yaml.safe_load(yaml.safe_dump(document(DUAL))))
    assert {vm.label: vm.ip6 for vm in again.vms} == {vm.label: vm.ip6 for vm in DUAL.vms}
    with pytest.raises(ScenarioError, match="x.ip6: flat mode's underlay routes IPv4 only"):
        parse(yaml.safe_load(VM % ("l2", "ip6: 'fd00::2/64', ", "")), mode=Mode.FLAT)
    (only,) = parse(yaml.safe_load("tenants: {a: {vni: 1, vms: {x: {ip6: 'fd00::1:2/64', server: p0e0h0}}}}")).vms
    assert only.ip is None and only.mac == "02:00:00:01:00:02" and only.addresses == (IPv6Address("fd00::1:2"),)
    assert VMS["acme/log"].ip is None and document(DUAL)["tenants"]["acme"]["vms"]["log"] == {
        "ip6": "fd00:a:3::20/64", "server": "p2e0h0"}


A = Host("02:00:00:00:00:01", IPv6Address("fd00:1::2"))
B = Host("02:00:00:00:00:02", IPv6Address("fd00:2::3"))


@pytest.mark.parametrize("proto", PROTOS6)
@pytest.mark.parametrize("flow", [0, 7, 65537])
def test_stamped_ipv6_probes_are_scapys_byte_for_byte_and_both_readers_agree(proto, flow):
    frame = probe(proto, A, B, b"OLAB123456", flow)
    assert stamp_probe(proto, A, B, b"OLAB123456", flow) == frame
    assert fastparse.token_in(frame) == packets.token_in(frame) == b"OLAB123456"
    assert fastparse._inner(frame) == packets._inner(Ether(frame))
    assert packets.token_in(packets.routed(frame, "02:fe:00:00:00:01", B.mac)) == b"OLAB123456"
    assert stamp_routed(frame, "02:fe:00:00:00:01", B.mac) == packets.routed(frame, "02:fe:00:00:00:01", B.mac)
    v4 = probe(proto.removesuffix("6"), Host(A.mac, IPv4Address("10.1.2.3")), Host(B.mac, IPv4Address("10.3.2.1")),
               b"OLAB123456", flow)
    assert stamp_routed(v4, "02:fe:00:00:00:01", B.mac) == packets.routed(v4, "02:fe:00:00:00:01", B.mac)


def test_solicitations_and_advertisements_are_read_the_same_by_both_readers():
    assert stamp_solicit(A, B.ip) == solicit(A, B.ip)
    lie = advertise(A, B.ip, A.mac, b"OLABtoken1")
    assert fastparse.nd_answer(lie) == packets.nd_answer(lie) == (B.ip, A.mac)
    assert fastparse.token_in(lie) == packets.token_in(lie) == b"OLABtoken1"
    assert fastparse.nd_answer(solicit(A, B.ip)) is None


def endpoints():
    return [Endpoint(vm.label, vm.tenant, vm.vni, vm.encap, vm.mac, vm.ip.ip if vm.ip else None, vm.server.ip, 1,
                     "eth0", vm.vtep, vm.ip.network if vm.routed and vm.ip else None,
                     vm.gateway_mac if vm.routed else None,
                     vm.ip6.ip if vm.ip6 else None, vm.ip6.network if vm.routed and vm.ip6 else None)
            for vm in DUAL.vms]


def test_the_session_probes_ipv6_asks_neighbour_discovery_and_attacks_its_doors():
    eps, tokens = endpoints(), Tokens()
    planned = matrix(eps, tokens)
    assert sum(p.proto not in PROTOS6 for p in planned) == 6 * 5 * 3  # acme/log has no IPv4
    assert sum(p.proto in PROTOS6 for p in planned) == 7 * 6 * 3
    routed = next(p for p in planned if (p.src, p.dst, p.proto) == ("acme/web1", "acme/db", "udp6"))
    assert Ether(routed.probe.frame).dst == GATEWAY_MAC and Ether(routed.arrives_as).src == GATEWAY_MAC
    asked = {(q.asker, str(q.ip)): q.answer for q in arpcheck.solicitations(eps)}
    assert asked[("acme/web1", "fd00:a:1::1")] == GATEWAY_MAC and asked[("acme/web1", "fd00:a:3::10")] is None
    assert asked[("globex/web", "fd00:a:1::11")] == VMS["globex/app"].mac
    names = {a.name for a in attacks(eps, tokens, None)}
    assert {"IPv6 spoofing", "NDP spoofing"} <= names
    multicast6 = [f for f in floods(eps, tokens) if f.kind == "IPv6 multicast"]
    assert {f.probe.sender: f.probe.allowed for f in multicast6}["acme/web1"] == {"acme/web2"}
    assert Encap.VXLAN in {vm.encap for vm in DUAL.vms}


def test_an_ipv6_only_vm_has_ipv6_doors_only_and_is_routed_like_the_others():
    log, web = VMS["acme/log"], VMS["acme/web1"]
    doors = [f for f in TABLES["p2e0h0/br-int"].flows if f.fields.get("in_port") == log.port]
    assert doors and all(f.fields.get("eth_type") == 0x86DD for f in doors)  # no IPv4, no ARP
    paths = traced("acme/log", vm_packet6(log, web))
    assert {(p.delivered_to, p.packet["ttl"]) for p in paths} == {("acme/web1", 63)}
