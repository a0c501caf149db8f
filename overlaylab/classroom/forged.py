"""A tunnel packet that a VTEP must refuse: a server that hosts none of a tenant's VMs (a compromised
hypervisor, say) sends the tenant's VNI to a server that does. The underlay carries it (it comes from a real
server's address); only the receiving virtual switch's accept rule, which names the servers a tenant's tunnel
may come from, stands between it and the tenant's VM."""
from __future__ import annotations

import os

from overlaylab.runtime.remote import agent_command, machine_of
from overlaylab.runtime.running import RunningLab
from probes.capture import Capture
from probes.packets import Host, encapsulated, probe
from topologies.changes import vm_named
from topologies.fattree import mac_of
from topologies.names import uplink

SETTLE = 0.5  # seconds: a forged packet that gets through arrives in well under that


def from_stranger(lab: RunningLab, victim_label: str, stranger: str) -> bool:
    """Does a UDP packet forged by server `stranger`, in the victim's tenant's tunnel, reach the victim?"""
    victim = lab.nodes.endpoint(vm_named(lab.scenario, victim_label))
    server = lab.scenario.fabric.server_named(stranger)
    token = os.urandom(8)
    inner = probe("udp", Host("02:00:00:00:00:67", victim.host.ip + 1), victim.host, token)
    frame = encapsulated(victim.encap, Host(server.mac, server.ip), mac_of(server.gateway), victim.server_ip,
                         victim.vni, inner)
    seen: list[bytes] = []
    capture = Capture(agent_command)
    try:
        capture.listen("victim", victim.pid, victim.iface, victim.machine)
        node = lab.nodes.node(stranger)
        capture.listen("stranger", node.pid, uplink(server), machine_of(node))
        capture.send("stranger", frame)
        capture.run(lambda: bool(seen), timeout=SETTLE, settle=0,
                    on_frame=lambda name, got: seen.append(got) if name == "victim" and token in got else None)
    finally:
        capture.close()
    return bool(seen)
