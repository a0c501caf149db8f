"""Virtual switch tables, proved by tracing VM packets end to end: vswitch, tunnel, underlay, vswitch."""
from ipaddress import IPv4Address, IPv4Network

import pytest

from controller.app import desired_state
from controller.desired import DesiredState
from controller.flows import Output
from controller.overlay import T_DELIVER, T_FORWARD, compile_overlay, virtualized
from controller.purpose import REPLICATE
from controller.trace import LabCabling, arp_request, describe, trace_vm, vm_packet, walk
from controller.underlay import compile_underlay
from topologies.encap import Encap
from topologies.names import vswitch_dpid
from topologies.scenario import BUNDLED, load

SCENARIOS = ["lecture.yaml", "datacenter.yaml"]


@pytest.fixture(scope="module", params=SCENARIOS)
def lab(request):
    scenario = load(BUNDLED / request.param)
    return scenario, {**compile_underlay(scenario.fabric), **compile_overlay(scenario)}


def vm(scenario, label):
    return next(v for v in scenario.vms if v.label == label)


def test_every_same_tenant_pair_is_delivered_and_every_other_pair_isolated(lab):
    scenario, tables = lab
    assert any(v.bare_metal for v in scenario.vms)  # bare metal is reached like any peer
    for src in (v for v in scenario.vms if not v.bare_metal):
        for dst in scenario.vms:
            if src is dst:
                continue
            paths = trace_vm(scenario, tables, src, vm_packet(src, dst))
            reached = {p.delivered_to for p in paths}
            if src.tenant == dst.tenant:
                assert reached == {dst.label}, "\n".join(map(describe, paths))
                assert all(p.packet["ipv4_dst"] == dst.ip.ip and p.packet["eth_dst"] == dst.mac for p in paths)
            else:
                assert reached == {None}, (src.label, dst.label)


def test_remote_peers_are_reached_through_a_tunnel_over_every_ecmp_path(lab):
    scenario, tables = lab
    fabric = scenario.fabric
    for src in (v for v in scenario.vms if not v.bare_metal):
        for dst in (v for v in scenario.vms if v.tenant == src.tenant and v.server != src.server):
            paths = trace_vm(scenario, tables, src, vm_packet(src, dst))
            a, b = src.server, dst.server
            expected = 1 if (a.pod, a.edge) == (b.pod, b.edge) else fabric.half if a.pod == b.pod else fabric.half ** 2
            assert len(paths) == expected
            for path in paths:
                nodes = [h.node for h in path.hops]
                last = f"{dst.server.name}/br-int" if not dst.bare_metal else f"p{b.pod}e{b.edge}"
                assert nodes[0] == f"{src.server.name}/br-int" and nodes[-1] == last
                assert path.packet["tunnel_id"] == vm(scenario, src.label).vni
                assert path.packet["tun_ipv4_src"] == a.ip


def test_same_server_peers_are_not_encapsulated():
    scenario = load(BUNDLED / "datacenter.yaml")
    tables = {**compile_underlay(scenario.fabric), **compile_overlay(scenario)}
    web, app = vm(scenario, "pepsi/web"), vm(scenario, "pepsi/app")
    assert web.server == app.server
    (path,) = trace_vm(scenario, tables, web, vm_packet(web, app))
    assert path.delivered_to == "pepsi/app" and len(path.hops) == 2 and "tunnel_id" not in path.packet


def test_arp_is_answered_locally_with_the_right_tenants_mac():
    scenario = load(BUNDLED / "lecture.yaml")
    tables = compile_overlay(scenario)
    cabling = LabCabling(scenario)
    for label, owner in (("pepsi/web", "pepsi/db"), ("coke/web", "coke/db"), ("pepsi/db", "pepsi/web")):
        src, dst = vm(scenario, label), vm(scenario, owner)
        (path,) = walk(cabling, tables, f"{src.server.name}/br-int", 1 if label != "coke/web" else 2,
                       arp_request(src.mac, src.ip.ip, dst.ip.ip))
        assert path.delivered_to == label, describe(path)
        reply = path.packet
        assert reply["arp_op"] == 2 and reply["arp_sha"] == reply["eth_src"] == dst.mac
        assert reply["arp_spa"] == dst.ip.ip and reply["arp_tpa"] == src.ip.ip and reply["eth_dst"] == src.mac


def test_arp_for_an_address_the_tenant_lacks_gets_no_answer():
    scenario = load(BUNDLED / "datacenter.yaml")
    tables = compile_overlay(scenario)
    src = vm(scenario, "initech/web")  # initech has 172.16.5.0/24; pepsi owns 192.0.2.2
    (path,) = walk(LabCabling(scenario), tables, f"{src.server.name}/br-int", 1 + [v.label for v in scenario.vms
                   if v.server == src.server].index(src.label), arp_request(src.mac, src.ip.ip, IPv4Address("192.0.2.2")))
    assert path.delivered_to is None and "no answer" in path.verdict


@pytest.mark.parametrize("spoof", [{"eth_src": "02:00:00:00:00:99"}, {"ipv4_src": IPv4Address("192.0.2.77")}])
def test_port_security_drops_spoofed_sources(spoof):
    scenario = load(BUNDLED / "lecture.yaml")
    tables = {**compile_underlay(scenario.fabric), **compile_overlay(scenario)}
    web, db = vm(scenario, "pepsi/web"), vm(scenario, "pepsi/db")
    (path,) = trace_vm(scenario, tables, web, {**vm_packet(web, db), **spoof})
    assert path.delivered_to is None and len(path.hops) == 1


def test_tunnel_packets_need_a_known_server_the_right_vni_and_encap():
    scenario = load(BUNDLED / "lecture.yaml")
    tables = compile_overlay(scenario)
    cabling = LabCabling(scenario)
    web, db = vm(scenario, "coke/web"), vm(scenario, "coke/db")  # geneve, p0e0h0 <- p3e1h1
    inner = {**vm_packet(db, web), "tunnel_id": 5002, "tun_ipv4_src": IPv4Address("10.3.1.3")}
    node = "p0e0h0/br-int"
    assert walk(cabling, tables, node, Encap.GENEVE.ofport, inner)[0].delivered_to == "coke/web"
    for bad_port, changes in ((Encap.VXLAN.ofport, {}),  # right VNI on the wrong encapsulation
                              (Encap.GENEVE.ofport, {"tunnel_id": 5001}),  # pepsi's VNI
                              (Encap.GENEVE.ofport, {"tun_ipv4_src": IPv4Address("10.2.0.2")}),  # no coke there
                              (Encap.GENEVE.ofport, {"tun_ipv4_src": IPv4Address("10.9.9.9")})):  # rogue host
        (path,) = walk(cabling, tables, node, bad_port, {**inner, **changes})
        assert path.delivered_to is None, changes


@pytest.mark.parametrize("group", [("ff:ff:ff:ff:ff:ff", "255.255.255.255"), ("01:00:5e:00:00:fb", "224.0.0.251")])
def test_a_broadcast_or_multicast_reaches_exactly_its_tenants_other_vms_one_copy_per_server(lab, group):
    scenario, tables = lab
    for src in (v for v in scenario.vms if not v.bare_metal):
        packet = {**vm_packet(src, src), "eth_dst": group[0], "ipv4_dst": IPv4Address(group[1])}
        paths = trace_vm(scenario, tables, src, packet)
        delivered = [p for p in paths if p.delivered_to]
        assert {p.delivered_to for p in delivered} == {v.label for v in scenario.vms
                                                       if v.tenant == src.tenant and v != src}, src.label
        copy = next(f for f in tables[f"{src.server.name}/br-int"].flows
                    if f.purpose == REPLICATE and f.table == T_FORWARD and f.fields["metadata"] == src.vni)
        servers = {v.server for v in scenario.vms if v.tenant == src.tenant and v.server != src.server}
        assert sum(isinstance(a, Output) and a.port == src.encap.ofport for a in copy.actions) == len(servers)
        assert all(p.packet.get("metadata", src.vni) == src.vni for p in delivered)


def test_vswitches_hold_only_their_tenants_and_decap_scales_with_local_vms(lab):
    scenario, _ = lab
    compiled = compile_overlay(scenario)
    assert set(compiled) == {f"{s.name}/br-int" for s in virtualized(scenario)}
    for server in virtualized(scenario):
        tables = compiled[f"{server.name}/br-int"]
        here = [v for v in scenario.vms if v.server == server and not v.bare_metal]
        vnis = {v.vni for v in here}
        assert {f.fields["metadata"] for f in tables.flows if "metadata" in f.fields} == vnis
        assert {f.metadata for f in tables.flows if f.metadata is not None} == vnis
        assert len([f for f in tables.flows if f.table == T_DELIVER]) == len(here) + len(vnis) + 1  # + a flood each
        assert tables.dpid == vswitch_dpid(server)


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_underlay_never_learns_a_vm(name):
    """What the controller itself will push to underlay switches (its desired state, from the very
    scenario file) equals what the fabric alone compiles to, and names no VM address."""
    scenario, desired = load(BUNDLED / name), DesiredState(desired_state(str(BUNDLED / name), None, None)).tables
    bare = {t.dpid: t for t in compile_underlay(scenario.fabric).values()}
    assert len(scenario.vms) >= 5 and {dpid: desired[dpid] for dpid in bare} == bare
    vm_values = {v.mac for v in scenario.vms} | {str(v.ip.ip) for v in scenario.vms}
    for t in bare.values():
        for f in t.flows:
            text = repr(f.match) + repr(f.actions)
            assert not any(value in text for value in vm_values if not value.startswith("10."))
            assert not any(isinstance(v, IPv4Network) and v.prefixlen == 32 and str(v.network_address) in vm_values
                           for _, v in f.match)