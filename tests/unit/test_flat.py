"""Flat mode: the underlay routes every VM address itself. It delivers and isolates as the overlay does,
but its tables grow with the VMs and a migration changes them: the lecture's case for the overlay."""
import random

import pytest
import yaml

from controller.flat import underlay_tables
from controller.flows import ETH_IP
from controller.overlay import compile_overlay
from controller.planner import plan, summary
from controller.purpose import FROM_UNDERLAY, VM_ROUTE
from controller.trace import trace_vm, vm_packet, walk
from controller.underlay import compile_underlay, links_of
from tests.unit.test_failures import Broken
from topologies import changes
from topologies.fattree import mac_of
from topologies.generate import scale_yaml
from topologies.scenario import BUNDLED, Mode, ScenarioError, load, parse


def flat(k, per_server, tenants=4):
    return parse(yaml.safe_load(scale_yaml(k, per_server, tenants, unique=True)), "flat.yaml", mode=Mode.FLAT)


def compiled(scenario, down=frozenset()):
    return {**underlay_tables(scenario, down), **compile_overlay(scenario)}


def test_overlapping_tenant_addresses_are_refused_with_the_lectures_reason():
    with pytest.raises(ScenarioError) as refused:
        load(BUNDLED / "lecture.yaml", mode=Mode.FLAT)
    line = str(refused.value)
    assert line.startswith("lecture.yaml: tenants.coke.vms.web.ip: 192.0.2.2 is also pepsi/web's;")
    assert "virtual network ID" in line and "\n" not in line
    assert load(BUNDLED / "lecture.yaml").mode is Mode.OVERLAY  # the same file is fine as an overlay


@pytest.mark.parametrize("text, problem", [
    ("a: {vni: 1, vms: {x: {ip: 10.1.0.9/24, server: p0e0h0}}}", "in the fabric's own 10.0.0.0/8"),
    ("a: {vni: 1, vms: {x: {ip: 192.168.0.2/24, server: p0e0h0, vtep: kernel}}}", "flat mode has no tunnels"),
])
def test_what_flat_routing_cannot_carry_is_refused(text, problem):
    with pytest.raises(ScenarioError, match=problem):
        parse({"tenants": yaml.safe_load(text)}, "s.yaml", mode=Mode.FLAT)


def test_a_change_to_a_flat_lab_is_validated_in_flat_mode():
    scenario = changes.add_tenant(flat(4, 1), "copy", 77, "vxlan")
    with pytest.raises(ScenarioError, match="is also t0/vm0's"):
        changes.add_vm(scenario, "copy/x", f"{scenario.vms[0].ip}", "p1e1h1")
    assert changes.migrate(scenario, "t0/vm0", "p3e1h1").mode is Mode.FLAT


def test_every_vm_pair_is_delivered_inside_its_tenant_and_nowhere_across_tenants():
    scenario = flat(4, 2)
    tables = compiled(scenario)
    for a in scenario.vms:
        for b in scenario.vms:
            if a is not b:
                paths = trace_vm(scenario, tables, a, vm_packet(a, b))
                assert {p.delivered_to for p in paths} == {b.label if a.tenant == b.tenant else None}, (a, b)


def test_at_k8_sampled_pairs_cross_the_fabric_bare_on_every_ecmp_path():
    scenario = flat(8, 2, tenants=8)
    tables = compiled(scenario)
    pairs = [(a, b) for a in scenario.vms for b in scenario.vms if a.tenant == b.tenant and a is not b]
    for a, b in random.Random(8).sample(pairs, 200):
        paths = trace_vm(scenario, tables, a, vm_packet(a, b))
        assert paths and all(p.delivered_to == b.label for p in paths)
        assert not any(hop.flow and "tunnel_id" in str(hop.flow.actions) for p in paths for hop in p.hops)


def test_the_underlay_grows_with_every_vm_and_the_overlay_underlay_does_not():
    for k, per_server in ((4, 0), (4, 2), (8, 1)):
        scenario = flat(k, per_server)
        vms = len(scenario.vms)
        fabric_only = compile_underlay(scenario.fabric)
        tables = underlay_tables(scenario)
        assert underlay_tables(parse(yaml.safe_load(scale_yaml(k, per_server, 4, unique=True)), "o")) == fabric_only
        assert len(tables["c0"].flows) == len(fabric_only["c0"].flows) + vms  # a core: a route per VM
        assert len(tables["p0a0"].flows) == len(fabric_only["p0a0"].flows) + vms // k  # its pod's VMs
        assert len(tables["p0e0"].flows) == len(fabric_only["p0e0"].flows) + 2 * vms // (k * k // 2)  # door, route
        assert sum(f.purpose == VM_ROUTE for t in tables.values() for f in t.flows) == \
            sum(len(t.flows) for t in tables.values()) - sum(len(t.flows) for t in fabric_only.values())


def test_a_migration_changes_the_underlay_in_flat_mode_and_not_in_overlay_mode():
    counts = {}
    for mode in Mode:
        doc = yaml.safe_load(scale_yaml(4, 1, 4, unique=True))
        before = parse(doc, "s.yaml", mode=mode)
        after = changes.migrate(before, "t0/vm0", "p3e1h1")
        counts[mode] = summary(plan(compiled(before), compiled(after)))
    assert counts[Mode.OVERLAY]["underlay"] == 0
    changed = counts[Mode.FLAT]["datapaths"]
    assert {"c0", "c1", "c2", "c3", "p0a0", "p0a1", "p3a0", "p3a1", "p0e0", "p3e1"} <= set(changed)
    assert counts[Mode.FLAT]["underlay"] == 4 + 2 * 2 + 2 * 2  # 4 cores re-pointed; 2 aggregations and 1 edge
    # (its door and route) lose the VM, as many gain it


def test_a_flat_virtual_switch_routes_bare_through_its_patch_port_and_accepts_only_peers_addresses():
    scenario = flat(4, 1)
    vswitch = compile_overlay(scenario)["p0e0h0/br-int"]
    kinds = {f.purpose for f in vswitch.flows}
    assert "encapsulate" not in kinds and "tunnel accept" not in kinds
    assert {"to the underlay", "from the underlay"} <= kinds
    accepted = [f for f in vswitch.flows if f.purpose == FROM_UNDERLAY]
    peers = [vm for vm in scenario.vms if vm.tenant == "t0" and vm.server.name != "p0e0h0"]
    assert len(accepted) == len(peers)


def test_after_failures_vm_routes_follow_their_servers_detours():
    scenario = flat(4, 1)
    fabric = scenario.fabric
    for down in (links_of(fabric, "p0a0"), frozenset({frozenset(("c0", "p3a0"))}), links_of(fabric, "c1")):
        tables, cabling = underlay_tables(scenario, down), Broken(fabric, down)
        for a in scenario.vms:
            for b in scenario.vms:
                if a.server.pod == b.server.pod or a is b:
                    continue
                edge, port = fabric.peer(a.server.name, 0)
                packet = {"eth_type": ETH_IP, "eth_src": a.mac, "eth_dst": mac_of(a.server.gateway),
                          "ipv4_src": a.ip.ip, "ipv4_dst": b.ip.ip, "ttl": 64}
                paths = walk(cabling, tables, edge, port, packet)
                assert {p.delivered_to for p in paths} == {b.server.name}, (a.label, b.label, down)
