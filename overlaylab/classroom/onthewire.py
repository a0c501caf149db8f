"""The walkthrough's steps that open a frame on the wire: the stack of headers, and the outer 5-tuple that
keeps ECMP spreading encapsulated flows."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from scapy.layers.l2 import Ether

from overlaylab.classroom.shown import Shown, across
from overlaylab.runtime.running import RunningLab
from overlaylab.verify.evidence import captured, on_uplink, ping
from overlaylab.verify.probing import core_taps, uplink_tap
from probes.capture import Capture
from probes.fastparse import dissect
from probes.packets import Host, probe
from probes.session import Tokens


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
        capture = Capture()
        try:
            end = lab.nodes.endpoint(web)
            capture.listen(web.label, end.pid, end.iface)
            tokens = Tokens()
            for flow in range(8):
                capture.send(web.label, probe("udp", Host(web.mac, web.ip.ip), Host(db.mac, db.ip.ip), tokens(), flow))
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
