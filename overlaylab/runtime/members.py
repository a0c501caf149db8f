"""VMs and tenants come, go and move while the lab runs, all or nothing: each step registers its undo, the
controller takes the new desired state (make before break) and answers once every switch confirmed it."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from typing import Any

from overlaylab.errors import LabError
from overlaylab.runtime import links, vswitches
from overlaylab.runtime.controlproc import ControllerProcess
from overlaylab.runtime.desired import Desired
from overlaylab.runtime.network import kill_namespace_processes, refused_as_lab_errors
from overlaylab.runtime.nodes import Nodes
from overlaylab.runtime.remote import machine_of, sweep
from overlaylab.runtime.vswitches import server_intf
from overlaylab.system import wait_until
from probes.netns import announce, namespace_id
from probes.packets import Host
from topologies import changes
from topologies.fattree import Server
from topologies.names import vswitch_dpid
from topologies.scenario import VM, Scenario, bind, carried_ports, document, ports_of
from vswitch import kernel
from vswitch.nodes import VirtualMachine, addressing
from vswitch.ovs import plug_script, unplug_script

CONNECT_TIMEOUT = 15.0


@contextmanager
def all_or_nothing(unchanged: str) -> Iterator[ExitStack]:
    """A change in steps, each registering its own undo: a step or the controller failing undoes every
    step done, in reverse, and the error says so in the same line."""
    with ExitStack() as undo:
        try:
            yield undo
        except LabError as exc:
            undo.close()
            raise LabError(f"{exc}; nothing changed: {unchanged}") from None
        undo.pop_all()


class Members:
    """The changes of a running lab's tenants and VMs. Each returns the controller's answer: the flow
    changes per layer and per datapath, and how long every switch took to confirm them."""

    def __init__(self, desired: Desired, nodes: Nodes, controller: ControllerProcess) -> None:
        self.desired, self.nodes, self.controller = desired, nodes, controller

    def apply(self, new: Scenario) -> dict[str, Any]:
        """Make `new` the desired state; VMs that stay keep their ports. A refusal leaves it as it was."""
        with all_or_nothing("the desired state is as it was"):
            return self._push(self._bound(new))

    def _bound(self, new: Scenario) -> Scenario:
        """`new` with its VMs' ports: a VM that stays keeps its own, a new one takes its server's lowest free."""
        return bind(new, carried_ports(self.desired.scenario, new))

    def _push(self, bound: Scenario) -> dict[str, Any]:
        """Ask the controller for `bound`; whatever it answers, read back what it now wants."""
        before = self.desired.scenario
        try:
            answer = self.controller.request("PUT", {"scenario": document(bound), "ports": ports_of(bound)})
        finally:
            with suppress(LabError):  # a controller that does not answer: the lab keeps what it last read
                self.desired.refresh()
        self.desired.remember()
        if self.nodes.net is not None:
            vswitches.start_kernel_vteps(self.nodes.net, self.desired.scenario, before)
        return answer

    def remove_vm(self, label: str) -> dict[str, Any]:
        """The VM's flows go everywhere, then the VM itself (its processes and its port)."""
        vm = changes.vm_named(self.desired.scenario, label)
        with all_or_nothing(f"{label} is still on {vm.server.name}"):
            answer = self._push(self._bound(changes.remove_vm(self.desired.scenario, label)))
        self._unplug(vm)
        return answer

    def remove_tenant(self, name: str) -> dict[str, Any]:
        """The tenant's flows go everywhere, then its VMs and bare-metal VTEPs."""
        gone = [vm for vm in self.desired.scenario.vms if vm.tenant == name]
        with all_or_nothing(f"tenant {name} is still there"):
            answer = self._push(self._bound(changes.remove_tenant(self.desired.scenario, name)))
        for vm in gone:
            self._unplug(vm)
        return answer

    def migrate(self, label: str, server: str) -> dict[str, Any]:
        """Move a running VM, measured: a peer of its tenant streams probes to it every 5 ms meanwhile. The
        answer gains `from`, `to`, `moved_in` (seconds, the whole move) and `stream` (sent, lost, longest
        gap; None without a peer, and when the VM is made again on another machine: the stream's socket would
        stay in the old one). In a lab over several machines an end's socket is held by its machine's agent."""
        vm = changes.vm_named(self.desired.scenario, label)
        within = self.nodes.machine(vm.server.name) == self.nodes.machine(server)
        move = self._migrate if within else self._copy
        peer = next((p for p in self.desired.scenario.vms if p.tenant == vm.tenant and p is not vm
                     and not p.bare_metal and p.speaks_with(vm)), None) if within else None
        start = time.monotonic()
        moved = {"from": vm.server.name, "to": server}
        if peer is None:
            return {**move(vm, server), **moved, "moved_in": round(time.monotonic() - start, 3), "stream": None}
        with self.nodes.stream(peer, vm) as stream:
            answer = move(vm, server)
        seconds = round(time.monotonic() - start, 3)
        assert stream.result is not None
        return {**answer, **moved, "moved_in": seconds, "peer": peer.label,
                "stream": {"sent": stream.result.sent, "lost": stream.result.lost,
                           "longest_gap": round(stream.result.longest_gap, 3)}}

    def _migrate(self, vm: VM, server: str) -> dict[str, Any]:
        """The VM keeps its namespace, processes, IP and MAC; its veth end leaves its server's virtual
        switch and joins the destination's (started if it had none); then the new desired state is
        pushed (make before break: 0 underlay changes) and the VM announces itself. All or nothing:
        should any step fail, the veth goes back where it was."""
        bound = self._bound(changes.migrate(self.desired.scenario, vm.label, server))
        moved = next(v for v in bound.vms if v.label == vm.label)
        source, target = self.nodes.node(vm.server.name), self.nodes.node(moved.server.name)
        here, there = server_intf(vm), server_intf(moved)
        with all_or_nothing(f"{vm.label} is still on {vm.server.name}") as undo:
            self._leave_br_int(vm)
            undo.callback(self._join_br_int, vm)
            move_port(here, source, target, there)
            undo.callback(move_port, there, target, source, here)
            self.nodes.rehome(source.name, target.name, here, there, moved.port)
            undo.callback(self.nodes.rehome, target.name, source.name, there, here, vm.port)
            self._plug(moved, bound)
            undo.callback(self._leave_br_int, moved)
            answer = self._push(bound)
        node = self.nodes.vm(vm.label)
        if vm.ip and machine_of(node) is None:  # peers learn nothing from it (the virtual switches answer for
            # it), but a hypervisor sends it
            announce(node.pid, node.defaultIntf().name, Host(vm.mac, vm.ip.ip))
        return answer

    def add_vm(self, label: str, ip: str, server: str, mac: str | None = None,
               ip6: str | None = None) -> dict[str, Any]:
        """A new VM (its own namespace) on a port of the server's virtual switch (started if the server had
        none), then the new desired state. `mac`: derived if not given; `ip6`: dual-stack."""
        bound = self._bound(changes.add_vm(self.desired.scenario, label, ip, server, mac, ip6))
        with all_or_nothing(f"{label} was not added") as undo:
            self._new_vm(next(v for v in bound.vms if v.label == label), bound, undo)
            return self._push(bound)

    def _copy(self, vm: VM, server: str) -> dict[str, Any]:
        """A VM to a server on another machine: a namespace cannot cross machines, so the VM is made again there,
        with its MAC and addresses, and pushed there make before break; then the old one goes. What ran in it
        does not follow (a VM's memory would, in a real migration)."""
        bound = self._bound(changes.migrate(self.desired.scenario, vm.label, server))
        old = self.nodes.vm(vm.label)
        with all_or_nothing(f"{vm.label} is still on {vm.server.name}") as undo:
            self._new_vm(next(v for v in bound.vms if v.label == vm.label), bound, undo)
            answer = self._push(bound)
        self._retire(vm, old)
        return answer

    def _new_vm(self, vm: VM, bound: Scenario, undo: ExitStack) -> None:
        """A VM's own namespace on its server's machine, cabled to a port of the server's virtual switch (started
        if the server had none); each step's undo registered."""
        net = self.nodes.net
        assert net is not None
        with refused_as_lab_errors():
            node = net.addHost(self.nodes.new_vm_node(), cls=VirtualMachine, mac=vm.mac, mtu=vm.encap.inner_mtu,
                               **addressing(vm), **_on_machine(self.nodes.machine(vm.server.name)))
            undo.callback(net.delHost, node)
            net.addLink(node, net[vm.server.name], port1=0, port2=vm.port)
            node.configDefault()
        named = self.nodes.vm_nodes
        if vm.label in named:  # a VM made again on another machine: the old node is it until the move is done
            undo.callback(named.__setitem__, vm.label, named[vm.label])
        else:
            undo.callback(named.pop, vm.label)
        named[vm.label] = node.name
        self._plug(vm, bound)
        undo.callback(self._leave_br_int, vm)

    def _leave_br_int(self, vm: VM) -> None:
        """The VM's port leaves its server's virtual switch (moving away, or removed)."""
        self._guarded(vm, unplug_script(self.nodes.ovs(vm.server), server_intf(vm)))

    def _join_br_int(self, vm: VM) -> None:
        """The VM's port, on its server, joins that server's running virtual switch."""
        self._guarded(vm, plug_script(self.nodes.ovs(vm.server), server_intf(vm), vm.port))

    def _guarded(self, vm: VM, script: str) -> None:
        assert self.nodes.net is not None
        vswitches.run_guarded(self.nodes.net, {vm.server.name: (script, self.nodes.ovs(vm.server))})

    def _plug(self, vm: VM, bound: Scenario) -> None:
        """The VM's veth end, already in its server's namespace, joins that server's br-int; a server with
        no virtual switch yet gets one (with the port), and the controller must have it before a change."""
        if vm.server.name in self.nodes.hosting:
            self._join_br_int(vm)
            return
        assert self.nodes.net is not None
        vswitches.start(self.nodes.lab, self.nodes.net, bound, self.controller.port, only=vm.server)
        self.nodes.vswitch_started(vm.server)
        wait_until(lambda: self._connected(vm.server), CONNECT_TIMEOUT,
                   f"{vm.server.name}'s new virtual switch to connect to the controller")

    def _connected(self, server: Server) -> bool:
        """Has the server's virtual switch connected to the controller? (Asked of the controller: OVS
        writes its connection status into its database only every few seconds.)"""
        return vswitch_dpid(server) in self.controller.request("GET", path="/datapaths")["connected"]

    def _unplug(self, vm: VM) -> None:
        """A removed member leaves: a bare-metal server's VXLAN device goes, a VM retires."""
        node = self.nodes.vm(vm.label)
        del self.nodes.vm_nodes[vm.label]
        if vm.bare_metal:
            _stop_vtep(node, vm)
            return
        self._retire(vm, node)

    def _retire(self, vm: VM, node: Any) -> None:
        """A VM's node goes: its processes end, its port leaves its server's virtual switch, its namespace is gone."""
        host = machine_of(node)
        if host is not None:
            sweep(host, self.nodes.lab.name, [node.pid])
        elif namespace := namespace_id(node.pid):
            kill_namespace_processes({namespace}, spare={node.pid})
        self._leave_br_int(vm)
        assert self.nodes.net is not None
        self.nodes.net.delHost(node)


def _stop_vtep(node: Any, member: VM) -> None:
    """A bare-metal member's VXLAN device goes: by netlink here, or in its server's namespace on its machine."""
    if machine_of(node) is None:
        kernel.stop_vtep(node.pid, member)
    else:
        vswitches.in_namespace(node, f"ip link del {kernel.device(member)}\n")


def _on_machine(machine: str | None) -> dict[str, str]:
    """Mininet's parameters that put a new node on `machine` (Cluster Edition's `server`; None: this one)."""
    return {"server": machine} if machine is not None else {}


def move_port(name: str, source: Any, target: Any, new_name: str) -> None:
    """A VM's veth end from server `source`'s namespace into `target`'s, renamed there: by netlink on this
    machine, through the servers' own shells on another (one machine: a veth cannot cross to another)."""
    if machine_of(source) is None:
        links.move(name, source.pid, target.pid, new_name)
        return
    said = source.cmd(f"ip link set {name} netns {target.pid}") + target.cmd(
        f"ip link set {name} name {new_name} && ip link set {new_name} up")
    if said.strip():
        raise LabError(f"cannot move {name} from {source.name} to {target.name}: {said.strip()}")
