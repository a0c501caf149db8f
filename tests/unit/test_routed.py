"""A routed tenant (`routing: distributed`), the lecture's model: the scenario's rules, and its virtual
switches' tables proved by tracing: the gateway answered on every server, a packet to another subnet
routed once at the first virtual switch (TTL - 1, MACs rewritten) and tunnelled straight to its VM, an
address the tenant does not have dropped there, broadcasts kept to their subnet."""
from ipaddress import IPv4Address, IPv4Network

import pytest
import yaml

from controller.overlay import compile_overlay
from controller.trace import arp_request, trace_vm, vm_packet
from controller.underlay import compile_underlay
from topologies.scenario import BUNDLED, Mode, ScenarioError, document, load, parse

ROUTED = load(BUNDLED / "routed.yaml")
TABLES = {**compile_underlay(ROUTED.fabric), **compile_overlay(ROUTED)}
VMS = {vm.label: vm for vm in ROUTED.vms}
GATEWAY_MAC = "02:fe:00:1b:59:01"  # VNI 7001


def traced(src, packet):
    return trace_vm(ROUTED, TABLES, VMS[src], packet)


def test_between_subnets_the_first_virtual_switch_routes_once_and_tunnels_straight_to_the_vm():
    web, db = VMS["acme/web1"], VMS["acme/db"]
    paths = traced("acme/web1", vm_packet(web, db))
    assert vm_packet(web, db)["eth_dst"] == GATEWAY_MAC  # the VM sends to its default route
    assert {p.delivered_to for p in paths} == {"acme/db"} and len(paths) == 4  # across the core, every ECMP way
    for path in paths:
        assert (path.packet["ttl"], path.packet["eth_src"], path.packet["eth_dst"]) == (63, GATEWAY_MAC, db.mac)
        assert [h.node for h in path.hops].count("p0e0h0/br-int") == 2 and path.hops[-1].node == "p3e1h1/br-int"


def test_on_its_own_subnet_a_vm_is_switched_by_mac_and_nothing_is_rewritten():
    (path,) = {p.delivered_to: p for p in traced("acme/web1", vm_packet(VMS["acme/web1"], VMS["acme/web2"]))}.values()
    assert path.delivered_to == "acme/web2" and path.packet["ttl"] == 64 and path.packet["eth_src"] == VMS["acme/web1"].mac


def test_a_subnet_the_tenant_lacks_and_a_frame_that_skips_the_router_go_nowhere():
    web, db = VMS["acme/web1"], VMS["acme/db"]
    nowhere = {**vm_packet(web, db), "ipv4_dst": IPv4Address("172.16.9.9")}
    bypass = {**vm_packet(web, db), "eth_dst": db.mac}  # straight to a VM of another subnet, by its MAC
    for packet in (nowhere, bypass):
        (path,) = traced("acme/web1", packet)
        assert path.delivered_to is None and path.verdict.startswith("dropped at p0e0h0/br-int")


@pytest.mark.parametrize(("asked", "answer"), [("172.16.1.1", GATEWAY_MAC), ("172.16.1.11", "02:00:1b:59:01:0b"),
                                               ("172.16.3.10", None), ("172.16.3.1", None)])
def test_arp_answers_the_gateway_and_the_askers_own_subnet_only(asked, answer):
    web = VMS["acme/web1"]
    (path,) = traced("acme/web1", arp_request(web.mac, web.ip.ip, IPv4Address(asked)))
    got = path.packet.get("arp_sha") if path.delivered_to == "acme/web1" else None
    assert got == answer


def test_a_broadcast_stays_on_its_subnet():
    web = VMS["acme/web1"]
    packet = {**vm_packet(web, web), "eth_dst": "ff:ff:ff:ff:ff:ff", "ipv4_dst": IPv4Address("255.255.255.255")}
    assert {p.delivered_to for p in traced("acme/web1", packet) if p.delivered_to} == {"acme/web2"}


def scenario(**acme):
    doc = document(ROUTED)
    doc["tenants"]["acme"].update(acme)
    return doc


@pytest.mark.parametrize(("changed", "problem"), [
    ({"routing": "ospf"}, "tenants.acme.routing: unknown routing 'ospf'; use l2"),
    ({"vms": {"a": {"ip": "172.16.1.1/24", "server": "p0e0h0"}}}, "172.16.1.1 is the gateway of 172.16.1.0/24"),
    ({"vms": {"a": {"ip": "172.16.1.5/24", "server": "p0e0h0"}, "b": {"ip": "172.16.1.6/16", "server": "p0e0h1"}}},
     "overlaps"),
    ({"vms": {"a": {"ip": "172.16.1.5/24", "server": "p0e0h0"}, "b": {"ip": "172.16.2.5/24", "server": "p2e0h0",
                                                                      "vtep": "kernel"}}}, "bare-metal member"),
    ({"routing": "l2"}, "put all of a tenant's VMs in one subnet, or route between them (routing: distributed)"),
])
def test_a_routed_tenants_rules_are_one_line_each(changed, problem):
    with pytest.raises(ScenarioError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse(scenario(**changed), "routed.yaml")


def test_the_routing_key_survives_a_save_and_flat_mode_refuses_it():
    again = parse(yaml.safe_load(yaml.safe_dump(document(ROUTED))), "again.yaml")
    assert [t.routing for t in again.tenants] == [t.routing for t in ROUTED.tenants]
    assert {vm.label: (vm.routing, vm.ip) for vm in again.vms} == {vm.label: (vm.routing, vm.ip) for vm in ROUTED.vms}
    assert "routing" not in document(load())["tenants"]["pepsi"]  # an L2 tenant's file stays as it was
    with pytest.raises(ScenarioError, match="flat mode has none of its own"):
        load(BUNDLED / "routed.yaml", mode=Mode.FLAT)


def routed_endpoints():
    from probes.endpoint import Endpoint
    from topologies.encap import Encap
    net = {1: IPv4Network("172.16.1.0/24"), 3: IPv4Network("172.16.3.0/24")}

    def ep(label, subnet, host, mac):
        return Endpoint(label, "acme", 7001, Encap.VXLAN, mac, net[subnet][host], IPv4Address(f"10.{subnet}.0.2"), 0,
                        "eth0", network=net[subnet], gateway_mac=GATEWAY_MAC)
    return ep("acme/web1", 1, 10, "02:00:00:00:01:0a"), ep("acme/web2", 1, 11, "02:00:00:00:01:0b"), \
        ep("acme/db", 3, 10, "02:00:00:00:03:0a")


def test_the_probes_send_to_the_gateway_ask_it_and_keep_floods_on_the_subnet():
    from probes import arpcheck, attacks, replication
    from probes.session import Tokens
    web1, web2, db = routed_endpoints()
    assert web1.next_hop(web2).mac == web2.mac and web1.next_hop(db).mac == GATEWAY_MAC
    answers = {q.ip: q.answer for q in arpcheck.questions([web1, web2, db]) if q.asker == "acme/web1"}
    assert answers[IPv4Address("172.16.1.1")] == GATEWAY_MAC and answers[IPv4Address("172.16.1.11")] == web2.mac
    assert answers[IPv4Address("172.16.3.10")] is None  # another subnet: a router answers for nobody there
    floods = replication.floods([web1, web2, db], Tokens())
    assert {f.probe.sender: f.probe.allowed for f in floods} == {"acme/web1": {"acme/web2"}, "acme/web2": {"acme/web1"}}
    (spoof,) = [a for a in attacks.attacks([web1, web2, db], Tokens(), None) if a.name == "gateway spoofing"]
    assert "from 172.16.3.1, the gateway of 172.16.3.0/24" in spoof.detail and not spoof.probe.allowed
