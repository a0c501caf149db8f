"""Links fail and heal on a running lab: watched ECMP buckets repair what they can in the datapath,
the controller repairs the rest (port status -> the same compiler with the failed links -> only the
difference), and every test waits for the repair to be realised in the switches, never for time."""
import json

from controller.underlay import compile_underlay
from overlaylab.runtime import failures, tables
from overlaylab.system import wait_until
from overlaylab.verify.check import Report, run_checks
from probes.reach import reachability
from tests.integration.conftest import lab_of, leftovers, overlaylab
from topologies.scenario import BUNDLED


def realised(lab, down):
    """Wait until every underlay switch holds what the fabric compiles to with `down` failed."""
    expected = compile_underlay(lab.scenario.fabric, frozenset(frozenset(link) for link in down))
    wait_until(lambda: not tables.mismatches(expected, lab.nodes.targets), 20, f"the repair for {sorted(down)}",
               lambda: "; ".join(tables.mismatches(expected, lab.nodes.targets)[:3]))


def unreachable(lab):
    return sorted(f"{a}->{b}" for (a, b), ok in reachability(lab.nodes.stations(lab.scenario.fabric)).pairs.items() if not ok)


def test_an_aggregation_switch_cut_off_from_the_core_is_routed_around_and_healed():
    """The issue's experiment: p0a0 loses both core links; p0e0h0 reached 2 of the 12 servers in other
    pods. After the repair it reaches all 12, and every other pair too; after the heal, full ECMP."""
    with lab_of(BUNDLED / "underlay.yaml") as lab:
        cut = [("p0a0", "c0"), ("p0a0", "c1")]
        for a, b in cut:
            lab.nodes.net.configLinkStatus(a, b, "down")
        realised(lab, cut)
        others = [s for s in lab.scenario.fabric.servers if s.pod != 0]
        answer = lab.nodes.net["p0e0h0"].cmd("fping -q -r2 -t500 " + " ".join(str(s.ip) for s in others) + " 2>&1; true")
        assert "unreachable" not in answer and unreachable(lab) == [], answer
        for a, b in cut:
            lab.nodes.net.configLinkStatus(a, b, "up")
        realised(lab, [])
        assert unreachable(lab) == []


def test_a_core_that_loses_a_pod_is_avoided_by_every_other_pod():
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        lab.nodes.net.configLinkStatus("c0", "p3a0", "down")
        realised(lab, [("c0", "p3a0")])
        assert unreachable(lab) == []
        assert " 0% packet loss" in lab.nodes.vm("coke/web").cmd("ping -c3 -i0.2 -W1 192.0.2.3")  # coke/db, in pod 3


def test_failure_commands_report_the_repair_and_what_a_stream_across_the_core_saw():
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        down = failures.switch(lab, "c2", up=False)
        assert down["changes"]["underlay"] > 0 and down["changes"]["vswitches"] == 0
        assert down["stream"]["from"] == "coke/web" and down["stream"]["sent"] > 0
        assert failures.switch(lab, "c2", up=True)["changes"]["underlay"] > 0
        assert tables.mismatches(compile_underlay(lab.scenario.fabric), lab.nodes.targets) == []  # full ECMP again


def test_a_killed_virtual_switch_cuts_its_vms_off_and_is_reconciled_when_it_is_back():
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        failures.vswitch(lab, "p3e1h1", up=False)
        assert " 0 received" in lab.nodes.vm("coke/web").cmd("ping -c1 -W1 192.0.2.3")  # coke/db, behind it
        back = failures.vswitch(lab, "p3e1h1", up=True)
        wanted = lab.compiled["p3e1h1/br-int"]
        assert back["changes"]["datapaths"] == {"p3e1h1/br-int": len(wanted.flows) + len(wanted.meters)}
        assert " 0% packet loss" in lab.nodes.vm("coke/web").cmd("ping -c2 -W1 192.0.2.3")
        assert tables.mismatches(lab.compiled, lab.nodes.targets) == []


def test_the_drill_runs_every_event_with_no_cross_tenant_delivery_and_ends_green(clean_machine, tmp_path):
    report = tmp_path / "drill.json"
    done = overlaylab("drill", "--json", str(report), timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    data = json.loads(report.read_text())
    assert data["ok"] and data["check"]["ok"] and len(data["events"]) == 14
    events = {e["event"]: e for e in data["events"]}
    assert all(e["cross_tenant"] == 0 for e in data["events"])
    away = events["controller killed for 10 s"]
    assert away["lost"] == 0 and away["sent"] > 1000 and events["controller restarted"]["changes"]["underlay"] == 0
    assert events["core link down"]["changes"]["underlay"] > 0 and events["VM migrated away"]["changes"]["underlay"] == 0
    assert "core link down" in done.stdout and leftovers() == []


def test_check_on_a_lab_with_a_dead_virtual_switch_names_it_instead_of_a_wall_of_pairs():
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        failures.vswitch(lab, "p3e1h1", up=False)
        report = Report()
        run_checks(lab, report)
        checks = {c.name: c for c in report.checks}
        assert checks["servers"].detail == "p3e1h1's virtual switch is not connected"
        matrix = checks["tenant delivery and isolation"]
        assert "unreachable because p3e1h1's virtual switch is not connected: coke/db" in matrix.detail
        assert "unexpected" not in matrix.detail and not report.ok
