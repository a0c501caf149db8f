"""The change planner: from one desired state to the next, per datapath, make before break."""
import pytest
import yaml

from controller.delta import applied, diff
from controller.flows import Tables
from controller.overlay import compile_overlay, recompile, touched
from controller.planner import BREAK, MAKE, plan, summary, underlay
from controller.trace import trace_vm, vm_packet
from controller.underlay import compile_underlay
from topologies import changes
from topologies.scenario import BUNDLED, DEFAULT_SCENARIO, bind, carried_ports, load, parse

LECTURE = yaml.safe_load(DEFAULT_SCENARIO.read_text())


def compiled(doc):
    scenario = parse(doc, "edited")
    return scenario, {**compile_underlay(scenario.fabric), **compile_overlay(scenario)}


def edited(change):
    doc = yaml.safe_load(DEFAULT_SCENARIO.read_text())
    change(doc["tenants"])
    return doc


def moved(tenants):
    tenants["pepsi"]["vms"]["web"]["server"] = "p3e1h0"


def run(tables, steps, phases):
    """The tables every datapath holds after the steps of the given phases."""
    now = dict(tables)
    for step in (s for s in steps if s.phase in phases):
        now[step.datapath] = applied(now.get(step.datapath, Tables(step.datapath, step.dpid, ())), step.delta)
    return now


def test_a_migration_changes_no_underlay_switch_and_ends_exactly_at_the_new_state():
    (_, old), (_, new) = compiled(LECTURE), compiled(edited(moved))
    steps = plan(old, new)
    assert [s for s in steps if underlay(s.datapath)] == []
    phases = [s.phase for s in steps]
    assert phases == sorted(phases, key=[MAKE, BREAK].index)  # every make before any break
    done = run(old, steps, {MAKE, BREAK})
    assert all(not diff(done.get(name), tables) for name, tables in new.items())
    assert {name for name, t in done.items() if t.flows and name not in new} == set()
    report = summary(steps)
    assert report["underlay"] == 0 and set(report["datapaths"]) == {"p0e0h0/br-int", "p0e0h1/br-int",
                                                                  "p3e1h0/br-int", "p2e0h0/br-int"} - {"p2e0h0/br-int"}


def test_between_make_and_break_a_peer_already_reaches_the_vm_at_its_new_server():
    (_, old), (scenario, new) = compiled(LECTURE), compiled(edited(moved))
    halfway = run(old, plan(old, new), {MAKE})
    vms = {vm.label: vm for vm in scenario.vms}
    paths = trace_vm(scenario, halfway, vms["pepsi/db"], vm_packet(vms["pepsi/db"], vms["pepsi/web"]))
    assert len(paths) == 4  # every ECMP branch across the core
    assert all(p.delivered_to == "pepsi/web" and p.hops[-1].node == "p3e1h0/br-int" for p in paths)


def test_a_peers_path_to_a_moved_vm_is_replaced_in_place_never_deleted_first():
    (_, old), (_, new) = compiled(LECTURE), compiled(edited(moved))
    steps = plan(old, new)
    make, drop = [s for s in steps if s.datapath == "p0e0h1/br-int"]  # pepsi/db's vswitch
    (encap,) = [f for f in make.delta.add_flows if f.fields.get("eth_dst") == "02:00:13:89:02:02"]
    assert encap.table == 2 and not [f for f in drop.delta.remove_flows if f.table == 2]  # replaced, not deleted
    (accept,) = drop.delta.remove_flows  # what goes: accepting pepsi's tunnel from the old server
    assert str(accept.fields["tun_ipv4_src"]) == "10.0.0.2/32"


def test_removing_a_vm_empties_a_vswitch_it_leaves_and_touches_only_its_tenant():
    def remove(tenants):
        del tenants["coke"]["vms"]["db"]
    (_, old), (_, new) = compiled(LECTURE), compiled(edited(remove))
    steps = plan(old, new)
    assert {s.datapath for s in steps} == {"p0e0h0/br-int", "p3e1h1/br-int"}
    (gone,) = [s for s in steps if s.datapath == "p3e1h1/br-int"]
    assert gone.phase == BREAK and len(gone.delta.remove_flows) == len(old["p3e1h1/br-int"].flows)


def test_an_unchanged_state_plans_nothing():
    (_, old), (_, new) = compiled(LECTURE), compiled(LECTURE)
    assert plan(old, new) == []


def first_vm_and_a_far_server(scenario):
    vm = next(v for v in scenario.vms if not v.bare_metal)
    bare = {v.server for v in scenario.vms if v.bare_metal}
    return vm.label, next(s.name for s in scenario.fabric.servers if s.pod != vm.server.pod and s not in bare)


EDITS = {"migrate": lambda s, label, far: changes.migrate(s, label, far),
         "vm remove": lambda s, label, far: changes.remove_vm(s, label),
         "tenant add": lambda s, label, far: changes.add_tenant(s, "sprite", 99, "gre")}


@pytest.mark.parametrize("name", ["lecture.yaml", "datacenter.yaml", "scale.yaml"])
@pytest.mark.parametrize("edit", ["migrate", "vm remove", "tenant add"])
def test_recompiling_only_the_touched_servers_gives_exactly_the_full_compile(name, edit):
    old = load(BUNDLED / name)
    new = EDITS[edit](old, *first_vm_and_a_far_server(old))
    new = bind(new, carried_ports(old, new))
    assert recompile(old, new, compile_overlay(old)) == compile_overlay(new)
    assert len(touched(old, new)) < len(old.fabric.servers)
