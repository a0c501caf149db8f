"""Exercises where the student stacks encapsulations by hand: pepsi's datagrams to one UDP port go from its
db's server B to its web's server S as MPLS in GRE, the MPLS label being the tenant's ID (the lecture's
"virtual network header") and GRE the underlay's. The check gives both virtual switches an L3 GRE port
(OpenFlow port 104, as the protocol tour does), puts the student's entries in (each line names its server),
sends one datagram from pepsi/db to pepsi/web and one from coke/db to coke/app (on the same servers, with the
same addresses: coke/app owns pepsi/web's), and
judges what B's cable carried and where each arrived."""
from __future__ import annotations

import os

from scapy.contrib.mpls import MPLS
from scapy.layers.l2 import GRE, Ether

from controller.flows import ETH_IP
from overlaylab.classroom.catalog import Exercise, Verdict, lab_of, scenario_of
from overlaylab.classroom.flowkind import entries, refused
from overlaylab.classroom.variant import Variant
from overlaylab.runtime.running import RunningLab
from overlaylab.runtime.vswitches import server_intf
from overlaylab.verify.evidence import captured
from overlaylab.verify.probing import uplink_tap
from topologies.changes import vm_named
from topologies.names import MPLS_PORT
from topologies.scenario import VM, Scenario

PORT = 46001  # the UDP port whose datagrams are stacked
PRIO = 400  # above everything the controller compiles


def _ends(scenario: Scenario) -> tuple[VM, VM, VM, VM]:
    return tuple(vm_named(scenario, label) for label in ("pepsi/db", "pepsi/web", "coke/db", "coke/app"))  # type: ignore[return-value]


def start(exercise: Exercise, variant: Variant) -> str:
    return exercise.header(variant)


def solution(exercise: Exercise, variant: Variant, _name: str | None) -> str:
    src, dst, _, _ = _ends(scenario_of(variant))
    vni = src.vni
    return exercise.header(variant) + (
        f"{src.server.name} table=0,priority={PRIO},in_port={src.port},udp,nw_dst={dst.v4.ip},tp_dst={PORT},"
        f"actions=push_mpls:0x8847,set_field:{vni}->mpls_label,set_field:{dst.server.ip}->tun_dst,output:{MPLS_PORT}\n"
        f"{dst.server.name} table=0,priority={PRIO},in_port={MPLS_PORT},mpls,mpls_label={vni},actions=pop_mpls:0x0800,"
        f"set_field:{src.mac}->eth_src,set_field:{dst.mac}->eth_dst,output:{dst.port}\n")


def _place(lab: RunningLab, lines: list[str], servers: tuple[str, str]) -> list[Verdict]:
    """The L3 GRE port on both servers, then each line's entry on its server's virtual switch."""
    for name in servers:
        lab.nodes.net[name].cmd(lab.nodes.ovs(lab.scenario.fabric.server_named(name)).vsctl(  # type: ignore[index]
            f"add-port br-int mpls-gre -- set interface mpls-gre type=gre options:remote_ip=flow "
            f"options:packet_type=legacy_l3 ofport_request={MPLS_PORT}"))
    for number, line in enumerate(lines, 1):
        where, _, flow = line.partition(" ")
        if where not in servers:
            return [Verdict(False, f"entry {number} is for {where!r}: write `SERVER ENTRY`, the server being "
                                   f"{servers[0]} (pepsi/db's) or {servers[1]} (pepsi/web's)")]
        if said := refused(lab.nodes.ovs(lab.scenario.fabric.server_named(where)).br_int, flow.strip()):
            return [Verdict(False, f"entry {number}: Open vSwitch refused it ({said})")]
    return []


def check(exercise: Exercise, variant: Variant, text: str, name: str | None) -> list[Verdict]:
    lines = entries(text)
    if not lines:
        return [Verdict(False, f"{exercise.answer} has no entries yet: one per line, `SERVER ENTRY`")]
    with lab_of(variant, name) as lab:
        src, dst, other, twin = _ends(lab.scenario)
        if refused := _place(lab, lines, (src.server.name, dst.server.name)):
            return refused
        tokens = {vm.label: os.urandom(6).hex() for vm in (src, other)}
        tap, into, twin_port = uplink_tap(src.server), server_intf(dst), server_intf(twin)
        frames = captured(lab, [tap, into, twin_port], lambda: [
            lab.nodes.vm(vm.label).cmd(f"echo {tokens[vm.label]} > /dev/udp/{to.v4.ip}/{PORT}")
            for vm, to in ((src, dst), (other, twin))])
        return _judged(frames[tap], frames[into], frames[twin_port], tokens, (src, dst, other))


def _judged(wire: list[bytes], into: list[bytes], twin: list[bytes], tokens: dict[str, str],
            vms: tuple[VM, VM, VM]) -> list[Verdict]:
    src, dst, other = vms
    mine, theirs = (tokens[vm.label].encode() for vm in (src, other))
    carried = [Ether(f) for f in wire if mine in f]
    stacked = [f for f in carried if GRE in f and MPLS in f]
    verdicts = [Verdict(bool(stacked), f"pepsi/db's datagram to port {PORT} crossed {src.server.name}'s cable "
                        + ("as MPLS in GRE" if stacked else
                           f"{'but not as MPLS in GRE' if carried else 'nowhere to be seen'}: the sending entry must "
                           f"push an MPLS label, set the tunnel's destination and output to the L3 GRE port"))]
    if stacked:
        label = stacked[0][MPLS].label
        verdicts.append(Verdict(label == src.vni, "its MPLS label is pepsi's virtual network ID" if label == src.vni
                                else f"its MPLS label, {label}, is not pepsi's virtual network ID"))
    arrived = any(mine in f and (e := Ether(f)).type == ETH_IP and e.dst == dst.mac for f in into)
    verdicts.append(Verdict(arrived, "it arrived at pepsi/web" if arrived else
                            "it never arrived at pepsi/web: the receiving entry must match the label, pop it, give the "
                            "packet Ethernet addresses and output it to pepsi/web's port"))
    leaked = any(theirs in f for f in into) or not any(theirs in f for f in twin)
    verdicts.append(Verdict(not leaked, "coke/db's datagram to the same address and port went to coke/app, as always"
                            if not leaked else "coke/db's datagram to the same address and port did not arrive at "
                                               "coke/app alone: the sending entry must take pepsi/db's packets only"))
    return verdicts
