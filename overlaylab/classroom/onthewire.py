"""The walkthrough's steps that open a frame on the wire: the stack of headers, the outer 5-tuple that
keeps ECMP spreading encapsulated flows, and a tenant's broadcast copied once to each of its servers."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from scapy.layers.inet import IP
from scapy.layers.l2 import Ether

from overlaylab.classroom.roles import roles_of
from overlaylab.classroom.shown import Shown, across
from overlaylab.runtime.remote import agent_command
from overlaylab.runtime.running import RunningLab
from overlaylab.verify.evidence import captured, on_uplink, ping
from overlaylab.verify.probing import core_taps, uplink_tap
from probes import packets
from probes.capture import Capture
from probes.fastparse import dissect
from probes.packets import Host, probe
from probes.session import Tokens
from topologies.names import vm_interface
from topologies.scenario import VM


def stacking(lab: RunningLab, _out: Path) -> Shown:
    (web, db), shown = across(lab), Shown()
    frames = on_uplink(lab, web, db, ping(lab, web, db))
    layers = []
    for layer in Ether(frames[0]).iterpayloads() if frames else []:
        if layer.name in ("Raw", "Padding"):
            shown.say(f"    {'payload':<10} {len(layer)} bytes")
            break
        layers.append(layer.name)
        shown.say(f"    {layer.name:<10} {_fields(layer)}")
    shown.lines.insert(0, f"  one frame from {web.server.name}'s uplink, outermost header first:")
    shown.facts = {"layers": layers}
    return shown


def _fields(layer: Any) -> str:
    """The fields that say who and what, as scapy names their values (proto=udp, type=IPv4)."""
    wanted = ("src", "dst", "sport", "dport", "vni", "key", "proto", "type")
    named = type(layer).__name__

    def value(name: str) -> object:
        return layer.getfieldval(name) if name in ("vni", "key") else layer.sprintf(f"%{named}.{name}%")
    return ", ".join(f"{name}={value(name)}" for name in wanted if name in layer.fields)


def five_tuple(lab: RunningLab, _out: Path) -> Shown:
    """Eight inner flows between one pair of VMs: eight outer source ports, spread over the core."""
    (web, db), shown = across(lab), Shown()
    cores, tap = core_taps(lab.scenario.fabric), uplink_tap(web.server)

    def flows() -> None:
        capture = Capture(agent_command)
        try:
            end = lab.nodes.endpoint(web)
            capture.listen(web.label, end.pid, end.iface, end.machine)
            tokens = Tokens()
            for flow in range(8):
                capture.send(web.label, probe("udp", Host(web.mac, web.v4.ip), Host(db.mac, db.v4.ip), tokens(), flow))
        finally:
            capture.close()
    frames = captured(lab, [tap, *cores], flows)
    outer = {w.sport for f in frames[tap] if (w := dissect(f)).encap and w.inner and w.inner.token}
    used = sorted({iface.split("-")[0] for iface in cores for f in frames[iface] if dissect(f).inner})
    shown.say(f"  8 UDP flows from {web.label} to {db.label} (different source ports inside) left {web.server.name} "
              f"with "
              f"{len(outer)} different outer UDP source ports, and crossed cores {', '.join(used)}")
    shown.facts = {"outer_ports": len(outer), "cores": used}
    return shown


def broadcast_copies(lab: RunningLab, shown: Shown) -> dict[str, Any]:
    """One broadcast ping from the first twin: the copies on its server's uplink (one per other server of
    its tenant, in its VNI), and what the other twin, a VM of another tenant on the same server, got."""
    web, twin = roles_of(lab.scenario).twins
    address = web.v4.network.broadcast_address
    port = vm_interface(web.server, twin.port)
    copies, frames = broadcast(lab, web, (port,))
    strays = sum(IP in (frame := Ether(f)) and frame[IP].dst == str(address) for f in frames[port])
    named = {str(server.ip): server.name for server in lab.scenario.fabric.servers}
    servers = ", ".join(named.get(dst, dst) for dst, _ in copies)
    shown.say(f"  {web.label} pings {address} (a broadcast): {len(copies)} copies left {web.server.name}, one to each "
              f"other server of {web.tenant} ({servers}), {web.encap} VNI {web.vni}; {twin.label}, on the same "
              f"server, got {strays}")
    return {"copies": copies, "twin_got": strays}


Copies = list[tuple[str, int | None]]  # (outer destination, VNI) of each encapsulated copy


def broadcast(lab: RunningLab, vm: VM, also: tuple[str, ...] = ()) -> tuple[Copies, dict[str, list[bytes]]]:
    """One broadcast ping from `vm` (its own kernel sends it): the (outer destination, VNI) of each copy on
    its server's uplink, and every frame on the interfaces `also` meanwhile."""
    address, tap = vm.v4.network.broadcast_address, uplink_tap(vm.server)
    frames = captured(lab, [tap, *also], lambda: lab.nodes.vm(vm.label).cmd(f"ping -b -c1 -W1 {address}"))
    copies = sorted((str(w.dst), w.vni) for f in frames[tap] if (w := packets.dissect(f)).encap and w.inner
                    and IP in (inner := Ether(w.inner.raw)) and inner[IP].dst == str(address))
    return copies, frames
