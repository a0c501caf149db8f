"""Bad situations get one clear line and leave nothing behind."""
import os
import signal
import subprocess
import sys

from overlaylab.runtime.state import LabLock
from tests.integration.conftest import REPO, leftovers, overlaylab
from topologies.scenario import BUNDLED

UNDERLAY = str(BUNDLED / "underlay.yaml")


def error_line(done):
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and lines, done
    return lines[-1]


def test_bad_scenario_is_refused_before_anything_is_built(clean_machine, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("fabric: {k: 3}\n")
    assert error_line(overlaylab("check", str(bad))) == \
        f"overlaylab: error: {bad}: fabric.k: k=3 is not an even number >= 2; use an even number from 2 to 16, such as 4 or 8"


def test_not_root_is_refused():
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           sys.executable, "-m", "overlaylab.faces.cli", "check", UNDERLAY, "--k", "2"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert "must run as root: try `sudo" in error_line(done)


def test_ovs_not_running_is_refused(clean_machine, tmp_path):
    env = {**os.environ, "OVS_RUNDIR": str(tmp_path)}  # where no ovsdb socket listens
    done = subprocess.run([sys.executable, "-m", "overlaylab.faces.cli", "check", UNDERLAY, "--k", "2"], env=env,
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert "Open vSwitch is not running: start it with `sudo /usr/share/openvswitch/scripts/ovs-ctl start`" \
        in error_line(done)


def test_second_lab_is_refused(clean_machine):
    lock = LabLock()
    lock.acquire()
    try:
        line = error_line(overlaylab("check", UNDERLAY, "--k", "2"))
        assert f"a lab is already running (pid {os.getpid()})" in line
        assert "a lab is already running" in error_line(overlaylab("clean"))
    finally:
        lock.release()


def test_leftover_bridge_is_refused_until_cleaned(clean_machine):
    subprocess.run(["ovs-vsctl", "add-br", "c0", "--", "set", "bridge", "c0", "datapath_type=netdev",
                    "external_ids:overlaylab=underlay"], check=True)
    assert "bridge c0 (and 0 more) was left by an earlier lab: run `sudo .venv/bin/overlaylab clean`" \
        in error_line(overlaylab("check", UNDERLAY, "--k", "2"))
    done = overlaylab("clean")
    assert done.returncode == 0 and "removed 0 processes, 1 OVS bridges, 0 interfaces" in done.stdout
    assert overlaylab("clean").stdout.strip() == "overlaylab: nothing to clean"


def test_foreign_bridge_is_neither_replaced_nor_cleaned(clean_machine):
    subprocess.run(["ovs-vsctl", "add-br", "c0", "--", "set", "bridge", "c0", "datapath_type=netdev"], check=True)
    try:
        assert "a bridge named c0 already exists and is not the lab's" in error_line(overlaylab("check", UNDERLAY, "--k", "2"))
        assert overlaylab("clean").stdout.strip() == "overlaylab: nothing to clean"
        assert subprocess.run(["ovs-vsctl", "br-exists", "c0"]).returncode == 0
    finally:
        subprocess.run(["ovs-vsctl", "del-br", "c0"], check=True)


def _start_up(k="2"):
    """`overlaylab up` with its stdin held open, returned once the lab is up."""
    proc = subprocess.Popen([sys.executable, "-m", "overlaylab.faces.cli", "up", UNDERLAY, "--k", k], cwd=REPO, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for line in proc.stdout:
        if "lab is up" in line:
            return proc
    raise AssertionError(f"lab never came up: {proc.stderr.read()}")


def test_sigterm_tears_the_lab_down(clean_machine):
    proc = _start_up()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "tearing the lab down" in err


def test_a_killed_lab_is_cleaned_up(clean_machine):
    proc = _start_up()
    proc.kill()
    proc.wait(timeout=30)
    assert any(item.startswith("bridge ") for item in leftovers())
    done = overlaylab("clean")
    # k=2: the core's bridge in the machine's Open vSwitch; each pod's daemons hold its own two
    assert done.returncode == 0 and "1 OVS bridges" in done.stdout, done



def test_ctrl_c_during_bring_up_removes_everything(clean_machine):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while the network is built."""
    proc = subprocess.Popen([sys.executable, "-m", "overlaylab.faces.cli", "check", str(BUNDLED / "datacenter.yaml")],
                            cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    seen = ""
    while "building" not in seen:
        char = proc.stderr.read(1)
        assert char, f"the lab stopped before building: {seen}"
        seen += char
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, seen + err
    assert "interrupted; everything the lab built was removed" in err
