"""Bad situations get one clear line and leave nothing behind."""
import os
import signal
import subprocess
import sys

import pytest

from overlaylab.runtime.phases import Phases
from overlaylab.runtime.running import running_lab
from tests.integration.conftest import NAME, REPO, leftovers, overlaylab
from topologies.scenario import BUNDLED, load

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


def test_a_second_lab_of_the_same_name_is_refused_and_a_bad_name_too(clean_machine):
    proc = _start_up()
    try:
        line = error_line(overlaylab("check", UNDERLAY, "--k", "2"))
        assert line == (f"overlaylab: error: a lab named {NAME} is already running (pid {proc.pid}, owner root): "
                        f"pick another name with --name, or stop it with `sudo overlaylab down {NAME}`")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert "cannot name a lab: use 1 to 32 lowercase letters" in error_line(overlaylab("check", "--name", "Bad Name"))


def test_a_bridge_of_the_machines_own_open_vswitch_named_like_a_core_is_left_alone(clean_machine):
    """The lab keeps its switches in Open vSwitch instances of its own: the machine's is never touched."""
    subprocess.run(["ovs-vsctl", "add-br", "c0", "--", "set", "bridge", "c0", "datapath_type=netdev"], check=True)
    try:
        assert overlaylab("check", UNDERLAY, "--k", "2").returncode == 0
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


def test_a_teardown_that_fails_halfway_still_leaves_nothing(clean_machine):
    """Its output closed under it, the teardown fails at its first line; what it left is swept all the same."""
    out = open(os.devnull, "w")
    with pytest.raises(ValueError, match="closed file"):
        with running_lab(load(UNDERLAY, k=2), Phases(out), "check"):
            out.close()
    assert leftovers() == []
