"""Mininet nodes on other machines, and the cable between two of them (issue 21's building blocks, on
Mininet's Cluster Edition, `mininet.examples.cluster`).

  MachineHost   a node whose shell runs on another machine, reached over ssh as root: Cluster Edition's
                RemoteMixin, without its `sudo` (these machines may have none; root needs none) and with the
                simulated cluster's ssh settings when the machine is one of it
  StitchLink    a cable between nodes on two machines: a kernel VXLAN device at each end (Cluster Edition
                offers GRE, whose `ip_gre` these kernels lack), its own VNI per cable, on UDP STITCH_PORT, never
                4789 or 6081, so it never mixes with the tenants' VXLAN and GENEVE; between nodes on one
                machine, a veth as ever
"""
from __future__ import annotations

import io
import shlex
import subprocess
import tarfile
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from mininet.examples.cluster import RemoteGRELink, RemoteMixin
from mininet.link import Link
from mininet.node import Node

from overlaylab.errors import LabError
from overlaylab.runtime.identity import RUN_DIR
from overlaylab.runtime.simplan import DIR, NETWORK
from probes.remote import source as agent_source
from vswitch.nodes import MARK
from vswitch.wiring import Setup, commands

STITCH_PORT = 8472  # Linux's VXLAN port of old: not IANA's 4789 (the tenants' VXLAN), not GENEVE's 6081


class MachineMixin(RemoteMixin):  # type: ignore[misc]
    """Cluster Edition's remote node, as root, without sudo on either side."""

    def __init__(self, name: str, server: str, **params: Any) -> None:
        super().__init__(name, server=server, user="root", **params)

    def startShell(self, *args: Any, **params: Any) -> None:
        """Cluster Edition's shell, over an ssh without its local `sudo -u` (Node.__init__ calls this after
        RemoteMixin has put it in)."""
        if self.isRemote:
            self.sshcmd = [*self.sshbase, *_mux(), *_ssh_options(self.serverIP), self.dest]
        super().startShell(*args, **params)

    def _popen(self, cmd: Any, sudo: bool = True, tt: bool = True, **params: Any) -> Any:
        """Without sudo; and with the lab's mark, so that what the node starts there carries it too (ssh
        forwards no environment): `overlaylab clean` finds a crashed lab's processes there by it."""
        words = cmd.split() if isinstance(cmd, str) else list(cmd)
        if self.isRemote and getattr(self, "mark", ""):
            words = ["env", f"{MARK}={self.mark}", *words]
        return super()._popen(words, sudo=False, tt=tt, **params)

    def wire(self, setup: Setup) -> None:
        """A host's set-up as commands in its shell there (vswitch.nodes.Wired does it over netlink here)."""
        self.cmd(commands(setup))


class MachineHost(MachineMixin, Node):  # type: ignore[misc]
    """A host (its own network namespace) on another machine."""


@cache
def on_machine(cls: type) -> type:
    """A node class as a node on another machine (Cluster Edition's way: the remote mixin first)."""
    return type(f"Machine{cls.__name__}", (MachineMixin, cls), {})


def machine_of(node: Any) -> str | None:
    """The machine a node runs on, None for this one."""
    return str(node.serverIP) if getattr(node, "isRemote", False) else None


def pids_by_machine(nodes: Iterable[Any]) -> dict[str, list[int]]:
    """The shell pids of the nodes on other machines, by machine (as each machine knows them)."""
    found: dict[str, list[int]] = defaultdict(list)
    for node in nodes:
        if (host := machine_of(node)) is not None:
            found[host].append(node.pid)
    return found


def ssh(host: str, command: str, shared: bool = True) -> list[str]:
    """Run `command` as root on a machine, in its own namespace, as the lab's nodes are run there; `shared`:
    over the one connection per machine (see _mux), or a connection of its own."""
    own = ["-o", "ControlPath=none"]
    return ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", *(_mux() if shared else own),
            *_ssh_options(host), f"root@{host}", command]


def _mux() -> list[str]:
    """One connection per machine, its master lingering a minute after its last session, its socket in root's
    folder."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    return ["-o", "ControlMaster=auto", "-o", f"ControlPath={RUN_DIR}/ssh-%C", "-o", "ControlPersist=60"]


def agent_command(host: str) -> list[str]:
    """How a capture agent (probes.agent) starts on a machine: its source, run by the machine's python3, over a
    connection of its own (every probe and every frame seen goes through it: not through the ssh process that
    also carries the machine's node shells)."""
    return ssh(host, "python3 -c " + shlex.quote(agent_source()), shared=False)


def run_on(host: str, script: str, stdin: bytes = b"", timeout: float = 60) -> str:
    """A shell script run as root on a machine: what it printed, or a LabError with the last thing it said."""
    try:
        done = subprocess.run(ssh(host, script), input=stdin, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LabError(f"{host} did not finish `{script[:60]}` in {timeout:.0f} s") from None
    if done.returncode != 0:
        said = (done.stderr.decode(errors="replace").strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise LabError(f"on {host}, `{script[:60]}` failed: {said}")
    return done.stdout.decode(errors="replace")


SWEEP = """
import os, signal, sys, time
spare, mark = {int(p) for p in sys.argv[2:]}, sys.argv[1].encode()
own = os.readlink("/proc/self/ns/net")
spaces = set()
for pid in spare:
    try:
        spaces.add(os.readlink(f"/proc/{pid}/ns/net"))
    except OSError:
        pass
spaces.discard(own)
def doomed(pid):
    if pid in spare or pid == os.getpid():
        return False
    if spaces:
        return os.readlink(f"/proc/{pid}/ns/net") in spaces
    with open(f"/proc/{pid}/environ", "rb") as f:
        return mark in f.read().split(bytes(1))
killed = []
for entry in os.listdir("/proc"):
    try:
        if entry.isdigit() and doomed(int(entry)):
            os.kill(int(entry), signal.SIGKILL)
            killed.append(entry)
    except OSError:
        pass
def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
deadline = time.time() + 10
while time.time() < deadline and any(alive(p) for p in killed):
    time.sleep(0.05)
print(len(killed))
"""


def sweep(host: str, mark: str, shells: list[int]) -> int:
    """End processes on a machine: those in the namespaces of `shells` but the shells themselves (a lab's
    teardown), or, with no shells, every one carrying the lab's `mark` (what a crashed lab left). Returns how
    many it ended."""
    args = " ".join([shlex.quote(f"{MARK}={mark}"), *map(str, shells)])
    return int(run_on(host, f"python3 -c {shlex.quote(SWEEP)} {args}", timeout=30).strip() or 0)


def put(host: str, files: dict[Path, str]) -> None:
    """Files written on a machine, their folders made first, all in one ssh command (a tar stream)."""
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w") as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(str(path))
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    run_on(host, "tar -x -P -f -", stdin=stream.getvalue())


def simulated(address: str) -> bool:
    """Is this one of the machines `overlaylab cluster simulate` makes here?"""
    try:
        return ip_address(address) in NETWORK
    except ValueError:  # a host name: a real machine
        return False


def _ssh_options(address: str) -> list[str]:
    """The simulated cluster's key and host-key policy, for one of its machines; a real machine's ssh
    settings are the user's own."""
    if not simulated(address) or not (DIR / "key").exists():
        return []
    return ["-i", str(DIR / "key"), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR"]


class StitchLink(RemoteGRELink):  # type: ignore[misc]
    """A cable that may cross machines: a kernel VXLAN device at each end, with a VNI of its own (`vni`:
    from the lab's range, see LabId.stitch_vni), (Cluster Edition's GRE link, made of VXLAN instead; its
    stop() deletes both ends)."""

    tunnel: int | None

    def __init__(self, node1: Any, node2: Any, vni: int = 0, **params: Any) -> None:
        self.vni = vni
        super().__init__(node1, node2, **params)

    def makeIntfPair(self, intfname1: str, intfname2: str, addr1: str | None = None, addr2: str | None = None,
                     node1: Any = None, node2: Any = None, deleteIntfs: bool = True) -> Any:
        node1, node2 = node1 or self.node1, node2 or self.node2
        if getattr(node1, "serverIP", None) == getattr(node2, "serverIP", None):
            return Link.makeIntfPair(intfname1, intfname2, addr1, addr2, node1, node2, deleteIntfs=deleteIntfs)
        if not self.vni:
            raise LabError(f"the cable {intfname1}-{intfname2} crosses machines and has no VNI of its own")
        for node, name, addr, remote in ((node1, intfname1, addr1, node2), (node2, intfname2, addr2, node1)):
            run_on(node.serverIP, stitch_end(self.vni, node.serverIP, remote.serverIP, node.pid, name, addr))
        self.tunnel = self.vni  # Cluster Edition's field: anything but None means "a tunnel, not a veth"
        return None


def stitch_end(vni: int, local: str, remote: str, pid: int, name: str, mac: str | None = None) -> str:
    """The script that makes one end of a stitch on its machine: a VXLAN device made in the machine's own
    namespace (where its socket stays) under a name of its VNI's, unique to the lab and the cable (a switch's
    port name is not: two labs building at once would both make `p0a0-eth3` there), then moved into the
    namespace of process `pid` and named `name` there. One a failed try left behind goes first."""
    made = f"olv{vni}"
    return " && ".join([
        f"{{ ip link del {made} 2>/dev/null; true; }}",
        f"ip link add name {made} type vxlan id {vni} local {local} remote {remote} dstport {STITCH_PORT} nolearning",
        *([f"ip link set {made} address {mac}"] if mac else []), f"ip link set {made} netns {pid}",
        f"nsenter -t {pid} -n ip link set {made} name {name}", f"nsenter -t {pid} -n ip link set {name} up"])
