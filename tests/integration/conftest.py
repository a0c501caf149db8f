"""Integration tests build real labs: they need root, Open vSwitch and Mininet, and in CI they must run."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from overlaylab.runtime.phases import Phases
from overlaylab.runtime.preflight import existing_bridges
from overlaylab.runtime.running import RunningLab, running_lab
from overlaylab.runtime.state import PODS_DIR, SERVERS_DIR, STATE_FILE
from topologies.scenario import Mode, load

REPO = Path(__file__).resolve().parents[2]


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (run `sudo make test`)"
    for tool in ("ovs-vsctl", "mnexec"):
        if shutil.which(tool) is None:
            return f"needs {tool} (run `sudo make install`)"
    if subprocess.run(["ovs-vsctl", "--timeout=3", "show"], capture_output=True).returncode:
        return "needs Open vSwitch running (run `sudo make install`)"
    return None


@pytest.fixture(scope="session", autouse=True)
def lab_machine():
    reason = _missing()
    if reason and os.environ.get("CI"):
        pytest.fail(f"integration tests must run in CI but cannot: {reason}")
    if reason:
        pytest.skip(reason)


def leftovers() -> list[str]:
    """Everything a finished lab must not leave: bridges, veths, netns, state, node shells."""
    found = [f"bridge {b}" for b, mark in existing_bridges().items() if mark]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in links.splitlines()]
    found += [f"interface {n}" for n in names if "-eth" in n or n.startswith(("olm", "olab-"))]
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    found += [f"netns {n}" for n in netns]
    if STATE_FILE.exists():
        found.append(f"state file {STATE_FILE}")
    ps = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout
    found += [f"process {p}" for p in ps.splitlines()
              if "mininet:" in p or "controller.launcher" in p or str(SERVERS_DIR) in p or str(PODS_DIR) in p]
    found += [f"directory {d}" for d in (SERVERS_DIR, PODS_DIR) if d.exists()]
    return found


def overlaylab(*args: str, stdin: str = "", timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run the real command, as a user would (through the venv's interpreter)."""
    return subprocess.run([sys.executable, "-m", "overlaylab.faces.cli", *args], input=stdin, text=True,
                          capture_output=True, timeout=timeout, cwd=REPO)


@pytest.fixture
def clean_machine():
    """Each test starts and must end with nothing of a lab left."""
    assert leftovers() == [], "an earlier lab left things behind"
    yield
    assert leftovers() == []


@contextmanager
def lab_of(scenario_path: Path, k: int | None = None, mode: Mode = Mode.OVERLAY) -> Iterator[RunningLab]:
    """A running lab for tests, quiet; asserts it leaves nothing behind once torn down."""
    scenario = load(scenario_path, k, mode)
    with open(os.devnull, "w") as quiet:
        with running_lab(scenario, Phases(quiet), "check") as lab:
            yield lab
    assert leftovers() == []


def write_scenario(tmp: Path, text: str) -> Path:
    path = tmp / "scenario.yaml"
    path.write_text(text)
    return path
