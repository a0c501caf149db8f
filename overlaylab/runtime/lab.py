"""A lab's life: preflight, controller, network, virtual switches, flows confirmed on every datapath,
and a teardown that leaves nothing behind."""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import replace
from functools import partial
from typing import IO, Any

from mininet.log import setLogLevel
from mininet.net import Mininet

from controller.codec import tables_of
from controller.flows import Tables
from controller.overlay import virtualized
from overlaylab.errors import LabError
from overlaylab.runtime import clean, daemons, links, mgmt, pods, tables, vswitches
from overlaylab.runtime.capacity import require_capacity
from overlaylab.runtime.controlproc import ControllerProcess
from overlaylab.runtime.network import (
    adopt_links,
    build_network,
    delete_switches,
    end_shells,
    host_namespaces,
    kill_namespace_processes,
    unplug,
    vm_node,
)
from overlaylab.runtime.preflight import preflight
from overlaylab.runtime.state import RUN_DIR, LabLock, LabState, forget_state
from overlaylab.runtime.vswitches import server_intf, server_ovs
from overlaylab.system import Stopwatch, beside, pid_alive, wait_until
from probes.endpoint import Endpoint
from probes.netns import announce, namespace_id
from probes.packets import Host
from probes.reach import Station
from probes.session import Progress
from probes.stream import End, Stream
from topologies import changes
from topologies.fattree import Server, mac_of
from topologies.names import PHY, UPLINK_PORT, node_of, uplink, vswitch_dpid, vswitch_name
from topologies.scenario import VM, Scenario, bind, carried_ports, document, parse, ports_of, save
from vswitch import kernel
from vswitch.nodes import VirtualMachine
from vswitch.ovs import plug_script, unplug_script

FLOWS_TIMEOUT = 60.0
CONNECT_TIMEOUT = 15.0
PROGRESS_EVERY = 0.2  # seconds between updates of a phase line on a terminal


class Phases(Stopwatch):
    """Times each phase (for the report's `timings`) and tells the user what is happening: one line
    per phase, kept up to date while it runs on a terminal, written once when it ends otherwise."""

    def __init__(self, out: IO[str] = sys.stderr) -> None:
        super().__init__()
        self.out = out
        self.live = out.isatty()

    @contextmanager
    def phase(self, key: str, message: str) -> Iterator[Progress]:
        """Time the block; it may call the yielded function with a few words on how far it is."""
        head = f"overlaylab: {message} ..."
        latest, shown = [""], [0.0]

        def progress(text: str) -> None:
            latest[0] = text
            if self.live and time.monotonic() - shown[0] > PROGRESS_EVERY:
                self.out.write(f"\r\033[K{head} {text}")
                self.out.flush()
                shown[0] = time.monotonic()

        self.out.write(head)
        self.out.flush()
        try:
            with self.timed(key):
                yield progress
        except BaseException:
            self.out.write(" failed\n")
            raise
        restart = f"\r\033[K{head}" if self.live else ""
        done = f"{latest[0]}, " if latest[0] else ""
        self.out.write(f"{restart} {done}{self.timings[key]:.1f} s\n")


class Lab:
    """A running lab; made by `running_lab`, which guarantees its teardown."""

    def __init__(self, scenario: Scenario, phases: Phases) -> None:
        self.phases = phases
        fabric = scenario.fabric
        self.scenario = scenario  # the desired state, as the controller (its owner) last said it
        self.generation = -1  # the controller's count of its changes, when the lab last read them
        self.underlay: dict[str, Tables] = {}  # what every underlay switch must hold, by name (from the controller)
        self.compiled: dict[str, Tables] = {}  # ... and every datapath
        self.dpids: set[int] = set()
        self.down: set[frozenset[str]] = set()  # links between underlay switches the lab took down
        self.cut: set[frozenset[str]] = set()  # every link the lab took down (servers' uplinks too)
        self.known_down: list[str] = []  # the links the controller knows are down (`c0-p0a0`)
        self.hosting = {s.name for s in virtualized(scenario)}  # servers whose virtual switch runs
        self.targets = {s.name: home.bridge(s.name) if (home := pods.home(s)) else s.name for s in fabric.switches}
        self.vm_nodes = {vm.label: vm.server.name if vm.bare_metal else vm_node(i)  # bare metal: the server itself
                         for i, vm in enumerate(scenario.vms)}
        self._vm_count = len(scenario.vms)  # VM node names are never reused
        if scenario.path is None:
            raise LabError("a lab is built from a scenario file (topologies.scenario.load), so that its "
                           "controller reads the very same one")
        self.state = LabState(pid=os.getpid(), scenario=str(scenario.path),
                              nodes=[*(s.name for s in fabric.switches), *(s.name for s in fabric.servers)])
        self.controller = ControllerProcess(str(mgmt.controller_ip()), self.state.scenario, fabric.k,
                                            RUN_DIR / "controller.log", str(scenario.mode))
        self.net: Mininet | None = None

    def refresh(self) -> None:
        """Read the desired state back from its owner, the controller: the scenario, the links it knows are
        down and, when it changed, the tables every datapath must hold. Called after every change whatever
        its answer, after a failure and after a restart: the lab keeps no compiled copy of its own."""
        for _ in range(3):  # a change between the two questions: ask again
            doc = self.controller.request("GET")
            self.known_down = doc["down"]
            if doc["generation"] == self.generation:
                return
            wanted = self.controller.request("GET", path="/tables")
            if wanted["generation"] == doc["generation"]:
                self._take(doc, wanted)
                return
        raise LabError("the controller's desired state kept changing while the lab read it; is another "
                       "client changing it?")

    def _take(self, doc: dict[str, Any], wanted: dict[str, Any]) -> None:
        fresh = parse(doc["scenario"], "the controller's desired state", mode=self.scenario.mode)
        self.scenario = replace(bind(fresh, doc["ports"]), path=self.scenario.path)
        self.underlay = {t.name: t for t in map(tables_of, wanted["underlay"])}
        self.compiled = {**self.underlay, **{t.name: t for t in map(tables_of, wanted["overlay"])}}
        self.dpids = {t.dpid for t in self.compiled.values()}
        self.generation = doc["generation"]

    def _vswitch_started(self, server: Server) -> None:
        self.hosting.add(server.name)
        self.targets[vswitch_name(server)] = server_ovs(server).br_int

    def server_problems(self) -> dict[str, str]:
        """Servers that cannot take part, and why: their uplink is down, or their virtual switch is not
        running or not connected to the controller. (os-ken on native threads does not notice a switch
        that died, so a dead ovs-vswitchd is found by its pid.)"""
        connected = set(self.controller.request("GET", path="/datapaths")["connected"])
        hosting = {vm.server for vm in self.scenario.vms if not vm.bare_metal}
        problems = {}
        for server in self.scenario.fabric.servers:
            edge = self.scenario.fabric.peer(server.name, UPLINK_PORT)
            if edge and frozenset((server.name, edge[0])) in self.cut:
                problems[server.name] = f"{server.name}'s uplink to {edge[0]} is down"
            elif server in hosting and not self._vswitch_up(server, connected):
                problems[server.name] = f"{server.name}'s virtual switch is not connected"
        return problems

    def _vswitch_up(self, server: Server, connected: set[int]) -> bool:
        pidfile = server_ovs(server).pidfile("ovs-vswitchd")
        alive = pidfile.exists() and pid_alive(int(pidfile.read_text() or 0))
        return alive and vswitch_dpid(server) in connected

    def underlay_problems(self) -> list[str]:
        """How the underlay switches differ from what they should hold now (empty: repaired)."""
        return tables.mismatches(self.underlay, self.targets)

    def apply(self, new: Scenario) -> dict[str, Any]:
        """Make `new` the desired state: VMs that stay keep their ports, the controller validates it again,
        pushes only the difference (make before break) and answers once every switch confirmed. Returns
        its answer: the flow changes per layer and per datapath, and how long they took. All or nothing:
        a refusal leaves the desired state as it was, and says so."""
        with self._all_or_nothing("the desired state is as it was"):
            return self._push(self._bound(new))

    def _bound(self, new: Scenario) -> Scenario:
        """`new` with its VMs' ports: a VM that stays keeps its own, a new one takes its server's lowest free."""
        return bind(new, carried_ports(self.scenario, new))

    def _push(self, bound: Scenario) -> dict[str, Any]:
        """Ask the controller for `bound`; whatever it answers, read back what it now wants."""
        before = self.scenario
        try:
            answer = self.controller.request("PUT", {"scenario": document(bound), "ports": ports_of(bound)})
        finally:
            with suppress(LabError):  # a controller that does not answer: the lab keeps what it last read
                self.refresh()
        self._remember()
        if self.net is not None:
            vswitches.start_kernel_vteps(self.net, self.scenario, before)
        return answer

    @contextmanager
    def _all_or_nothing(self, unchanged: str) -> Iterator[ExitStack]:
        """A change in steps, each registering its own undo: a step or the controller failing undoes
        every step done, in reverse, and the error says so in the same line."""
        with ExitStack() as undo:
            try:
                yield undo
            except LabError as exc:
                undo.close()
                raise LabError(f"{exc}; nothing changed: {unchanged}") from None
            undo.pop_all()

    def _remember(self) -> None:
        """The current desired state on disk, so a restarted controller starts from it, not from the file."""
        desired, ports = RUN_DIR / "desired.yaml", RUN_DIR / "ports.json"
        save(self.scenario, desired)
        ports.write_text(json.dumps(ports_of(self.scenario)))
        self.controller.scenario, self.controller.ports = str(desired), str(ports)

    def remove_vm(self, label: str) -> dict[str, Any]:
        """`vm remove`: the VM's flows go everywhere, then the VM itself (its processes and its port)."""
        vm = changes.vm_named(self.scenario, label)
        with self._all_or_nothing(f"{label} is still on {vm.server.name}"):
            answer = self._push(self._bound(changes.remove_vm(self.scenario, label)))
        self._unplug(vm)
        return answer

    def remove_tenant(self, name: str) -> dict[str, Any]:
        """`tenant remove`: the tenant's flows go everywhere, then its VMs and bare-metal VTEPs."""
        gone = [vm for vm in self.scenario.vms if vm.tenant == name]
        with self._all_or_nothing(f"tenant {name} is still there"):
            answer = self._push(self._bound(changes.remove_tenant(self.scenario, name)))
        for vm in gone:
            self._unplug(vm)
        return answer

    def migrate(self, label: str, server: str) -> dict[str, Any]:
        """`migrate tenant/vm SERVER`, measured: a peer of the VM's tenant streams probes to it every 5 ms
        meanwhile. Returns the controller's answer (flow changes per layer and datapath) with `from`,
        `to`, `moved_in` (seconds, the whole move) and `stream` (sent, lost, longest gap; None without a peer)."""
        vm = changes.vm_named(self.scenario, label)
        peer = next((p for p in self.scenario.vms if p.tenant == vm.tenant and p is not vm and not p.bare_metal), None)
        start = time.monotonic()
        if peer is None:
            return {**self._migrate(vm, server), "from": vm.server.name, "to": server,
                    "moved_in": round(time.monotonic() - start, 3), "stream": None}
        with Stream(self.stream_end(peer), self.stream_end(vm)) as stream:
            answer = self._migrate(vm, server)
        moved = round(time.monotonic() - start, 3)
        assert stream.result is not None
        return {**answer, "from": vm.server.name, "to": server, "moved_in": moved, "peer": peer.label,
                "stream": {"sent": stream.result.sent, "lost": stream.result.lost,
                           "longest_gap": round(stream.result.longest_gap, 3)}}

    def stream_end(self, vm: VM) -> End:
        """Where a probe stream to or from the VM starts or ends (probes.stream)."""
        node = self.vm(vm.label)
        return End(Host(vm.mac, vm.ip.ip), node.pid, node.defaultIntf().name)

    def _migrate(self, vm: VM, server: str) -> dict[str, Any]:
        """The VM keeps its namespace, processes, IP and MAC; its veth end leaves its server's virtual
        switch and joins the destination's (started if it had none); then the new desired state is
        pushed (make before break: 0 underlay changes) and the VM announces itself. All or nothing:
        should any step fail, the veth goes back where it was."""
        assert self.net is not None
        bound = self._bound(changes.migrate(self.scenario, vm.label, server))
        moved = next(v for v in bound.vms if v.label == vm.label)
        source, target = self.net[vm.server.name], self.net[moved.server.name]
        here, there = server_intf(vm), server_intf(moved)
        with self._all_or_nothing(f"{vm.label} is still on {vm.server.name}") as undo:
            self._leave_br_int(vm)
            undo.callback(self._join_br_int, vm)
            links.move(here, source.pid, target.pid, there)
            undo.callback(links.move, there, target.pid, source.pid, here)
            _rehome(source, target, here, there, moved.port)
            undo.callback(_rehome, target, source, there, here, vm.port)
            self._plug(moved, bound)
            undo.callback(self._leave_br_int, moved)
            answer = self._push(bound)
        node = self.vm(vm.label)
        announce(node.pid, node.defaultIntf().name, Host(vm.mac, vm.ip.ip))
        return answer

    def _leave_br_int(self, vm: VM) -> None:
        """The VM's port leaves its server's virtual switch (moving away, or removed)."""
        self._guarded(vm, unplug_script(server_ovs(vm.server), server_intf(vm)))

    def _join_br_int(self, vm: VM) -> None:
        """The VM's port, on its server, joins that server's running virtual switch."""
        self._guarded(vm, plug_script(server_ovs(vm.server), server_intf(vm), vm.port))

    def _guarded(self, vm: VM, script: str) -> None:
        assert self.net is not None
        vswitches.run_guarded(self.net, {vm.server.name: (script, server_ovs(vm.server))})

    def add_vm(self, label: str, ip: str, server: str) -> dict[str, Any]:
        """`vm add tenant/vm IP/LEN SERVER`: a new VM (its own namespace) on a port of the server's virtual
        switch (started if the server had none), then the new desired state."""
        assert self.net is not None
        bound = self._bound(changes.add_vm(self.scenario, label, ip, server))
        vm = next(v for v in bound.vms if v.label == label)
        name = vm_node(self._vm_count)
        self._vm_count += 1
        with self._all_or_nothing(f"{label} was not added") as undo:
            node = self.net.addHost(name, cls=VirtualMachine, ip=str(vm.ip), mac=vm.mac, mtu=vm.encap.inner_mtu)
            undo.callback(self.net.delHost, node)
            self.net.addLink(node, self.net[server], port1=0, port2=vm.port)
            node.configDefault()
            self.vm_nodes[label] = name
            undo.callback(self.vm_nodes.pop, label)
            self._plug(vm, bound)
            undo.callback(self._leave_br_int, vm)
            return self._push(bound)

    def _plug(self, vm: VM, bound: Scenario) -> None:
        """The VM's veth end, already in its server's namespace, joins that server's br-int; a server with
        no virtual switch yet gets one (with the port), and the controller must have it before a change."""
        assert self.net is not None
        if vm.server.name in self.hosting:
            self._join_br_int(vm)
            return
        vswitches.start(self.net, bound, self.controller.port, only=vm.server)
        self._vswitch_started(vm.server)
        wait_until(lambda: self._connected(vm.server), CONNECT_TIMEOUT,
                   f"{vm.server.name}'s new virtual switch to connect to the controller")

    def _connected(self, server: Server) -> bool:
        """Has the server's virtual switch connected to the controller? (Asked of the controller: OVS
        writes its connection status into its database only every few seconds.)"""
        return vswitch_dpid(server) in self.controller.request("GET", path="/datapaths")["connected"]

    def _unplug(self, vm: VM) -> None:
        """A removed member leaves: a bare-metal server's VXLAN device goes; a VM's processes end, its port
        leaves its server's virtual switch and its namespace is gone."""
        assert self.net is not None
        node = self.vm(vm.label)
        del self.vm_nodes[vm.label]
        if vm.bare_metal:
            kernel.stop_vtep(node.pid, vm)
            return
        namespace = namespace_id(node.pid)
        if namespace:
            kill_namespace_processes({namespace}, spare={node.pid})
        self._leave_br_int(vm)
        self.net.delHost(node)

    def start(self) -> None:
        fabric = self.scenario.fabric
        self.state.save()
        with self.phases.phase("controller", "starting the controller (os-ken) on the management network"):
            mgmt.create()
            self._start_controller()
        with self.phases.phase("network", f"building a k={fabric.k} fat-tree: {len(fabric.switches)} switches "
                                          f"({fabric.k} pods, each its own Open vSwitch), "
                                          f"{len(fabric.servers)} servers, "
                                          f"{sum(not vm.bare_metal for vm in self.scenario.vms)} VMs") as progress:
            self.net = build_network(self.scenario, str(mgmt.controller_ip()), self.controller.port, progress)
            self.net.build()
            adopt_links(self.net)
            self.state.node_pids = {node.name: node.pid for node in self.net.values()}
            self.state.namespaces = sorted(host_namespaces(self.net))
            self.state.save()
            pods.start(self.net, fabric)
            self.net.start()
        servers = virtualized(self.scenario)
        bare_metal = [vm for vm in self.scenario.vms if vm.bare_metal]
        if servers or bare_metal:
            with self.phases.phase("vswitches", f"starting {len(servers)} per-server virtual switches"
                                                f" and {len(bare_metal)} kernel VTEPs") as progress:
                vswitches.start(self.net, self.scenario, self.controller.port, progress)
                for server in servers:
                    self._vswitch_started(server)
                vswitches.start_kernel_vteps(self.net, self.scenario)
        self._wait_for_flows()

    def _start_controller(self) -> None:
        self.controller.start()
        self.state.controller_pid = self.controller.pid
        self.state.save()
        self.generation = -1  # a new controller counts its changes afresh
        self.refresh()

    def _wait_for_flows(self) -> None:
        waiting = f"waiting until all {len(self.compiled)} datapaths hold their flows"
        with self.phases.phase("flows", waiting) as progress:
            wait_until(lambda: self._in_sync(progress), FLOWS_TIMEOUT, "the controller's flows", self._flows_problem)

    def kill_controller(self) -> None:
        """Crash the controller (SIGKILL). The switches keep their flows and keep forwarding (fail mode
        secure: no fallback to learning) until it is back."""
        self.controller.kill()

    def start_controller(self) -> dict[str, int]:
        """Start the controller again on its own port; every switch reconnects and is reconciled. Returns
        the flow and group mods each datapath needed (0 for all when nothing changed meanwhile)."""
        self._start_controller()
        self._wait_for_flows()
        status = self.controller.status()
        return {name: status.changes[dpid] for dpid, name in status.synced.items()}

    def _in_sync(self, progress: Progress) -> bool:
        """Has every datapath answered the barrier after its push? (Refused messages fail the lab.)"""
        self.refresh()  # the start may have found links down
        status = self.controller.status()
        if status.errors:
            raise LabError(f"a switch refused the controller's flows: {status.errors[0]}; "
                           f"controller log: {self.controller.tail()}")
        progress(f"{len(status.synced)}/{len(self.dpids)} confirmed by barrier replies")
        return self.dpids <= set(status.synced)

    def _flows_problem(self) -> str:
        """Which datapaths never confirmed, whether the controller has them, and the last thing its log
        says of each (a stall at k=8 is otherwise hard to tell from a switch that never connected)."""
        missing = sorted(self.dpids - set(self.controller.status().synced))
        names = {t.dpid: name for name, t in self.compiled.items() if t.dpid in missing}
        try:
            connected = set(self.controller.request("GET", path="/datapaths", timeout=5)["connected"])
        except LabError:
            connected = set()
        said = [f"{names[d]} ({'connected' if d in connected else 'not connected'}; last logged: "
                f"{self.controller.last_said(f'{d:016x}')})" for d in missing[:3]]
        return (f"{len(names)} datapaths never confirmed their flows: {'; '.join(said)}; controller log: "
                f"{self.controller.tail()}")

    def vm(self, label: str) -> Any:
        """The Mininet node of VM `tenant/vm`."""
        assert self.net is not None
        return self.net[self.vm_nodes[label]]

    def endpoints(self) -> list[Endpoint]:
        """Every VM as the probes address it."""
        return [self.endpoint(vm) for vm in self.scenario.vms]

    def endpoint(self, vm: VM) -> Endpoint:
        """One VM as the probes address it: where to send from and listen at, inside its namespace."""
        return Endpoint(vm.label, vm.tenant, vm.vni, vm.encap, vm.mac, vm.ip.ip, vm.server.ip, self.vm(vm.label).pid,
                        kernel.device(vm) if vm.bare_metal else self.vm(vm.label).defaultIntf().name, vm.vtep)

    def port_pid(self, port: str) -> int:
        """A process in the namespace where an underlay switch port (`p0e0-eth1`) lives: the machine's
        for a core's, the pod's for an edge or aggregation switch's."""
        assert self.net is not None
        return int(self.net[node_of(port)].pid)

    def stations(self) -> list[Station]:
        """Every physical server as the reachability probes address it."""
        assert self.net is not None
        return [Station(s.name, Host(s.mac, s.ip), mac_of(s.gateway), self.net[s.name].pid,
                        PHY if s.name in self.hosting else uplink(s))
                for s in self.scenario.fabric.servers]

    def stop(self) -> None:
        """Take everything down; Ctrl-C is ignored meanwhile so teardown itself is never cut short (on the
        main thread, the only one Ctrl-C reaches and the only one that may set its handler)."""
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            with self.phases.phase("teardown", "tearing the lab down") as progress:
                if self.net is not None:
                    progress(f"{unplug(self.net)} processes in the lab's namespaces ended")
                    bridges_deleted = beside(partial(delete_switches, self.net))
                daemons.stop_all()  # any left outside those namespaces, and the daemons' directories
                if self.net is not None:
                    end_shells(self.net)
                    bridges_deleted()
                self.controller.stop()
                for state in (RUN_DIR / "desired.yaml", RUN_DIR / "ports.json"):
                    state.unlink(missing_ok=True)
                leftovers = clean.sweep(self.state)
                forget_state()
            if leftovers:
                self.phases.out.write(f"overlaylab: teardown also had to remove {leftovers}\n")
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)


def _rehome(source: Any, target: Any, name: str, new_name: str, port: int) -> None:
    """Mininet's record of an interface that moved from node `source` to `target` as `new_name`."""
    intf = source.nameToIntf.pop(name)
    del source.intfs[source.ports.pop(intf)]
    intf.name, intf.node = new_name, target
    target.intfs[port], target.ports[intf], target.nameToIntf[new_name] = intf, port, intf


@contextmanager
def running_lab(scenario: Scenario, phases: Phases, command: str) -> Iterator[Lab]:
    """Bring a lab up, hand it over, and take it down again whatever happens."""
    preflight(command, [s.name for s in scenario.fabric.switches])
    require_capacity(scenario)
    setLogLevel("output")
    lock = LabLock()
    lock.acquire()
    lab = Lab(scenario, phases)
    try:
        lab.start()
        yield lab
    finally:
        try:
            lab.stop()
        finally:
            lock.release()
