"""Evidence from a running lab, for the demo: what crossed some interfaces while something happened,
and which flow entries counted packets meanwhile (each with the reason its compiler gave)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scapy.layers.inet import IP
from scapy.layers.l2 import Ether

import probes.packets  # noqa: F401 - binds scapy's VXLAN, GENEVE and GRE layers for decoding
from controller.flows import ofctl_match
from overlaylab.errors import LabError
from overlaylab.runtime import tables
from overlaylab.runtime.remote import agent_command
from overlaylab.runtime.running import RunningLab
from overlaylab.system import wait_until
from overlaylab.verify.probing import uplink_tap
from probes.capture import Capture
from topologies.scenario import VM

COUNTER_TIMEOUT = 5.0  # seconds: Open vSwitch's revalidators publish flow counters every half second or so


def captured(lab: RunningLab, ifaces: list[str], action: Callable[[], object]) -> dict[str, list[bytes]]:
    """Every frame that crossed each interface (a switch port such as p0e0-eth1, or a VM's server-side
    port such as p0e0h0-eth2) while `action` ran."""
    capture = Capture(agent_command)
    try:
        for iface in ifaces:
            lab.nodes.tap(capture, iface)
        capture.ready()  # a tap on another machine is open there before anything crosses it
        action()
        capture.run(lambda: True, timeout=0, settle=0.3)
    finally:
        capture.close()
    return {iface: list(capture.frames[iface]) for iface in ifaces}


def inner_ip(frame: bytes) -> tuple[str, str, int] | None:
    """(source, destination, protocol) of the innermost IP packet in a frame, tunnelled or not."""
    found = [layer for layer in Ether(frame).iterpayloads() if isinstance(layer, IP)]
    return (found[-1].src, found[-1].dst, found[-1].proto) if found else None


def between(frames: list[bytes], src: str, dst: str) -> list[bytes]:
    """The frames whose innermost IP packet goes from `src` to `dst`."""
    return [f for f in frames if (inner_ip(f) or ("", "", 0))[:2] == (src, dst)]


def ping(lab: RunningLab, src: VM, dst: VM) -> Callable[[], object]:
    """One ping from inside VM `src` to `dst`, to run while something watches."""
    return lambda: lab.nodes.vm(src.label).cmd(f"ping -c1 -W2 {dst.v4.ip}")


def on_uplink(lab: RunningLab, src: VM, dst: VM, send: Callable[[], object]) -> list[bytes]:
    """The frames on `src`'s server's cable, while `send` ran, whose innermost packet goes from src to dst."""
    tap = uplink_tap(src.server)
    return between(captured(lab, [tap], send)[tap], str(src.v4.ip), str(dst.v4.ip))


@dataclass(frozen=True)
class Counted:
    """A flow entry that counted packets: where, how many, and why it exists."""

    datapath: str
    key: tables.FlowKey
    packets: int
    note: str


def counted(lab: RunningLab, datapaths: list[str], action: Callable[[], object],
            until: Callable[[list[Counted]], bool] = bool) -> list[Counted]:
    """The entries of `datapaths` whose packet counters went up while `action` ran, once `until` holds
    for them (counters reach `ovs-ofctl` a little after the packets)."""
    before = tables.each(lambda name: tables.counters(lab.nodes.targets[name]), datapaths)
    action()

    def moved() -> list[Counted]:
        after = tables.each(lambda name: tables.counters(lab.nodes.targets[name]), datapaths)
        return [Counted(name, key, packets - before[name].get(key, 0), _notes(lab, name).get(key, "?"))
                for name in datapaths for key, packets in after[name].items() if packets > before[name].get(key, 0)]
    def enough() -> list[Counted]:
        found = moved()
        return found if found and until(found) else []
    try:
        return wait_until(enough, COUNTER_TIMEOUT, "the switches' counters to move")
    except LabError:  # whatever moved by then is still the evidence
        return moved()


def _notes(lab: RunningLab, datapath: str) -> dict[tables.FlowKey, str]:
    return {tables.flow_key(ofctl_match(f)): f.note for f in lab.compiled[datapath].flows}
