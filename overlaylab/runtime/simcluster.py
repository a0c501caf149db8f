"""Simulated machines on this one (`overlaylab cluster simulate N`, `overlaylab cluster clean`), for
`--hosts` without a cluster and for the tests: each machine a network namespace with its own sshd and its
own Open vSwitch run directory, all joined by a bridge in a namespace of the cluster's own, this machine on
it through one veth. The ssh hop is real, so what runs on a machine goes the way it goes on real ones.
Built all or nothing; cleaned by what it made (its namespaces, its veth, its sshd pids), nothing else."""
from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from overlaylab.errors import LabError
from overlaylab.runtime.remote import ssh
from overlaylab.runtime.simplan import (
    BRIDGE_NS,
    DIR,
    HOST_LINK,
    MTU,
    PREFIX,
    SSHD,
    Machine,
    host_address,
    machines,
    sshd_config,
)
from overlaylab.system import cmdline, pid_alive, processes_in, run, wait_until

ANSWER_TIMEOUT = 30.0  # seconds for every machine's sshd to let the cluster's key in
PRIVSEP = Path("/run/sshd")  # Debian's sshd will not start without its privilege separation directory


def simulate(count: int, say: Callable[[str], None] = lambda _line: None) -> list[Machine]:
    """Make `count` machines, each answering ssh as root by the cluster's key; refused while one exists."""
    if not Path(SSHD).exists():
        raise LabError("openssh-server is not installed (the simulated machines run its sshd): run `sudo make "
                       "install`")
    present = namespaces()
    if DIR.exists() or present:
        raise LabError(f"a simulated cluster is already here ({len(present)} namespaces): use it, or remove it "
                       f"first with `sudo overlaylab cluster clean`")
    try:
        cluster = machines(count)
    except ValueError as exc:
        raise LabError(str(exc)) from None
    try:
        _build(cluster, say)
    except BaseException:
        clean()
        raise
    return cluster


def _build(cluster: list[Machine], say: Callable[[str], None]) -> None:
    DIR.mkdir(parents=True, mode=0o700)
    for key in ("key", "host_key"):
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"overlaylab cluster {key}", "-f", str(DIR / key))
    run("ip", "netns", "add", BRIDGE_NS)
    _in(BRIDGE_NS, "link", "add", "br0", "mtu", str(MTU), "type", "bridge")
    _in(BRIDGE_NS, "link", "set", "br0", "up")
    run("ip", "link", "add", HOST_LINK, "mtu", str(MTU), "type", "veth", "peer", "name", "host", "netns", BRIDGE_NS,
        "mtu", str(MTU))
    _in(BRIDGE_NS, "link", "set", "host", "master", "br0", "up")
    run("ip", "addr", "add", str(host_address()), "dev", HOST_LINK)
    run("ip", "link", "set", HOST_LINK, "up")
    PRIVSEP.mkdir(mode=0o755, exist_ok=True)
    for machine in cluster:
        _machine(machine)
        say(f"{machine.name}: namespace {machine.namespace}, {machine.address}, sshd started")
    wait_until(lambda: all(_answers(m) for m in cluster), ANSWER_TIMEOUT, "every simulated machine's sshd",
               lambda: ", ".join(m.name for m in cluster if not _answers(m)) + " not answering")


def _machine(machine: Machine) -> None:
    """Its namespace, its cable to the bridge, its address, its own directory and sshd."""
    ns = machine.namespace
    run("ip", "netns", "add", ns)
    run("ip", "link", "add", machine.port, "netns", BRIDGE_NS, "mtu", str(MTU), "type", "veth", "peer", "name", "eth0",
        "netns", ns, "mtu", str(MTU))
    _in(BRIDGE_NS, "link", "set", machine.port, "master", "br0", "up")
    _in(ns, "addr", "add", str(machine.address), "dev", "eth0")
    for device in ("lo", "eth0"):
        _in(ns, "link", "set", device, "up")
    (machine.home / "ovs").mkdir(parents=True, mode=0o700)
    machine.config.write_text(sshd_config(machine))
    run("ip", "netns", "exec", ns, SSHD, "-f", str(machine.config))


def _in(namespace: str, *command: str) -> None:
    run("ip", "-n", namespace, *command)


def _answers(machine: Machine) -> bool:
    return run(*ssh(str(machine.address.ip), "true"), check=False, timeout=10).returncode == 0


def namespaces() -> list[str]:
    """The cluster's network namespaces that exist now."""
    listed = run("ip", "netns", "list").stdout.split("\n")
    return [line.split()[0] for line in listed if line.startswith(f"{PREFIX}-")]


def clean() -> str:
    """Remove the simulated cluster: its processes (its sshds and whatever runs in its machines), its
    namespaces, its veth and its directory. What was removed, in words ("" when there was nothing)."""
    present = namespaces()
    ids = {f"net:[{os.stat(f'/run/netns/{ns}').st_ino}]" for ns in present}
    doomed = set(processes_in(ids)) | set(_sshd_pids())
    for pid in doomed:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not any(pid_alive(pid) for pid in doomed), 10, "the simulated machines' processes to exit")
    for ns in present:
        run("ip", "netns", "del", ns, check=False)
    link = run("ip", "link", "del", HOST_LINK, check=False).returncode == 0
    had_dir = DIR.exists()
    shutil.rmtree(DIR, ignore_errors=True)
    if not (present or link or had_dir):
        return ""
    return f"{len(present)} namespaces, {len(doomed)} processes{', its veth' if link else ''}"


def _sshd_pids() -> list[int]:
    """The sshds the cluster started, by their pid files, if they still are what was started."""
    found = []
    for pidfile in DIR.glob("m*/sshd.pid"):
        with suppress(OSError, ValueError):
            pid = int(pidfile.read_text().split()[0])
            if str(pidfile.parent / "sshd_config") in cmdline(pid):
                found.append(pid)
    return found
