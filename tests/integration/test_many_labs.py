"""Many labs on one machine: same scenario, same switch names, same tenant addresses, side by side; none
can touch another, each is its owner's, and one crashing or cleaned leaves the others green."""
import json
import os
import stat
import subprocess
import sys

from overlaylab.runtime import pods
from overlaylab.runtime.registry import find
from overlaylab.system import wait_until
from overlaylab.verify.check import Report, run_checks
from overlaylab.verify.crosslab import cross
from tests.integration.conftest import NAME, REPO, lab_of, leftovers, overlaylab
from topologies.scenario import BUNDLED

LECTURE = BUNDLED / "lecture.yaml"
NOBODY, DAEMON = 65534, 1
ASK_API = """import json, sys, urllib.request as u
secret = open(sys.argv[1]).read().strip()
req = u.Request(f"http://{sys.argv[2]}/datapaths", headers={"Authorization": "Bearer " + secret})
print(len(json.load(u.build_opener(u.ProxyHandler({})).open(req))["connected"]))"""


def controllers(lab) -> dict[str, str]:
    """Every underlay switch's and virtual switch's controller target, where it is connected."""
    targets = {}
    homes = [h.instance(lab.id) for h in pods.homes(lab.scenario.fabric)]
    vswitches = [lab.nodes.ovs(s) for s in lab.scenario.fabric.servers if s.name in lab.nodes.hosting]
    for ovs in homes + vswitches:
        out = subprocess.run(["ovs-vsctl", f"--db={ovs.db}", "--format=json", "--columns=_uuid,target,is_connected",
                              "list", "controller"], capture_output=True, text=True, check=True).stdout
        for uuid, target, connected in json.loads(out)["data"]:
            targets[f"{ovs.rundir.name}/{uuid[1][:8]}"] = target if connected else f"{target} (not connected)"
    return targets


def connected_to_its_own(lab) -> None:
    """Every switch of the lab is connected to its own lab's controller, and to no other (OVS writes
    `is_connected` to its database lazily: wait for it)."""
    own = {f"tcp:{lab.id.controller.ip}:{lab.controller.port}"}
    wait_until(lambda: set(controllers(lab).values()) == own, 30, f"{lab.id.name}'s switches to show their "
               f"connection to {own}", lambda: str(controllers(lab)))


def green(lab) -> bool:
    report = Report()
    run_checks(lab, report)
    return report.ok


def test_three_labs_of_one_scenario_share_nothing_and_outlive_each_other(clean_machine):
    a, b, c = f"{NAME}-a", f"{NAME}-b", f"{NAME}-c"
    with lab_of(BUNDLED / "underlay.yaml", k=2, name=c) as lab_c, lab_of(LECTURE, name=b) as lab_b:
        with lab_of(LECTURE, name=a) as lab_a:
            labs = (lab_a, lab_b, lab_c)
            assert len({lab.id.slot for lab in labs}) == 3
            assert len({lab.id.mgmt_network for lab in labs}) == 3
            assert [s.name for s in lab_a.scenario.fabric.switches] == [s.name for s in lab_b.scenario.fabric.switches]
            for lab in labs:
                connected_to_its_own(lab)
            for source, others in ((lab_a, [lab_b, lab_c]), (lab_b, [lab_a, lab_c])):
                crossing = cross(source, others)
                assert crossing.leaks == [], crossing.leaks[:5]
                assert crossing.sent > 1000 and crossing.at_home > 0  # the probes were real
        assert green(lab_b) and green(lab_c)  # lab a's teardown took nothing of theirs


def _up(name: str, **env: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "overlaylab.faces.cli", "up", str(LECTURE), "--name", name],
                            cwd=REPO, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **env})
    for line in proc.stdout:
        if "lab is up" in line:
            return proc
    raise AssertionError(f"lab {name} never came up: {proc.stderr.read()}")


def _as(uid: int, code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "/usr/bin/python3",
                           "-c", code, *args], capture_output=True, text=True, timeout=60)


def test_a_lab_is_its_owners_and_a_crash_leaves_its_neighbour_green(clean_machine):
    mine, theirs = f"{NAME}-own", f"{NAME}-nb"
    with lab_of(LECTURE, name=theirs) as neighbour:
        proc = _up(mine, SUDO_USER="nobody")
        try:
            state = find(mine).state
            secret = state.id.rundir / "api.secret"
            assert state.owner == "nobody" and stat.S_IMODE(secret.stat().st_mode) == 0o600
            assert secret.stat().st_uid == NOBODY
            asked = _as(NOBODY, ASK_API, str(secret), state.api)  # the owner drives its lab's API
            assert asked.returncode == 0 and int(asked.stdout) > 0, asked.stderr
            assert "Permission denied" in _as(DAEMON, ASK_API, str(secret), state.api).stderr  # nobody else
            listing = overlaylab("ls").stdout
            assert f"{mine}" in listing and "nobody" in listing and listing.count("running") >= 2
            refused = overlaylab("down", mine, env={"SUDO_USER": "daemon"})
            assert f"lab {mine} belongs to nobody: only nobody (or root) can stop or clean it" in refused.stderr
            again = overlaylab("up", str(LECTURE), "--name", mine)
            assert f"a lab named {mine} is already running (pid {proc.pid}, owner nobody)" in again.stderr
        finally:
            proc.kill()  # SIGKILL: no teardown at all
            proc.wait(timeout=30)
        assert leftovers(mine) != [] and "stale" in overlaylab("ls").stdout
        assert "was left behind by a process that is gone" in overlaylab("up", "--name", mine).stderr
        assert green(neighbour)
        done = overlaylab("clean")  # every stale lab's leftovers; the running neighbour's are never touched
        assert done.returncode == 0 and f"lab {mine}: removed" in done.stdout, done.stderr
        assert leftovers(mine) == [] and green(neighbour)


def test_down_stops_a_running_lab_and_clean_never_touches_one(clean_machine):
    proc = _up(NAME)
    refused = overlaylab("clean", NAME)
    assert f"lab {NAME} is running: stop it with `sudo overlaylab down {NAME}`" in refused.stderr
    done = overlaylab("down", NAME)
    assert done.returncode == 0 and f"lab {NAME} is down" in done.stdout, done.stderr
    proc.wait(timeout=30)
    assert proc.returncode == 128 + 15 and leftovers() == []
