"""What the words typed at the lab CLI mean: tenant/vm names and server names stand for nodes and
addresses, and `trace` arguments for a packet to walk. Pure, so every case is unit-tested."""
from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

from controller.flows import Tables
from controller.trace import Path, ip_packet, trace, trace_vm, vm_packet
from probes.packets import PROTOS
from topologies.scenario import VM, Scenario


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
        return str(self.vms[word].ip.ip) if word in self.vms else word

    def trace(self, args: list[str], compiled: dict[str, Tables], underlay: dict[str, Tables]) -> list[Path] | None:
        """`trace SRC DST`: every path, or None when the arguments name no such pair."""
        if len(args) != 2:
            return None
        src, dst = args
        if src in self.vms:
            vm = self.vms[src]
            target = self.vm_target(vm, dst)
            return trace_vm(self.scenario, compiled, vm, vm_packet(vm, target)) if target else None
        fabric = self.scenario.fabric
        server, target_server = fabric.server(src), fabric.server(dst)
        if server is None:
            return None
        try:
            address = target_server.ip if target_server else IPv4Address(dst)
        except ValueError:
            return None
        return trace(fabric, underlay, server.name, ip_packet(server, address))

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
        return next((vm for vm in self.vms.values() if vm.tenant == src.tenant and str(vm.ip.ip) == dst), None)


def describe_changes(answer: dict[str, Any]) -> str:
    """The controller's answer to a change, as one line: flow changes per layer, then per datapath."""
    changes = answer["changes"]
    where = _datapaths(changes["datapaths"])
    return (f"flow changes: underlay {changes['underlay']}, virtual switches {changes['vswitches']} ({where}); "
            f"confirmed by every switch in {answer['seconds']:.2f} s")


SHOWN_DATAPATHS = 8  # a change at k=8 can touch a hundred virtual switches: name the busiest


def _datapaths(changed: dict[str, int]) -> str:
    """Flow changes per datapath, by name; past SHOWN_DATAPATHS, the busiest and how many more."""
    if len(changed) <= SHOWN_DATAPATHS:
        return ", ".join(f"{name} {n}" for name, n in sorted(changed.items())) or "none"
    busiest = sorted(changed.items(), key=lambda item: (-item[1], item[0]))[:SHOWN_DATAPATHS - 2]
    rest = {name: n for name, n in changed.items() if (name, n) not in busiest}
    return (", ".join(f"{name} {n}" for name, n in sorted(busiest)) +
            f" and {len(rest)} more with {sum(rest.values())} in all")


def describe_move(answer: dict[str, Any]) -> str:
    """A migration's answer as the first half of its line: where, how long, what the peer's stream lost."""
    stream = answer["stream"]
    measured = (f"; peer {answer['peer']} lost {stream['lost']} of {stream['sent']} probes "
                f"(longest gap {stream['longest_gap']:.2f} s)" if stream else "; no peer to measure with")
    return f"moved {answer['from']} -> {answer['to']} in {answer['moved_in']:.2f} s{measured}"


def describe_event(record: dict[str, Any]) -> str:
    """A failure event's record as one line: what the network changed, and what the probe stream saw."""
    changes, stream = record["changes"], record["stream"]
    where = ", ".join(f"{name} {n}" for name, n in sorted(changes["datapaths"].items()) if n) or "no table changed"
    seen = (f"stream {stream['from']} -> {stream['to']}: {stream['lost']} of {stream['sent']} probes lost, "
            f"longest gap {stream['longest_gap']:.2f} s" if stream else "no VMs across pods to stream between")
    return (f"{record['event']}: flow-mods underlay {changes['underlay']}, virtual switches {changes['vswitches']} "
            f"({where}); {seen}; {record['seconds']:.2f} s")


def wire_args(line: str) -> tuple[str, str | None, str]:
    """`wire LINK [--pcap FILE] CMD` as (link, pcap file or None, command)."""
    link, _, rest = line.strip().partition(" ")
    words = rest.split(" ", 2)
    if words[0] == "--pcap" and len(words) == 3:
        return link, words[1], words[2].strip()
    return link, None, rest.strip()


def tenant_add_args(words: list[str]) -> tuple[str, int, str] | None:
    """`tenant add NAME --vni N [--encap E]` as (name, vni, encap), or None when it is not that."""
    if not words or len(words) % 2 == 0:
        return None
    options = dict(zip(words[1::2], words[2::2], strict=True))
    vni = options.get("--vni", "")
    if not set(options) <= {"--vni", "--encap"} or not (vni.isascii() and vni.isdigit()):  # not `²`
        return None
    return words[0], int(vni), options.get("--encap", "vxlan")


def draw_args(words: list[str]) -> tuple[str, list[str]] | None:
    """`draw [FILE] [SRC DST]` as (file, the trace's two ends or none), or None: one or three words
    start with the file."""
    if len(words) not in (0, 1, 2, 3):
        return None
    return (words[0], words[1:]) if len(words) % 2 else (DEFAULT_PICTURE, words)


DEFAULT_PICTURE = "fabric.svg"


def trace_args(words: list[str]) -> tuple[list[str], str]:
    """`trace SRC DST [icmp|udp|tcp]` as (the two ends, the protocol to send: udp unless named)."""
    if len(words) == 3 and words[2] in PROTOS:
        return words[:2], words[2]
    return words, "udp"
