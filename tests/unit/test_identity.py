"""A lab's name and slot decide every name and address it has outside its namespaces: two labs never
share one, and every interface name fits Linux's 15 characters."""
import os
import subprocess
import sys

import pytest

from overlaylab.errors import LabError
from overlaylab.faces.cliwords import lab_table
from overlaylab.runtime import identity, registry
from overlaylab.runtime.identity import MGMT_SPACE, SLOTS, LabId, check_name, default_name
from overlaylab.runtime.machine import Row
from overlaylab.system import wait_until


def test_every_slot_has_its_own_management_subnet_group_and_names_inside_the_benchmarking_range():
    labs = [LabId("lab", slot) for slot in range(SLOTS)]
    assert len({lab.mgmt_network for lab in labs}) == len({lab.link_group for lab in labs}) == SLOTS
    assert len({lab.tag for lab in labs}) == SLOTS
    assert all(lab.mgmt_network.subnet_of(MGMT_SPACE) for lab in labs)
    last = labs[-1]
    addresses = [last.controller, *(last.server_address(i) for i in range(1024)), *(last.home_address(i) for i in range(17))]
    assert len(set(addresses)) == len(addresses) and all(a.ip in last.mgmt_network for a in addresses)
    assert all(a.ip not in (last.mgmt_network.network_address, last.mgmt_network.broadcast_address) for a in addresses)
    assert len(last.mgmt_end) <= 15 and last.interfaces.fullmatch(last.mgmt_end)
    assert not last.interfaces.fullmatch(labs[0].mgmt_end)


def test_names_are_checked_and_the_default_is_the_user_behind_sudo():
    assert check_name("alice-1") == "alice-1"
    for bad in ("", "Alice", "-x", "a b", "x" * 33, "../etc"):
        with pytest.raises(LabError, match="cannot name a lab"):
            check_name(bad)
    assert default_name({"SUDO_USER": "Bob.Smith", "USER": "root"}) == "bob-smith"
    assert default_name({"USER": "carol"}) == "carol"
    assert default_name({"OVERLAYLAB_NAME": "t-gw1", "SUDO_USER": "bob"}) == "t-gw1"


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A registry in a folder of the test's own."""
    for module in (identity, registry):
        monkeypatch.setattr(module, "LABS_DIR", tmp_path / "labs")
    monkeypatch.setattr(registry, "RUN_DIR", tmp_path)
    return tmp_path


def test_claims_get_free_slots_and_a_taken_or_stale_name_is_refused(machine):
    a, lock_a = registry.claim("alice")
    b, lock_b = registry.claim("bob")
    assert (a.slot, b.slot) == (0, 1) and a.rundir.parent == machine / "labs"
    with pytest.raises(LabError, match="a lab named alice is already running: pick another name"):
        registry.claim("alice")
    assert registry.stale_lock(registry.find("alice")) is None  # running: never cleaned
    lock_a.release()  # alice's process died without its teardown
    with pytest.raises(LabError, match="a lab named alice was left behind .* `sudo overlaylab clean alice`"):
        registry.claim("alice")
    assert [(x.name, x.running) for x in registry.labs()] == [("alice", False), ("bob", True)]
    assert registry.claim("carol")[0].slot == 2  # alice's slot stays hers until she is cleaned
    with pytest.raises(LabError, match="there is no lab named dave on this machine .labs: alice, bob, carol"):
        registry.find("dave")
    lock_b.release()


def test_a_labs_processes_are_found_by_their_mark_and_nobody_elses():
    env = {**os.environ, "OVERLAYLAB_LAB": "marked-one"}
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], env=env)
    try:  # the child carries the mark once it has exec'd (before, /proc shows the parent's environment)
        assert wait_until(lambda: registry.processes("marked-one"), 10, "the child to exec") == [child.pid]
        assert registry.processes("marked") == []
    finally:
        child.kill()
        child.wait()


def test_ls_fits_eighty_columns():
    rows = [Row("a-rather-long-lab-name-indeed", "someone-long", "datacenter-big.yaml", 8, 256, 3725, 2900, "running"),
            Row("bob", "bob", "lecture.yaml", 4, 5, 42, 0, "stale")]
    lines = lab_table(rows)
    assert max(map(len, lines)) <= 80 and lines[1].endswith("1h02m    2.83G  running")
    assert lines[2].split()[-3:] == ["0m42s", "-", "stale"]
    assert lab_table([])[0].startswith("no labs on this machine")
