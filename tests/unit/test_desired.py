"""The controller's desired state: a change or a failure says which datapaths it can touch, and the
tables it holds are always what the compilers give for the scenario and the links down."""
import pytest

from controller.desired import DesiredState, by_dpid
from controller.overlay import compile_overlay
from controller.underlay import compile_underlay
from topologies import changes
from topologies.names import vswitch_dpid
from topologies.scenario import ScenarioError, document, load, ports_of


def test_a_migration_touches_only_the_vswitches_of_the_moved_vms_tenant():
    state = DesiredState(load())
    moved = changes.migrate(state.scenario, "pepsi/web", "p3e1h0")
    before = dict(state.tables)
    state.change(state.validated({"scenario": document(moved)}))
    fabric = state.scenario.fabric
    assert {d for d, t in state.tables.items() if t is not before.get(d)} == {vswitch_dpid(fabric.server(n)) for n in ("p0e0h0", "p0e0h1", "p3e1h0")}
    assert state.tables == by_dpid(compile_underlay(fabric), compile_overlay(state.scenario))
    assert ports_of(state.scenario)["coke/web"] == 2  # a VM that stayed kept its port


def test_the_fabric_cannot_change_while_the_lab_runs():
    state = DesiredState(load())
    doc = document(state.scenario)
    doc["fabric"]["k"] = 8
    with pytest.raises(ScenarioError, match="the fabric cannot change while the lab runs"):
        state.validated({"scenario": doc})


def test_a_link_between_switches_going_down_and_up_reroutes_and_a_servers_link_does_not():
    state = DesiredState(load())
    assert not state.port("p0e0", 1, up=False)  # p0e0h0's uplink: no other route could replace it
    assert state.port("p0a0", 3, up=False) and not state.port("c0", 1, up=False)  # the same link, twice
    assert state.failed() == ["c0-p0a0"]
    underlay = state.reroute()
    assert underlay == {t.dpid for t in compile_underlay(state.scenario.fabric).values()}
    assert state.tables != by_dpid(compile_underlay(state.scenario.fabric), compile_overlay(state.scenario))
    assert state.port("p0a0", 3, up=True) and state.reroute() and state.failed() == []
    assert state.tables == by_dpid(compile_underlay(state.scenario.fabric), compile_overlay(state.scenario))
