"""Labs side by side cannot touch each other: from every VM and every server of one lab, a probe towards
every address of the others (their VMs' addresses, which are the same as this lab's, their servers', their
management addresses), sent to the peer's MAC and to broadcast, on every interface that could carry it;
sniffers on every interface of the other labs' namespaces, on their management bridges and on their ends in
the machine's namespace. One arrival
there is a leak. A probe that reaches a twin inside the sending lab is fine: it shows the probes are real."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from overlaylab.runtime import mgmt, pods
from overlaylab.runtime.running import RunningLab
from probes.capture import Capture
from probes.packets import Host
from probes.session import Pacing, Probe, Tokens, run_session
from probes.stamp import stamp_probe
from topologies.names import MGMT_BRIDGE, MGMT_SERVER_SIDE

BROADCAST = "ff:ff:ff:ff:ff:ff"
ONCE = Pacing(tries=1, settle=1.0)  # nothing is awaited: every probe goes once, then a second of silence


@dataclass
class Crossing:
    """What the probes from one lab did: how many were sent, how many reached its own twins, and every
    arrival in another lab (`sender -> where`), which must be none."""

    sent: int = 0
    at_home: int = 0
    leaks: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Sender:
    name: str
    pid: int
    iface: str
    host: Host  # its own MAC and address
    gateway: str  # the MAC a frame to another network goes to


def _targets(lab: RunningLab) -> list[Host]:
    """Every address of a lab, with the MAC that owns it there."""
    vms = [Host(vm.mac, address) for vm in lab.scenario.vms for address in vm.addresses]
    servers = [Host(s.mac, s.ip) for s in lab.scenario.fabric.servers]
    index = {s.name: i for i, s in enumerate(lab.scenario.fabric.servers)}
    mgmt = [Host(BROADCAST, lab.id.server_address(index[name]).ip) for name in lab.nodes.hosting]
    every = pods.homes(lab.scenario.fabric, lab.nodes.placement)
    homes = [Host(BROADCAST, lab.id.home_address(h.index).ip) for h in every]
    return [*vms, *servers, *mgmt, *homes, Host(BROADCAST, lab.id.controller.ip)]


def _senders(lab: RunningLab) -> list[_Sender]:
    """Every VM on its interface; every server on its underlay interface and on its management link."""
    found = [_Sender(f"{lab.id.name}:{vm.label}", e.pid, e.iface, e.host, BROADCAST)
             for vm in lab.scenario.vms if not vm.bare_metal and (e := lab.nodes.endpoint(vm))]
    for station in lab.nodes.stations(lab.scenario.fabric):
        found.append(_Sender(f"{lab.id.name}:{station.name}", station.pid, station.iface, station.host,
                             station.gateway_mac))
    for index, server in enumerate(lab.scenario.fabric.servers):
        if server.name in lab.nodes.hosting:
            mgmt = Host(server.mac, lab.id.server_address(index).ip)
            found.append(_Sender(f"{lab.id.name}:{server.name}/mgmt", lab.nodes.node(server.name).pid,
                                 MGMT_SERVER_SIDE, mgmt, BROADCAST))
    return found


def _listen_everywhere(capture: Capture, lab: RunningLab) -> None:
    """Sniff on every interface of every namespace of the lab, and on its management bridge."""
    assert lab.nodes.net is not None
    for node in lab.nodes.net.hosts:
        for intf in node.intfList():
            if intf.name != "lo":
                capture.listen(f"{lab.id.name}:{node.name}/{intf.name}", node.pid, intf.name)
    capture.listen(f"{lab.id.name}:{lab.id.mgmt_end}", os.getpid(), lab.id.mgmt_end)
    capture.listen(f"{lab.id.name}:{MGMT_BRIDGE}", mgmt.holder(lab.id), MGMT_BRIDGE)


def _probes(senders: list[_Sender], targets: list[Host], tokens: Tokens) -> list[Probe]:
    probes: list[Probe] = []
    for sender in senders:
        for target in targets:
            for mac in dict.fromkeys((target.mac, sender.gateway, BROADCAST)):
                token = tokens()
                frame = stamp_probe("udp", sender.host, Host(mac, IPv4Address(target.ip)), token, len(probes))
                probes.append(Probe(token, sender.name, frame, None))
    return probes


def cross(source: RunningLab, others: list[RunningLab]) -> Crossing:
    """Probe every address of `others` from every VM and server of `source`; report where they arrived."""
    capture = Capture()
    try:
        senders = _senders(source)
        for sender in senders:
            capture.listen(sender.name, sender.pid, sender.iface)
        for lab in others:
            _listen_everywhere(capture, lab)
        probes = _probes(senders, [t for lab in others for t in _targets(lab)], Tokens())
        outcome = run_session(capture, probes, [], ONCE)
    finally:
        capture.close()
    mine, result = {s.name for s in senders}, Crossing(sent=outcome.sent)
    for probe in probes:
        reached = outcome.reached(probe)
        result.at_home += bool(reached & mine)
        result.leaks += [f"{probe.sender} -> {where}" for where in sorted(reached - mine)]
    return result
