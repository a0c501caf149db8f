"""A lab's life: preflight, controller, network, virtual switches, flows confirmed on every datapath,
and a teardown that leaves nothing behind. The running lab is its parts: the desired state (`desired`),
the nodes (`nodes`), the controller's process (`controller`) and the changes of its members (`members`)."""
from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from mininet.log import setLogLevel

from controller.flows import Tables
from controller.overlay import virtualized
from overlaylab.errors import LabError
from overlaylab.runtime import clean, daemons, machines, mgmt, pods, registry, tables, vswitches
from overlaylab.runtime.capacity import admit, share_here
from overlaylab.runtime.controlproc import ControllerProcess
from overlaylab.runtime.desired import Desired
from overlaylab.runtime.identity import LabId, check_name, default_name
from overlaylab.runtime.members import Members
from overlaylab.runtime.network import build_network, end_shells, refused_as_lab_errors, unplug
from overlaylab.runtime.nodes import Nodes
from overlaylab.runtime.phases import Phases
from overlaylab.runtime.preflight import preflight
from overlaylab.runtime.remote import simulated
from overlaylab.runtime.state import LabState, owner
from overlaylab.system import wait_until
from probes.session import Progress
from topologies.fattree import Server
from topologies.names import UPLINK_PORT, vswitch_dpid
from topologies.placement import Placement
from topologies.scenario import Scenario

FLOWS_TIMEOUT = 60.0
FLOWS_PER_SECOND = 2000  # what a busy 2-core machine pushes at least (about 5,000 a second at k=8): the wait grows


class RunningLab:
    """A running lab; made by `running_lab`, which guarantees its teardown."""

    def __init__(self, scenario: Scenario, phases: Phases, lab: LabId, estimate_mib: float = 0.0,
                 placement: Placement | None = None) -> None:
        if scenario.path is None:
            raise LabError("a lab is built from a scenario file (topologies.scenario.load), so that its "
                           "controller reads the very same one")
        fabric = scenario.fabric
        self.phases, self.id = phases, lab
        self.state = LabState(name=lab.name, slot=lab.slot, pid=os.getpid(), owner=owner(),
                              scenario=str(scenario.path), k=fabric.k, vms=len(scenario.vms), started=time.time(),
                              estimate_mib=estimate_mib, hosts=placement.hosts if placement else ())
        self.controller = ControllerProcess(str(lab.controller.ip), self.state.scenario, fabric.k,
                                            lab.rundir / "controller.log", str(scenario.mode), lab.name,
                                            self.state.owner)
        self.desired = Desired(scenario, self.controller)
        self.nodes = Nodes(scenario, lab, placement)
        self.members = Members(self.desired, self.nodes, self.controller)

    @property
    def scenario(self) -> Scenario:
        """The desired state, as the controller (its owner) last said it."""
        return self.desired.scenario

    @property
    def compiled(self) -> dict[str, Tables]:
        """What every datapath must hold, by name."""
        return self.desired.compiled

    @property
    def underlay(self) -> dict[str, Tables]:
        """What every underlay switch must hold, by name."""
        return self.desired.underlay

    def server_problems(self) -> dict[str, str]:
        """Servers that cannot take part, and why: their uplink is down, or their virtual switch is not
        running or not connected to the controller. (os-ken on native threads does not notice a switch
        that died, so a dead ovs-vswitchd is found by its pid.)"""
        connected = set(self.controller.request("GET", path="/datapaths")["connected"])
        hosting = {vm.server for vm in self.scenario.vms if not vm.bare_metal}
        problems = {}
        for server in self.scenario.fabric.servers:
            edge = self.scenario.fabric.peer(server.name, UPLINK_PORT)
            if edge and frozenset((server.name, edge[0])) in self.nodes.cut:
                problems[server.name] = f"{server.name}'s uplink to {edge[0]} is down"
            elif server in hosting and not _vswitch_up(self.nodes, server, connected):
                problems[server.name] = f"{server.name}'s virtual switch is not connected"
        return problems

    def underlay_problems(self) -> list[str]:
        """How the underlay switches differ from what they should hold now (empty: repaired)."""
        return tables.mismatches(self.underlay, self.nodes.targets)

    def start(self) -> None:
        fabric = self.scenario.fabric
        self.state.save()
        with self.phases.phase("controller", "starting the controller (os-ken) on the management network"):
            mgmt.create(self.id)
            self.controller.launch()  # it loads while the network is built, and must listen before a switch starts
        with self.phases.phase("network", f"building a k={fabric.k} fat-tree: {len(fabric.switches)} switches "
                                          f"({fabric.k} pods and the core, each its own Open vSwitch), "
                                          f"{len(fabric.servers)} servers, "
                                          f"{sum(not vm.bare_metal for vm in self.scenario.vms)} VMs") as progress:
            net = self.nodes.net = build_network(self.id, self.scenario, self.controller.port, progress,
                                                 self.nodes.placement)
            with refused_as_lab_errors():
                net.build()
            pods.start(self.id, net, fabric, self.nodes.placement)
            self._controller_ready()
            net.start()
        self._start_vswitches()
        self._wait_for_flows()

    def _start_vswitches(self) -> None:
        servers = virtualized(self.scenario)
        bare_metal = [vm for vm in self.scenario.vms if vm.bare_metal]
        if not servers and not bare_metal:
            return
        assert self.nodes.net is not None
        with self.phases.phase("vswitches", f"starting {len(servers)} per-server virtual switches"
                                            f" and {len(bare_metal)} kernel VTEPs") as progress:
            vswitches.start(self.id, self.nodes.net, self.scenario, self.controller.port, progress)
            for server in servers:
                self.nodes.vswitch_started(server)
            vswitches.start_kernel_vteps(self.nodes.net, self.scenario)

    def _controller_ready(self) -> None:
        """Once the (re)started controller listens: its API noted, its desired state read."""
        self.controller.wait_ready()
        self.state.api = f"{self.controller.host}:{self.controller.api_port}"
        self.state.save()
        self.desired.restarted()

    def _wait_for_flows(self) -> None:
        waiting = f"waiting until all {len(self.desired.dpids)} datapaths hold their flows"
        with self.phases.phase("flows", waiting) as progress:
            wait_until(lambda: self._in_sync(progress), FLOWS_TIMEOUT + self.desired.flows / FLOWS_PER_SECOND,
                       "the controller's flows", self._flows_problem)

    def kill_controller(self) -> None:
        """Crash the controller (SIGKILL). The switches keep their flows and keep forwarding (fail mode
        secure: no fallback to learning) until it is back."""
        self.controller.kill()

    def start_controller(self) -> dict[str, int]:
        """Start the controller again on its own port; every switch reconnects and is reconciled. Returns
        the flow and group mods each datapath needed (0 for all when nothing changed meanwhile)."""
        self.controller.launch()
        self._controller_ready()
        self._wait_for_flows()
        status = self.controller.status()
        return {name: status.changes[dpid] for dpid, name in status.synced.items()}

    def _in_sync(self, progress: Progress) -> bool:
        """Has every datapath answered the barrier after its push? (Refused messages fail the lab.)"""
        self.desired.refresh()  # the start may have found links down
        status = self.controller.status()
        if status.errors:
            raise LabError(f"a switch refused the controller's flows: {status.errors[0]}; "
                           f"controller log: {self.controller.tail()}")
        progress(f"{len(status.synced)}/{len(self.desired.dpids)} confirmed by barrier replies")
        return self.desired.dpids <= set(status.synced)

    def _flows_problem(self) -> str:
        """Which datapaths never confirmed, whether the controller has them, and the last thing its log
        says of each (a stall at k=8 is otherwise hard to tell from a switch that never connected)."""
        missing = sorted(self.desired.dpids - set(self.controller.status().synced))
        names = {t.dpid: name for name, t in self.compiled.items() if t.dpid in missing}
        try:
            connected = set(self.controller.request("GET", path="/datapaths", timeout=5)["connected"])
        except LabError:
            connected = set()
        said = [f"{names[d]} ({'connected' if d in connected else 'not connected'}; last logged: "
                f"{self.controller.last_said(f'{d:016x}')})" for d in missing[:3]]
        return (f"{len(names)} datapaths never confirmed their flows: {'; '.join(said)}; controller log: "
                f"{self.controller.tail()}")

    def stop(self) -> None:
        """Take everything down; Ctrl-C is ignored meanwhile so teardown itself is never cut short (on the
        main thread, the only one Ctrl-C reaches and the only one that may set its handler)."""
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            with self.phases.phase("teardown", "tearing the lab down") as progress:
                net = self.nodes.net
                if net is not None:
                    progress(f"{unplug(self.id, net)} processes in the lab's namespaces ended")
                daemons.stop_all(self.id)  # any left outside those namespaces, and the daemons' directories
                if net is not None:
                    end_shells(net)
                self.controller.stop()
                mgmt.stop(self.id)
                leftovers = clean.sweep(self.id)
            if leftovers:
                self.phases.out.write(f"overlaylab: teardown also had to remove {leftovers}\n")
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)


def _vswitch_up(nodes: Nodes, server: Server, connected: set[int]) -> bool:
    return vswitch_dpid(server) in connected and nodes.vswitchd(server) is not None


@contextmanager
def claimed(name: str | None) -> Iterator[LabId]:
    """A lab's name and slot, its folder and its lock, for as long as the block runs; then whatever of it
    is left is swept (nothing, after a teardown that worked) and its folder removed, its name and slot free
    again. Should the sweep fail, the folder stays, and `overlaylab clean NAME` finds what is left."""
    lab, lock = registry.claim(check_name(name or default_name()))
    try:
        yield lab
    finally:
        try:
            clean.sweep(lab)
            clean.remove(lab.rundir)
        finally:
            lock.release()


@contextmanager
def running_lab(scenario: Scenario, phases: Phases, command: str, name: str | None = None,
                hosts: list[str] | None = None) -> Iterator[RunningLab]:
    """Bring a lab up (named `name`, by default after the user; over machines `hosts`, if given), hand it
    over, and take it down again whatever happens."""
    preflight(command)
    placement = machines.placed(scenario, hosts) if hosts else None
    share = share_here(scenario, placement, all(map(simulated, placement.hosts))) if placement else None
    cost = admit(scenario, phases.out, share)
    setLogLevel("output")
    with claimed(name) as lab_id:
        lab = RunningLab(scenario, phases, lab_id, cost.memory_mib, placement)
        try:
            lab.start()
            yield lab
        finally:
            lab.stop()
