"""A controller that restarts reads what each switch holds and sends only the difference: nothing at
all when nothing changed, exactly the repair when something did; meanwhile traffic keeps flowing."""
from controller.planner import plan, summary
from controller.underlay import compile_underlay
from overlaylab.runtime import failures, tables
from overlaylab.system import run
from tests.integration.conftest import lab_of
from topologies.scenario import BUNDLED


def test_a_restarted_controller_sends_no_flow_mod_to_an_unchanged_network_and_traffic_survives_it():
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        web, db = (next(vm for vm in lab.scenario.vms if vm.label == label) for label in ("coke/web", "coke/db"))
        with lab.nodes.stream(web, db) as stream:  # across the core, all the while
            lab.kill_controller()
            changes = lab.start_controller()
        assert stream.result.sent > 100 and stream.result.lost == 0, stream.result
        assert len(changes) == len(lab.compiled) and set(changes.values()) == {0}, changes
        assert tables.mismatches(lab.compiled, lab.nodes.targets) == []


def test_a_change_made_while_the_controller_was_down_is_repaired_with_exactly_the_needed_mods():
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        web = next(vm for vm in lab.scenario.vms if vm.label == "coke/web")
        lab.kill_controller()
        ofctl = ("ovs-ofctl", "-O", "OpenFlow13")
        run(*ofctl, "del-flows", lab.nodes.targets["p0e0h0/br-int"], "--strict",
            f"table=3,priority=100,metadata={web.vni},dl_dst={web.mac}")  # coke/web's delivery, lost
        run(*ofctl, "add-flow", lab.nodes.targets["p0e0h0/br-int"], "table=2,priority=200,metadata=5001,actions=drop")
        changes = lab.start_controller()
        assert {name: n for name, n in changes.items() if n} == {"p0e0h0/br-int": 2}
        assert tables.mismatches(lab.compiled, lab.nodes.targets) == []


def expected_mods(fabric, before, after):
    """Flow and group mods per switch that turn the underlay compiled with `before` down into `after`'s."""
    return summary(plan(compile_underlay(fabric, before), compile_underlay(fabric, after)))["datapaths"]


def test_a_restart_keeps_a_repair_and_learns_a_failure_it_missed_with_exactly_the_needed_mods():
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        fabric, first, second = lab.scenario.fabric, ("p0a0", "c0"), ("p1a1", "c3")
        failures.link(lab, *first, up=False)
        lab.kill_controller()
        assert set(lab.start_controller().values()) == {0}  # the repair is known again before any push
        lab.kill_controller()
        lab.nodes.net.configLinkStatus(*second, "down")  # while nobody is watching
        changes = lab.start_controller()
        one, both = frozenset({frozenset(first)}), frozenset({frozenset(first), frozenset(second)})
        assert {name: n for name, n in changes.items() if n} == expected_mods(fabric, one, both)
        assert tables.mismatches(compile_underlay(fabric, both), lab.nodes.targets) == []
