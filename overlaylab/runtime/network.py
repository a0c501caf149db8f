"""The emulated datacenter: Mininet switches, servers and VMs made from the scenario."""
from __future__ import annotations

import os
import shlex
import signal
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from ipaddress import IPv4Interface
from pathlib import Path
from typing import Any

from mininet.net import Mininet
from mininet.node import OVSSwitch, RemoteController

from overlaylab.errors import LabError
from overlaylab.runtime import links, pods
from overlaylab.runtime.identity import LabId
from overlaylab.runtime.remote import StitchLink, machine_of, on_machine, pids_by_machine, run_on, sweep
from overlaylab.system import pid_alive, processes_in, run, wait_until
from probes.netns import namespace_id
from probes.session import Progress
from topologies.fattree import FatTree, mac_of
from topologies.mininet_topo import FatTreeTopo
from topologies.placement import Placement
from topologies.scenario import Scenario
from vswitch.nodes import Cable, Orphanless, PhysicalServer, VirtualMachine, addressing
from vswitch.ovs import CONTROLLER_OPTIONS, OvsInstance
from vswitch.wiring import WiringError

ROGUE = "rogue"  # a host on a spare port of edge p0e0, known to no one: the fabric must keep it out
ROGUE_IP = "10.0.0.250/24"
PARALLEL_STARTS = 9  # node shells started at once: over ssh, under sshd's default MaxStartups (10)
# The threads that start them live as long as the process: a node's shell is made to die with its parent
# (vswitch.nodes.die_with_parent), and to the kernel that parent is the thread that started it. Shells started
# by a pool's threads were killed as the pool shut down.
STARTERS = ThreadPoolExecutor(max_workers=PARALLEL_STARTS, thread_name_prefix="node-start")


class UnderlaySwitch(Orphanless, OVSSwitch):
    """An underlay switch: userspace OVS, OpenFlow 1.3 and 1.5, no forwarding without the controller;
    a bridge of its home's Open vSwitch (`ovs`: a pod's or the core's), its shell and ports in the home's
    namespace (that of process `netns`; see overlaylab.runtime.pods)."""

    def __init__(self, name: str, ovs: str, netns: int, **params: Any) -> None:
        params.update(datapath="user", protocols="OpenFlow13,OpenFlow15", failMode="secure", batch=True)
        self.ovs = OvsInstance(Path(ovs))
        self.netns = netns
        super().__init__(name, **params)

    def startShell(self, mnopts: str | None = None) -> None:
        """A switch works from inside its home's namespace (mnexec -a: attach to that process's); on another
        machine without detaching (-d), which would end its ssh session, as Cluster Edition's nodes do."""
        super().startShell(f"-c{'' if machine_of(self) else 'd'}a{self.netns}")

    @property
    def target(self) -> str:
        """Where ovs-ofctl reaches this switch."""
        return self.ovs.bridge(self.name)

    def vsctl(self, *args: Any, **kwargs: Any) -> Any:
        if self.batch:
            return super().vsctl(*args, **kwargs)
        return self.cmd("ovs-vsctl", f"--db={self.ovs.db}", *args, **kwargs)

    def dpctl(self, *args: Any) -> Any:
        return self.cmd("ovs-ofctl", args[0], self.target, *args[1:])

    @classmethod
    def batchStartup(cls, switches: list[UnderlaySwitch], run: Any = None) -> list[UnderlaySwitch]:
        """Each Open vSwitch gets its switches in one ovs-vsctl transaction; the homes' side by side."""
        homes: dict[OvsInstance, list[UnderlaySwitch]] = defaultdict(list)
        for switch in switches:
            homes[switch.ovs].append(switch)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda home: _create_bridges(home, homes[home]), homes))
        return switches


def _create_bridges(home: OvsInstance, switches: list[UnderlaySwitch]) -> None:
    """Mininet's commands in one transaction; then the controller options in a second one (a pod's
    ovs-vswitchd kept the 5 s default probe when they came in the transaction that made the bridge)."""
    db = [f"--db={home.db}"]
    words = [word for s in switches for command in s.commands for word in shlex.split(command)]
    _vsctl(switches[0], "--timeout=60", *db, *words)
    options = [word for s in switches for word in ("--", "set", "controller", s.name, *CONTROLLER_OPTIONS)]
    _vsctl(switches[0], "--timeout=60", *db, *options)
    for switch in switches:
        switch.commands, switch.batch = [], False


def _vsctl(switch: UnderlaySwitch, *args: str) -> None:
    """ovs-vsctl where the switch's home is: on this machine, or over ssh on its own."""
    host = machine_of(switch)
    if host is None:
        run("ovs-vsctl", *args, timeout=90)
    else:
        run_on(host, shlex.join(["ovs-vsctl", *args]), timeout=90)


class Controller(Orphanless, RemoteController):
    """Mininet's handle on the lab's os-ken process (named `ctl`: `c0` is a core switch here)."""

    def stop(self, *_args: Any, **_kwargs: Any) -> None:
        """Mininet's RemoteController.stop() leaves its node shell running; end it."""
        self.terminate()

    def checkListening(self) -> None:  # noqa: N802 (Mininet's name)
        """Mininet asks `telnet` whether the controller listens and decodes what it prints as UTF-8: that
        is the controller's binary OpenFlow hello, which now and then is not UTF-8 (seen: a lab that did
        not start, UnicodeDecodeError on byte 0xed). The lab has already waited until it listens."""


def vm_node(index: int) -> str:
    """A VM's Mininet name: short whatever the tenant and VM are called (v<index in the scenario>)."""
    return f"v{index}"


class LabTopo(FatTreeTopo):
    """The fat-tree plus every VM, cabled to its server (server port n is br-int port n), plus a
    rogue host on edge p0e0's spare port k+1."""

    def build(self, scenario: Scenario, lab: LabId, placement: Placement | None = None) -> None:  # type: ignore[override]
        fabric = scenario.fabric
        super().build(fabric.k)
        for home in pods.homes(fabric, placement):
            self.addHost(home.node, cls=pods.Pod, ip=None)
        for switch in fabric.switches:
            home = pods.home(fabric, switch, placement)
            self.nodeInfo(switch.name).update(ovs=str(home.instance(lab).rundir), pod=home.node)
        self.addHost(ROGUE, ip=ROGUE_IP, mac=mac_of(IPv4Interface(ROGUE_IP).ip), defaultRoute="via 10.0.0.1")
        self.addLink(ROGUE, "p0e0", port1=0, port2=scenario.fabric.k + 1)
        for index, vm in enumerate(scenario.vms):
            if not vm.bare_metal:
                self.addHost(vm_node(index), cls=VirtualMachine, mac=vm.mac, mtu=vm.encap.inner_mtu,
                             **addressing(vm))
                self.addLink(vm_node(index), vm.server.name, port1=0, port2=vm.port)
        if placement is not None:
            self.place(scenario, lab, placement)

    def place(self, scenario: Scenario, lab: LabId, placement: Placement) -> None:
        """Each node on its machine (Cluster Edition's `server`), each cable between two machines with a VNI
        of the lab's own."""
        fabric = scenario.fabric
        anchors = {ROGUE: "p0e0", **{vm_node(i): vm.server.name for i, vm in enumerate(scenario.vms)},
                   **{home.node: _switch_of(fabric, home, placement) for home in pods.homes(fabric, placement)}}
        for name in self.nodes():
            self.nodeInfo(name)["server"] = placement.machine_of(fabric, anchors.get(name, name))
        stitched = (info for a, b, info in self.links(withInfo=True)
                    if self.nodeInfo(a)["server"] != self.nodeInfo(b)["server"])
        for number, info in enumerate(stitched):
            info["vni"] = lab.stitch_vni(number)


def _switch_of(fabric: FatTree, home: pods.Home, placement: Placement) -> str:
    """A switch that lives in a home: its machine is the home's."""
    return next(s.name for s in fabric.switches if pods.home(fabric, s, placement) == home)


class LabNet(Mininet):
    """Mininet, where a switch given a `pod` lives in that home node's namespace (homes are hosts, so
    they exist before any switch), where every node's processes carry the lab's mark, and that says how
    far building has gone."""

    def __init__(self, progress: Progress, mark: str, **params: Any) -> None:
        self.progress, self.mark = progress, mark
        super().__init__(**params)

    def buildFromTopo(self, topo: Any = None) -> None:
        """Mininet's; but the nodes are started side by side first, hosts and then switches (which live in
        their home's namespace), and Mininet then finds them started. One after another, k=8's 474 shells took
        203 s over ssh, and here the network took 18.1 s (13.1 s now)."""
        order = {name: i for i, name in enumerate([*topo.hosts(), *topo.switches()])}
        list(STARTERS.map(lambda name: self.addHost(name, **topo.nodeInfo(name)), topo.hosts()))
        list(STARTERS.map(lambda name: self.addSwitch(name, **topo.nodeInfo(name)), topo.switches()))
        for nodes in (self.hosts, self.switches):
            nodes.sort(key=lambda node: order[node.name])
        super().buildFromTopo(topo)

    def addHost(self, name: str, cls: Any = None, **params: Any) -> Any:
        if name in self.nameToNode:
            return self.nameToNode[name]
        self.progress(f"{len(self.hosts) + 1} hosts")
        return super().addHost(name, cls=_where(cls or self.host, params), mark=self.mark, **params)

    def addLink(self, node1: Any, node2: Any, *args: Any, **params: Any) -> Any:
        self.progress(f"{len(self.hosts)} hosts, {len(self.switches)} switches, {len(self.links) + 1} links")
        return super().addLink(node1, node2, *args, **params)

    def pingAll(self, timeout: Any = None) -> Any:
        """Mininet's pingall, over servers and VMs (a pod node has no address to ping)."""
        return self.ping([h for h in self.hosts if not isinstance(h, pods.Pod)], timeout=timeout)

    def addSwitch(self, name: str, cls: Any = None, **params: Any) -> Any:
        if name in self.nameToNode:
            return self.nameToNode[name]
        params["netns"] = self[params.pop("pod")].pid
        return super().addSwitch(name, cls=_where(cls or self.switch, params), mark=self.mark, **params)


def _where(cls: type, params: dict[str, Any]) -> type:
    """The node class for a node on another machine (`server` given), or this one's."""
    return on_machine(cls) if params.get("server") else cls


@contextmanager
def refused_as_lab_errors() -> Iterator[None]:
    """A cable or an address the kernel refused (vswitch.wiring) is the lab's one-line error."""
    try:
        yield
    except WiringError as exc:
        raise LabError(str(exc)) from None


def build_network(lab: LabId, scenario: Scenario, controller_port: int, progress: Progress,
                  placement: Placement | None = None) -> Mininet:
    """An unbuilt Mininet for the scenario (over the machines of `placement`, if given); the caller builds and
    starts it, and must stop it."""
    controller = Controller("ctl", ip=str(lab.controller.ip), port=controller_port, mark=lab.name)
    return LabNet(progress, lab.name, topo=LabTopo(scenario, lab, placement), switch=UnderlaySwitch,
                  host=PhysicalServer, link=StitchLink if placement else Cable, controller=controller,
                  autoSetMacs=False, build=False, waitConnected=False)


def host_namespaces(net: Mininet) -> set[str]:
    """The network namespaces of the servers and VMs on this machine (never the root one; and never by the
    pid of a node on another machine, which here is some other process)."""
    here = {namespace_id(h.pid) for h in net.hosts if machine_of(h) is None}
    return here - {namespace_id(os.getpid()), None}  # type: ignore[return-value]


def kill_namespace_processes(namespaces: set[str], spare: set[int] = frozenset()) -> int:  # type: ignore[assignment]
    """What users started in a server or VM (`pepsi/web iperf3 -s -D`) outlives its shell; find such
    processes by the namespace they live in, never by name, kill them, and wait until they are gone (an
    ovs-vswitchd takes a moment to exit)."""
    doomed = [pid for pid in processes_in(namespaces) if pid not in spare]
    for pid in doomed:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not any(pid_alive(pid) for pid in doomed), 10, "the lab's processes to exit")
    return len(doomed)


def unplug(lab: LabId, net: Mininet) -> int:
    """End every process in the servers', VMs' and homes' namespaces but their shells (what users
    started, and the private Open vSwitch daemons, whose state dies with the namespace), then delete
    the lab's veths in the machine's namespace in one batch. Returns how many processes it ended."""
    ended = kill_namespace_processes(host_namespaces(net), spare={h.pid for h in net.hosts if machine_of(h) is None})
    shells = pids_by_machine(net.hosts)
    with ThreadPoolExecutor(max_workers=8) as pool:
        ended += sum(pool.map(lambda host: sweep(host, lab.name, shells[host]), shells))
    links.delete_group(lab.link_group)
    return ended


def end_shells(net: Mininet) -> None:
    for node in net.values():
        node.terminate()
