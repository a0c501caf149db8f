"""The desired state changes while the lab runs: only what must change changes (never the underlay),
the switches end up holding exactly what the compilers say, and `check` proves the new state."""
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager

import pytest

from overlaylab.errors import LabError
from overlaylab.runtime import tables
from overlaylab.runtime.controlproc import NO_PROXY
from overlaylab.system import wait_until
from overlaylab.verify.check import Report, run_checks
from tests.integration.conftest import REPO, lab_of, leftovers
from topologies import changes
from topologies.scenario import BUNDLED, ScenarioError, document, ports_of


def snapshot(lab):
    return {name: sorted(tables.flow_lines(target)) for name, target in lab.nodes.targets.items()}


def assert_checks_green(lab):
    report = Report()
    run_checks(lab, report)
    assert report.ok, [(c.name, c.detail) for c in report.checks if not c.ok]
    return report


def test_tenants_and_vms_come_and_go_without_touching_the_underlay_and_check_stays_green():
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        added = lab.members.apply(changes.add_tenant(lab.scenario, "sprite", 7, "gre"))
        assert added["changes"]["underlay"] == 0 and added["changes"]["vswitches"] == 0
        removed = lab.members.remove_vm("coke/db")
        assert removed["changes"]["underlay"] == 0
        assert set(removed["changes"]["datapaths"]) == {"p0e0h0/br-int", "p3e1h1/br-int"}
        assert tables.mismatches(lab.compiled, lab.nodes.targets) == []
        assert "coke/db" not in lab.nodes.vm_nodes and [vm.label for vm in lab.scenario.vms if vm.tenant == "coke"] == [
            "coke/web"]
        report = assert_checks_green(lab)
        assert len(report.pairs) == 4 * 3 * 3  # pepsi web, db, legacy and coke/web: 12 ordered pairs, 3 protocols
        gone = lab.members.remove_tenant("pepsi")
        assert gone["changes"]["underlay"] == 0
        assert tables.mismatches(lab.compiled, lab.nodes.targets) == []
        changes_after_restart = (lab.kill_controller(), lab.start_controller())[1]
        assert set(changes_after_restart.values()) == {0}  # restarted from the changed state, not the file


@pytest.mark.parametrize("refused", [
    lambda lab: lab.members.remove_vm("fanta/web"),
    lambda lab: lab.members.apply(changes.add_tenant(lab.scenario, "sprite", 5001)),
    lambda lab: lab.members.apply(changes.add_vm(lab.scenario, "pepsi/api", "192.0.2.3/24", "p1e0h0")),  # pepsi/db's IP
    lambda lab: lab.members.migrate("pepsi/web", "p9e0h0"),
    lambda lab: lab.members.migrate("pepsi/legacy", "p1e0h0"),
    lambda lab: lab.members.add_vm("pepsi/api", "192.0.2.9/24", "p2e0h0"),  # onto the bare-metal server
])
def test_a_refused_change_changes_nothing(refused):
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        before, scenario = snapshot(lab), lab.scenario
        with pytest.raises(ScenarioError):
            refused(lab)
        assert snapshot(lab) == before and lab.scenario == scenario


def test_a_vm_migrates_within_a_rack_across_pods_onto_a_new_vswitch_and_back_keeping_everything():
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        web = lab.nodes.vm("pepsi/web")
        web.cmd("sleep 600 &")
        sleeper = int(web.cmd("echo $!").strip())
        mac, ip = web.MAC(), web.IP()
        for server in ("p0e0h1", "p3e1h0", "p0e0h0"):  # same rack; another pod, no vswitch there yet; home
            moved = lab.members.migrate("pepsi/web", server)
            assert moved["changes"]["underlay"] == 0 and moved["to"] == server
            assert moved["stream"]["lost"] < moved["stream"]["sent"]  # the peer's probes arrive again
            assert tables.mismatches(lab.compiled, lab.nodes.targets) == []
            assert tables.mismatches(lab.underlay, lab.nodes.targets) == []  # the underlay never learned a thing
            assert (web.MAC(), web.IP()) == (mac, ip) and lab.nodes.vm("pepsi/web") is web
            assert web.cmd(f"kill -0 {sleeper} && echo alive").strip() == "alive"
        assert_checks_green(lab)


def test_vms_added_at_runtime_reach_their_tenant_and_the_bare_metal_member_and_check_stays_green():
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        fresh = lab.members.add_vm("pepsi/api", "192.0.2.9/24", "p1e1h1")  # a server with no virtual switch yet
        beside = lab.members.add_vm("coke/api", "192.0.2.9/24", "p0e0h1")  # the same address, another tenant
        assert fresh["changes"]["underlay"] == beside["changes"]["underlay"] == 0
        assert tables.mismatches(lab.compiled, lab.nodes.targets) == []
        assert " 0% packet loss" in lab.nodes.vm("pepsi/api").cmd("ping -c2 -W1 192.0.2.4")  # pepsi/legacy's kernel
        report = assert_checks_green(lab)
        assert len(report.pairs) == 7 * 6 * 3


def test_the_example_script_drives_a_lab_from_python(clean_machine):
    done = subprocess.run([sys.executable, "examples/migrate_and_check.py"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "underlay 0" in done.stdout and "the process inside pepsi/web: alive" in done.stdout
    assert done.stdout.strip().endswith("all checks passed") and leftovers() == []


def test_a_vm_moves_to_the_server_it_emptied_and_back_as_often_as_asked():
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        for server in ("p1e0h0", "p0e0h1", "p1e0h0", "p0e0h1"):  # p0e0h1 hosts pepsi/db alone
            assert lab.members.migrate("pepsi/db", server)["to"] == server
            assert tables.mismatches(lab.compiled, lab.nodes.targets) == []
        assert " 0% packet loss" in lab.nodes.vm("pepsi/db").cmd("ping -c2 -W1 192.0.2.2")
        assert_checks_green(lab)


def test_a_move_the_controller_cannot_take_leaves_the_vm_where_it_was():
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        db = lab.nodes.vm("pepsi/db")
        lab.kill_controller()
        with pytest.raises(LabError, match="does not answer.*nothing changed: pepsi/db is still on p0e0h1"):
            lab.members.migrate("pepsi/db", "p1e0h0")
        assert changes.vm_named(lab.scenario, "pepsi/db").server.name == "p0e0h1"
        assert lab.nodes.vm("pepsi/db") is db and db.intfNames() == [db.defaultIntf().name]
        lab.start_controller()
        assert tables.mismatches(lab.compiled, lab.nodes.targets) == []
        assert " 0% packet loss" in db.cmd("ping -c2 -W1 192.0.2.2")
        assert_checks_green(lab)


def test_the_api_answers_the_labs_owner_only():
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        assert oct(lab.controller.secret_file.stat().st_mode & 0o777) == "0o600"
        url = f"http://{lab.controller.host}:{lab.controller.api_port}/scenario"
        with pytest.raises(urllib.error.HTTPError) as refused:
            NO_PROXY.open(urllib.request.Request(url, method="GET"), timeout=10)
        assert refused.value.code == 401 and b"secret" in refused.value.read()
        assert lab.controller.request("GET")["scenario"]["tenants"]  # with the secret


def as_before(lab, before, scenario, vms):
    """The lab is exactly as it was: desired state (read again: another client may have changed it since
    the lab last read it), VM nodes, every switch's flows (once they settle)."""
    lab.desired.refresh()
    assert lab.scenario == scenario and dict(lab.nodes.vm_nodes) == vms
    wait_until(lambda: {n: t for n, t in snapshot(lab).items() if n in before} == before, 30,
               "every switch to hold what it held before the change")
    assert tables.mismatches(lab.compiled, lab.nodes.targets) == []


REFUSED_BY_THE_CONTROLLER = [
    ("migrate", lambda lab: lab.members.migrate("pepsi/db", "p1e0h0"), "pepsi/db is still on p0e0h1"),  # a new vswitch
    ("migrate", lambda lab: lab.members.migrate("pepsi/db", "p0e0h0"), "pepsi/db is still on p0e0h1"),  # a running one
    ("vm add", lambda lab: lab.members.add_vm("pepsi/api", "192.0.2.9/24", "p1e1h1"), "pepsi/api was not added"),
    ("vm remove", lambda lab: lab.members.remove_vm("coke/db"), "coke/db is still on p3e1h1"),
    ("tenant add", lambda lab: lab.members.apply(changes.add_tenant(lab.scenario, "sprite", 7, "gre")), "the desired state is as it was"),
    ("tenant remove", lambda lab: lab.members.remove_tenant("pepsi"), "tenant pepsi is still there"),
]


def test_a_change_the_controller_refuses_changes_nothing(monkeypatch):
    """The controller answers 400 (here: every request asks for another fabric, which a running lab cannot
    take): every kind of change leaves the lab as it was, its VMs reachable, its check green."""
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        request = lab.controller.request

        def another_fabric(method, body=None, **kw):
            if method == "PUT":
                body = {**body, "scenario": {**body["scenario"], "fabric": {"type": "fattree", "k": 6}}}
            return request(method, body, **kw)

        monkeypatch.setattr(lab.controller, "request", another_fabric)
        before, scenario, vms = snapshot(lab), lab.scenario, dict(lab.nodes.vm_nodes)
        for _, change, unchanged in REFUSED_BY_THE_CONTROLLER:
            with pytest.raises(LabError, match=f"the fabric cannot change while the lab runs; nothing changed: "
                                               f"{unchanged}"):
                change(lab)
            as_before(lab, before, scenario, vms)
        monkeypatch.undo()
        assert " 0% packet loss" in lab.nodes.vm("pepsi/db").cmd("ping -c2 -W1 192.0.2.2")
        assert_checks_green(lab)
        assert lab.members.migrate("pepsi/db", "p1e0h0")["to"] == "p1e0h0"  # the server tried first: it can be used


@contextmanager
def vswitch_stopped(lab, server):
    """A server's ovs-vswitchd stopped (SIGSTOP): connected, but confirming nothing until it goes on."""
    pid = int(lab.nodes.ovs(lab.scenario.fabric.server(server)).pidfile("ovs-vswitchd").read_text())
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def test_a_change_a_switch_does_not_confirm_is_taken_back_and_the_vm_stays():
    """504: pepsi/web's server stops confirming while pepsi/db moves; the controller takes the change back,
    the lab puts pepsi/db back, and once the switch goes on every switch holds the old tables."""
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        before, scenario, vms = snapshot(lab), lab.scenario, dict(lab.nodes.vm_nodes)
        db = lab.nodes.vm("pepsi/db")
        with vswitch_stopped(lab, "p0e0h0"):
            with pytest.raises(LabError, match=r"did not confirm within 10 s: p0e0h0/br-int; the change was taken "
                                               r"back; nothing changed: pepsi/db is still on p0e0h1"):
                lab.members.migrate("pepsi/db", "p1e0h0")
        as_before(lab, before, scenario, vms)
        assert lab.nodes.vm("pepsi/db") is db and db.intfNames() == [db.defaultIntf().name]
        assert " 0% packet loss" in db.cmd("ping -c2 -W1 192.0.2.2")
        assert_checks_green(lab)


def test_a_change_asked_while_another_is_applied_is_refused_and_changes_nothing():
    """409: another client's change waits for coke/db's server (stopped); meanwhile the lab's own migrate,
    vm remove and tenant add are refused, and each leaves the lab as it was."""
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        before, scenario, vms = snapshot(lab), lab.scenario, dict(lab.nodes.vm_nodes)
        theirs = changes.remove_vm(scenario, "coke/db")
        answered: list[str] = []
        with vswitch_stopped(lab, "p3e1h1"):
            generation = lab.controller.request("GET")["generation"]
            other = threading.Thread(target=lambda: answered.append(_refused(
                lambda: lab.controller.request("PUT", {"scenario": document(theirs), "ports": ports_of(theirs)}))))
            other.start()
            wait_until(lambda: lab.controller.request("GET")["generation"] > generation, 5,
                       "the other client's change to begin")
            for change, unchanged in [(lambda: lab.members.migrate("pepsi/db", "p0e0h0"), "pepsi/db is still on p0e0h1"),
                                      (lambda: lab.members.remove_vm("pepsi/web"), "pepsi/web is still on p0e0h0"),
                                      (lambda: lab.members.apply(changes.add_tenant(lab.scenario, "sprite", 7)),
                                       "the desired state is as it was")]:
                with pytest.raises(LabError, match=f"another change is being applied.*nothing changed: {unchanged}"):
                    change()
            other.join(timeout=60)  # with the switch still stopped: theirs cannot be confirmed
        assert answered and "did not confirm" in answered[0]  # theirs was taken back too
        as_before(lab, before, scenario, vms)
        assert_checks_green(lab)


def _refused(request):
    try:
        request()
    except LabError as exc:
        return str(exc)
    return "taken"
