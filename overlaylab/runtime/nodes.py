"""Where each part of a running lab is: the Mininet node of every VM and server, the Open vSwitch bridge
behind every switch name, which servers run a virtual switch, the cables the lab took down; and how the
probes address them."""
from __future__ import annotations

from contextlib import suppress
from typing import Any

from mininet.net import Mininet

from controller.overlay import virtualized
from overlaylab.runtime import pods, tables
from overlaylab.runtime.identity import LabId
from overlaylab.runtime.network import vm_node
from overlaylab.runtime.remote import agent_command, machine_of
from overlaylab.runtime.vswitches import server_ovs
from overlaylab.system import pid_alive
from probes.capture import Capture, Sink
from probes.endpoint import Endpoint
from probes.packets import Host
from probes.reach import Station
from probes.stream import End, Stream
from topologies.fattree import FatTree, Server, mac_of
from topologies.names import PHY, node_of, uplink, vswitch_name
from topologies.placement import Placement
from topologies.scenario import VM, Scenario
from vswitch import kernel
from vswitch.ovs import OvsInstance


class Nodes:
    """The running lab's nodes, by the names the scenario gives them."""

    def __init__(self, scenario: Scenario, lab: LabId, placement: Placement | None = None) -> None:
        self.lab, self.placement = lab, placement  # placement: the machines it spreads over (`--hosts`)
        self.fabric = scenario.fabric
        self.net: Mininet | None = None  # Mininet's network, once built
        self.hosting = {s.name for s in virtualized(scenario)}  # servers whose virtual switch runs
        self.targets = {s.name: self._target(s.name, pods.home(self.fabric, s, placement).instance(lab).bridge(s.name))
                        for s in self.fabric.switches}  # switch name: the bridge ovs-ofctl talks to
        self.vm_nodes = {vm.label: vm.server.name if vm.bare_metal else vm_node(i)  # bare metal: the server
                         for i, vm in enumerate(scenario.vms)}
        self.down: set[frozenset[str]] = set()  # links between underlay switches the lab took down
        self.cut: set[frozenset[str]] = set()  # every link the lab took down (servers' uplinks too)
        self._vm_count = len(scenario.vms)

    def new_vm_node(self) -> str:
        """A name for a new VM's node; names are never reused."""
        self._vm_count += 1
        return vm_node(self._vm_count - 1)

    def vswitch_started(self, server: Server) -> None:
        self.hosting.add(server.name)
        self.targets[vswitch_name(server)] = self._target(server.name, self.ovs(server).br_int)

    def _target(self, node: str, bridge: str) -> str:
        """Where ovs-ofctl finds a bridge of a switch or server: here, or over ssh on its machine."""
        return tables.far(self.placement.machine_of(self.fabric, node), bridge) if self.placement else bridge

    def ovs(self, server: Server) -> OvsInstance:
        """The server's own Open vSwitch, in this lab's run directory."""
        return server_ovs(self.lab, server)

    def node(self, name: str) -> Any:
        """The Mininet node of a server or switch."""
        assert self.net is not None, "the network is not built yet"
        return self.net[name]

    def vswitchd(self, server: Server) -> int | None:
        """The pid of the server's ovs-vswitchd, None if it does not run: read here from its pidfile, or, on another
        machine, asked by the server's own shell there (a pid read here would name some other process)."""
        pidfile, node = self.ovs(server).pidfile("ovs-vswitchd"), self.node(server.name)
        if machine_of(node) is None:
            with suppress(OSError, ValueError):
                pid = int(pidfile.read_text())
                return pid if pid_alive(pid) else None
            return None
        said = node.cmd(f"p=$(cat {pidfile} 2>/dev/null) && kill -0 $p 2>/dev/null && echo $p")
        return int(said) if said.strip().isdigit() else None

    def vm(self, label: str) -> Any:
        """The Mininet node of VM `tenant/vm`."""
        return self.node(self.vm_nodes[label])

    def endpoint(self, vm: VM) -> Endpoint:
        """One VM as the probes address it: where to send from and listen at, inside its namespace."""
        node = self.vm(vm.label)
        return Endpoint(vm.label, vm.tenant, vm.vni, vm.encap, vm.mac, vm.ip.ip if vm.ip else None, vm.server.ip,
                        node.pid, kernel.device(vm) if vm.bare_metal else node.defaultIntf().name, vm.vtep,
                        vm.ip.network if vm.routed and vm.ip else None, vm.gateway_mac if vm.routed else None,
                        vm.ip6.ip if vm.ip6 else None, vm.ip6.network if vm.routed and vm.ip6 else None,
                        machine_of(node))

    def _ends(self, src: VM, dst: VM) -> tuple[End, End]:
        """Where a probe stream from `src` to `dst` starts and ends (probes.stream), its frames addressed as
        `src` would send them (to its gateway, for a peer on another subnet of a routed tenant)."""
        v6 = src.ip is None or dst.ip is None  # IPv6 between two VMs that do not both have IPv4

        def end(vm: VM, mac: str) -> End:
            node = self.vm(vm.label)
            return End(Host(mac, vm.address(v6)), node.pid, node.defaultIntf().name, machine_of(node))
        return end(src, src.mac), end(dst, src.next_hop_mac(dst, v6))

    def stream(self, src: VM, dst: VM, **params: Any) -> Stream:
        """A probe stream from `src` to `dst` (probes.stream), its ends' sockets held by their machines' agents
        when they are on other machines."""
        return Stream(*self._ends(src, dst), launch=agent_command, **params)

    def port_pid(self, port: str) -> int:
        """A process in the namespace where an underlay switch port (`p0e0-eth1`) lives: its switch's
        home's (a pod's, or the core's)."""
        return int(self.node(node_of(port)).pid)

    def tap(self, capture: Capture, port: str, sink: Sink | None = None) -> None:
        """Tap an underlay switch's or a server's port (`p0e0-eth1`) where it is: here, or through the agent of
        its machine."""
        node = self.node(node_of(port))
        capture.tap(port, node.pid, port, sink, machine_of(node))

    def stations(self, fabric: FatTree) -> list[Station]:
        """Every physical server as the reachability probes address it."""
        return [Station(s.name, Host(s.mac, s.ip), mac_of(s.gateway), self.node(s.name).pid,
                        PHY if s.name in self.hosting else uplink(s), machine_of(self.node(s.name)))
                for s in fabric.servers]

    def machines(self) -> dict[str, str]:
        """The machine of every switch and server, in a lab over several (empty: all on this one)."""
        if self.placement is None:
            return {}
        return {name: self.placement.machine_of(self.fabric, name)
                for name in [*(s.name for s in self.fabric.switches), *(s.name for s in self.fabric.servers)]}

    def machine(self, server: str) -> str | None:
        """The machine a server (and its VMs) runs on; None: this one."""
        return self.placement.machine_of(self.fabric, server) if self.placement is not None else None

    def stitch_frames(self) -> dict[str, int]:
        """Frames each cable between two machines has carried so far, both ways, by cable (`p0a0-c0`), from the
        counters of its two VXLAN devices (read in their nodes' namespaces, on their machines)."""
        assert self.net is not None, "the network is not built yet"
        return {f"{link.intf1.node.name}-{link.intf2.node.name}": _sent(link.intf1) + _sent(link.intf2)
                for link in self.net.links if getattr(link, "tunnel", None)}

    def rehome(self, source: str, target: str, name: str, new_name: str, port: int) -> None:
        """Mininet's record of an interface already moved from node `source` to `target` as `new_name`."""
        old, new = self.node(source), self.node(target)
        intf = old.intf(name)
        old.delIntf(intf)
        intf.name, intf.node = new_name, new
        new.addIntf(intf, port, moveIntfFn=lambda *_: None)


def _sent(intf: Any) -> int:
    """Frames a device has sent, as its node's kernel counts them."""
    return int(intf.node.cmd(f"cat /sys/class/net/{intf.name}/statistics/tx_packets").strip() or 0)
