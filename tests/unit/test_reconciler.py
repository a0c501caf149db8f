"""The controller's decisions, driven event by event on fake switches with a fake clock, in the orders
that caused trouble on real ones and in any order hypothesis finds. After the events settle, every
connected switch holds exactly what the desired state and the links known down compile to, and every
repair is recorded."""
from __future__ import annotations

from random import Random

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from controller import events as ev
from controller import reconciler as r
from controller.desired import DesiredState
from controller.flat import underlay_tables
from controller.jobs import REROUTE
from tests.unit.fakefabric import LOST, FakeFabric
from topologies import changes
from topologies.names import vswitch_dpid
from topologies.scenario import document, load

LECTURE = load()
CUT = ("p0a0", "c0")  # a link between an aggregation and a core switch: the controller must reroute


def up(fabric: FakeFabric) -> FakeFabric:
    fabric.connect_all()
    fabric.settle()
    return fabric


def dpid(fabric: FakeFabric, name: str) -> int:
    return fabric.names[name] if "/" not in name else vswitch_dpid(fabric.scenario.fabric.server(name.split("/")[0]))


def run(fabric: FakeFabric, name: str) -> None:
    """Everything between one switch and the controller, until that pair is quiet."""
    while fabric.deliver(dpid(fabric, name)) or fabric.process(dpid(fabric, name)):
        pass


def test_a_fabric_comes_up_holding_exactly_its_tables_and_a_restart_costs_nothing():
    fabric = up(FakeFabric(LECTURE))
    assert fabric.wrong() == []
    fabric.restart_controller(LECTURE)
    before = {d: s.tables for d, s in fabric.switches.items()}
    fabric.settle()
    assert fabric.wrong() == [] and {d: s.tables for d, s in fabric.switches.items()} == before


def test_underlay_switches_wait_for_every_underlay_switchs_ports_and_virtual_switches_do_not():
    fabric = FakeFabric(LECTURE)
    fabric.connect_all()
    for name in ("p0e0", "p0e0h0/br-int"):
        run(fabric, name)
    assert fabric.switches[dpid(fabric, "p0e0")].tables.flows == ()  # read, held back
    assert fabric.switches[dpid(fabric, "p0e0h0/br-int")].tables.flows != ()  # pushed at once
    fabric.settle()
    assert fabric.wrong() == []


def test_the_start_is_not_held_forever_by_a_switch_that_never_tells_its_ports():
    fabric = FakeFabric(LECTURE)
    fabric.connect_all()
    for d in fabric.switches:
        if d != fabric.names["c3"]:
            run(fabric, fabric.controller.state.name(d))
    assert not fabric.controller.started
    fabric.tick(r.START_WAIT)
    fabric.deliver(None)
    run(fabric, "p0e0")
    assert fabric.controller.started and fabric.switches[fabric.names["p0e0"]].tables.flows != ()


def test_a_port_status_during_the_start_is_compiled_by_the_start_not_repaired_after_it():
    fabric = FakeFabric(LECTURE)
    fabric.connect_all()
    fabric.link(*CUT, up=False)  # reported right behind each switch's port descriptions
    fabric.settle()
    assert fabric.wrong() == [] and fabric.controller.reroutes == []
    assert fabric.controller.state.failed() == ["c0-p0a0"]
    assert fabric.controller.state.underlay == underlay_tables(LECTURE, frozenset({frozenset(CUT)}))


def test_a_link_coming_up_while_its_repair_is_pushed_ends_in_full_ecmp_with_both_repairs_recorded():
    fabric = up(FakeFabric(LECTURE))
    fabric.link(*CUT, up=False)
    run(fabric, "p0a0")  # the repair's make phase is sent, nothing confirmed yet by the others
    assert fabric.controller.job is not None and fabric.controller.job.kind == REROUTE
    fabric.link(*CUT, up=True)
    fabric.settle()
    assert fabric.wrong() == []
    assert [x["down"] for x in fabric.controller.reroutes] == [["c0-p0a0"], []]
    assert fabric.controller.state.underlay == underlay_tables(LECTURE)


def test_a_switch_reconnecting_in_the_middle_of_a_change_gets_the_new_tables_and_the_change_completes():
    fabric = up(FakeFabric(LECTURE))
    moved = changes.migrate(LECTURE, "coke/db", "p1e0h0")
    request = fabric.change(moved)
    fabric.deliver(None)  # the make phase goes out
    fabric.connect(dpid(fabric, "p0e0h0/br-int"))  # coke/web's server, before it confirmed
    fabric.settle()
    assert fabric.answers[request][0] == 200 and fabric.wrong() == []
    assert [vm.server.name for vm in fabric.controller.state.scenario.vms if vm.label == "coke/db"] == ["p1e0h0"]


def test_a_change_requested_while_a_switch_reconnects_reaches_it_once_it_is_read():
    fabric = up(FakeFabric(LECTURE))
    fabric.connect(dpid(fabric, "p3e1h1/br-int"))
    fabric.deliver(dpid(fabric, "p3e1h1/br-int"))  # connected, its read not answered yet
    request = fabric.change(changes.remove_vm(LECTURE, "coke/db"))
    fabric.deliver(None)
    fabric.settle()
    assert fabric.answers[request][0] == 200 and fabric.wrong() == []
    assert fabric.switches[dpid(fabric, "p3e1h1/br-int")].tables.flows == ()


def test_a_controller_restarted_during_a_failure_starts_with_the_link_down_and_repairs_nothing_twice():
    fabric = up(FakeFabric(LECTURE))
    fabric.link(*CUT, up=False)
    fabric.settle()
    repaired = {d: s.tables for d, s in fabric.switches.items()}
    fabric.restart_controller(LECTURE)
    fabric.settle()
    assert fabric.wrong() == [] and fabric.controller.reroutes == []
    assert {d: s.tables for d, s in fabric.switches.items()} == repaired  # the repair was never undone


def test_a_failure_while_the_controller_is_away_is_repaired_by_its_start():
    fabric = up(FakeFabric(LECTURE))
    fabric.link(*CUT, up=False)
    fabric.restart_controller(LECTURE)  # the port statuses went to the controller that died
    fabric.settle()
    assert fabric.wrong() == [] and fabric.controller.state.failed() == ["c0-p0a0"]


def test_a_switch_that_does_not_confirm_a_change_gets_it_taken_back_everywhere():
    fabric = up(FakeFabric(LECTURE))
    silent = dpid(fabric, "p1e0h0/br-int")
    fabric.switches[silent].answering = False  # its ovs-vswitchd is gone, the connection not yet
    request = fabric.change(changes.migrate(LECTURE, "coke/db", "p1e0h0"))
    fabric.settle()
    code, body = fabric.answers[request]
    assert code == 504 and "p1e0h0/br-int" in body["error"] and "taken back" in body["error"]
    assert fabric.controller.state.scenario == LECTURE
    assert fabric.wrong() == []  # every switch that answers holds the previous tables again
    fabric.switches[silent].answering = True
    fabric.connect(silent)
    fabric.settle()
    assert fabric.switches[silent].holds() == fabric.wanted(silent)  # nothing: no VM went there


def test_a_change_while_another_is_applied_is_busy_and_a_bad_one_changes_nothing():
    fabric = up(FakeFabric(LECTURE))
    first = fabric.change(changes.remove_vm(LECTURE, "coke/db"))
    fabric.deliver(None)
    second = fabric.change(changes.remove_vm(LECTURE, "pepsi/db"))
    fabric.deliver(None)
    assert fabric.answers[second][0] == 409
    fabric.settle()
    assert fabric.answers[first][0] == 200
    generation = fabric.controller.generation
    doc = document(fabric.controller.state.scenario)
    for body in ({"scenario": {**doc, "tenants": {"x": {"vni": 0}}}}, {"scenario": {"fabric": doc["fabric"]}},
                 {"scenario": doc, "ports": [1]}, [], None):
        request = fabric.ask("PUT /scenario", body)
        fabric.deliver(None)
        assert fabric.answers[request][0] == 400, body
    assert fabric.controller.generation == generation and fabric.wrong() == []


def test_an_emptied_server_is_emptied_and_filled_again_when_the_vm_comes_back():
    fabric = up(FakeFabric(LECTURE))
    away = changes.migrate(LECTURE, "pepsi/db", "p1e0h0")
    for target in (away, LECTURE):
        fabric.change(target if target is away else changes.migrate(fabric.controller.state.scenario, "pepsi/db",
                                                                    "p0e0h1"))
        fabric.settle()
        assert fabric.wrong() == []
    assert fabric.switches[dpid(fabric, "p0e0h1/br-int")].tables.flows != ()
    assert fabric.switches[dpid(fabric, "p1e0h0/br-int")].tables.flows == ()


@settings(max_examples=40, stateful_step_count=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
class AnyOrder(RuleBasedStateMachine):
    """Switches connect, links fail and heal, VMs move, the controller restarts, switches and the
    controller take turns in any order: once everything settles, the invariant holds."""

    def __init__(self) -> None:
        super().__init__()
        self.fabric = FakeFabric(LECTURE)
        self.fabric.connect_all()

    @initialize(running=st.booleans())
    def begin(self, running: bool) -> None:
        """From a fabric coming up, or from one up and in sync."""
        if running:
            self.fabric.settle()

    @rule(data=st.data())
    def something_moves(self, data: st.DataObject) -> None:
        moves = self.fabric.busy()
        if moves:
            self.fabric.move(*data.draw(st.sampled_from(moves)))

    @rule(count=st.integers(1, 300), rng=st.randoms(use_true_random=False))
    def much_moves(self, count: int, rng: Random) -> None:
        """Many things move, in a random order (enough for a start or a whole change to happen)."""
        for _ in range(count):
            moves = self.fabric.busy()
            if not moves:
                return
            self.fabric.move(*rng.choice(moves))

    @rule(name=st.sampled_from(["p0e0", "p1a1", "c0", "p0e0h0/br-int", "p3e1h1/br-int", "p1e0h0/br-int"]))
    def a_switch_reconnects(self, name: str) -> None:
        self.fabric.connect(dpid(self.fabric, name))

    @rule(cable=st.sampled_from([("p0a0", "c0"), ("p0a0", "c1"), ("p1e0", "p1a1"), ("p3a1", "c3")]),
          state=st.booleans())
    def a_link_changes(self, cable: tuple[str, str], state: bool) -> None:
        self.fabric.link(*cable, up=state)

    @rule(vm=st.sampled_from(["pepsi/web", "pepsi/db", "coke/db"]),
          server=st.sampled_from(["p0e0h0", "p0e0h1", "p1e0h0", "p3e1h1"]))
    def a_vm_moves(self, vm: str, server: str) -> None:
        current = self.fabric.controller.state.scenario
        if changes.vm_named(current, vm).server.name != server:
            self.fabric.change(changes.migrate(current, vm, server))

    @rule(seconds=st.sampled_from([0.5, r.CONFIRM_TIMEOUT]))
    def time_passes(self, seconds: float) -> None:
        self.fabric.tick(seconds)

    @precondition(lambda self: self.fabric.controller.started)
    @rule()
    def the_controller_restarts(self) -> None:
        self.fabric.restart_controller(self.fabric.controller.state.scenario)

    @invariant()
    def never_two_flows_with_one_key(self) -> None:
        for switch in self.fabric.switches.values():
            switch.holds()

    def teardown(self) -> None:
        self.fabric.settle()
        controller = self.fabric.controller
        assert self.fabric.wrong() == []
        assert controller.state.underlay == underlay_tables(controller.state.scenario, frozenset(controller.state.down))
        if controller.reroutes:
            assert controller.reroutes[-1]["down"] == controller.state.failed()
        assert sorted(self.fabric.answers) == list(range(1, self.fabric.requests + 1))  # every change answered
        for code, body in self.fabric.answers.values():  # a change a switch did not confirm in time is taken back
            assert code in (200, 409, LOST) or (code == 504 and "taken back" in body["error"]), body


TestAnyOrder = AnyOrder.TestCase


@pytest.mark.parametrize("what", ["GET /scenario", "GET /datapaths", "GET /underlay", "GET /tables"])
def test_every_question_is_answered_at_once(what):
    reconciler = r.Reconciler(DesiredState(LECTURE))
    [answer] = reconciler.handle(ev.Asked(1, what), 0.0)
    assert answer.code == 200 and answer.request == 1
