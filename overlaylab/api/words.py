"""What names mean on a running lab: tenant/vm names and server names stand for nodes and addresses, and
two of them for a packet to trace. Pure, so every case is unit-tested."""
from __future__ import annotations

from ipaddress import IPv4Address

from controller.flows import Tables
from controller.trace import Path, ip_packet, trace, trace_vm, vm_packet, vm_packet6
from probes.attacks import EVERYONE, MULTICAST
from probes.packets import Host
from topologies.scenario import VM, Scenario

GROUPS = {"broadcast": EVERYONE, "multicast": MULTICAST}  # `trace VM broadcast`: what a group address reaches


class Words:
    """The names one running lab answers to."""

    def __init__(self, scenario: Scenario, vm_nodes: dict[str, str], nodes: set[str]) -> None:
        self.scenario, self.vm_nodes, self.nodes = scenario, vm_nodes, nodes
        self.vms = {vm.label: vm for vm in scenario.vms}

    def rewrite(self, line: str) -> str:
        """`tenant/vm CMD` runs CMD on that VM's node; in a command run on a VM or a server, `tenant/vm`
        and server names stand for their addresses (`pepsi/web ping pepsi/db`, `p0e0h0 ping p3e1h1`:
        a virtualized server's address lives on br-phy, where Mininet's own substitution would not
        find it). Any other line is left as it is."""
        words = line.split()
        if not words or (words[0] not in self.vms and words[0] not in self.nodes):
            return line
        return " ".join([self.vm_nodes.get(words[0], words[0]), *(self.address(w) for w in words[1:])])

    def address(self, word: str) -> str:
        server = self.scenario.fabric.server(word)
        if server:
            return str(server.ip)
        return str(self.vms[word].first_address) if word in self.vms else word

    def trace(self, args: list[str], compiled: dict[str, Tables], underlay: dict[str, Tables],
              v6: bool = False) -> list[Path] | None:
        """`trace SRC DST`: every path (of an IPv6 packet, with `v6`), or None when the arguments name no such
        pair (or, with `v6`, not two dual-stack VMs)."""
        if len(args) != 2:
            return None
        src, dst = args
        if src in self.vms:
            vm = self.vms[src]
            if dst in GROUPS:  # every copy the tenant's virtual switches make
                group = GROUPS[dst]
                return trace_vm(self.scenario, compiled, vm, {**vm_packet(vm, vm), "eth_dst": group.mac,
                                                              "ipv4_dst": group.ip})
            target = self.vm_target(vm, dst)
            if target is None or not vm.speaks_with(target):
                return None
            v6 = v6 or not (vm.ip and target.ip)  # two VMs with IPv6 only in common: an IPv6 packet
            if v6 and not (vm.ip6 and target.ip6):
                return None
            return trace_vm(self.scenario, compiled, vm, vm_packet6(vm, target) if v6 else vm_packet(vm, target))
        fabric = self.scenario.fabric
        server, target_server = fabric.server(src), fabric.server(dst)
        if server is None:
            return None
        try:
            address = target_server.ip if target_server else IPv4Address(dst)
        except ValueError:
            return None
        return trace(fabric, underlay, server.name, ip_packet(server, address))

    def group(self, args: list[str]) -> tuple[VM, Host] | None:
        """`trace` arguments naming a VM and `broadcast` or `multicast`: the datagram can be really sent."""
        if len(args) != 2 or args[0] not in self.vms or args[1] not in GROUPS or not self.vms[args[0]].ip:
            return None
        return self.vms[args[0]], GROUPS[args[1]]

    def vm_pair(self, args: list[str]) -> tuple[VM, VM] | None:
        """`trace` arguments naming two VMs (the second maybe by address): the packet can be really sent."""
        if len(args) != 2 or args[0] not in self.vms:
            return None
        target = self.vm_target(self.vms[args[0]], args[1])
        return (self.vms[args[0]], target) if target else None

    def vm_target(self, src: VM, dst: str) -> VM | None:
        """A VM label, or an address looked up in the source's own tenant (as ARP would)."""
        if dst in self.vms:
            return self.vms[dst]
        return next((vm for vm in self.vms.values() if vm.tenant == src.tenant and dst in map(str, vm.addresses)), None)
