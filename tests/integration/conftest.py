"""Integration tests build real labs: they need root, Open vSwitch and Mininet, and in CI they must run."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from overlaylab.runtime import registry
from overlaylab.runtime.identity import LABS_DIR
from overlaylab.runtime.phases import Phases
from overlaylab.runtime.running import RunningLab, running_lab
from overlaylab.runtime.simplan import PREFIX
from topologies.scenario import Mode, load

# Every lab this test process builds, and every `overlaylab` it runs, is named after its pytest-xdist worker
# (one test at a time each), so the workers' labs run side by side; tests that run several labs at once
# name the others themselves.
NAME = os.environ["OVERLAYLAB_NAME"] = f"t-{os.environ.get('PYTEST_XDIST_WORKER', 'gw0')}"
TAG = re.compile(r"ol(\d\d)mgmt")
CLUSTER = f"{PREFIX}-"  # a simulated cluster's namespaces
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


def leftovers(name: str = NAME) -> list[str]:
    """Everything a finished lab must not leave: its folder, its processes (by their mark), interfaces in
    the machine's namespace that no lab holds, netns (but a simulated cluster's, which a test of its own may
    have up meanwhile, and which outlives labs), Mininet-style interfaces (the lab makes none there)."""
    found = [f"lab folder {LABS_DIR / name}"] if (LABS_DIR / name).exists() else []
    found += [f"process {pid}" for pid in registry.processes(name)]
    held = {listed.state.slot for listed in registry.labs() if listed.state}
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in links.splitlines()]
    found += [f"interface {n}" for n in names
              if "-eth" in n or ((tag := TAG.fullmatch(n)) and int(tag[1]) not in held)]
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split("\n")
    return found + [f"netns {n.split()[0]}" for n in netns if n and not n.startswith(CLUSTER)]


def overlaylab(*args: str, stdin: str = "", timeout: float = 240,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command, as a user would (through the venv's interpreter), `env` added to ours."""
    return subprocess.run([sys.executable, "-m", "overlaylab.faces.cli", *args], input=stdin, text=True,
                          capture_output=True, timeout=timeout, cwd=REPO, env={**os.environ, **(env or {})})


@pytest.fixture
def clean_machine():
    """Each test starts and must end with nothing of a lab left."""
    assert leftovers() == [], "an earlier lab left things behind"
    yield
    assert leftovers() == []


@contextmanager
def lab_of(scenario_path: Path, k: int | None = None, mode: Mode = Mode.OVERLAY,
           name: str = NAME) -> Iterator[RunningLab]:
    """A running lab for tests, quiet; asserts it leaves nothing behind once torn down."""
    scenario = load(scenario_path, k, mode)
    with open(os.devnull, "w") as quiet:
        with running_lab(scenario, Phases(quiet), "check", name) as lab:
            yield lab
    assert leftovers(name) == []


def write_scenario(tmp: Path, text: str) -> Path:
    path = tmp / "scenario.yaml"
    path.write_text(text)
    return path
