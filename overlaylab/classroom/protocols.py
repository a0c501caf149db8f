"""The lecture's list of encapsulations, carried for real where this machine's Open vSwitch can: the two
twin tenants' own (VXLAN and GENEVE in the lecture's lab), GRE (a tenant added for the occasion), and two
more that the lab's tenants do not use, set up by hand between the virtual switches of two VMs in
different pods (overlaylab.classroom.roles: coke/web's and coke/db's) for one packet each:
an MPLS label as the tenant's ID inside GRE, and IP in GRE (the VM's IP packet with no Ethernet header,
the GRE key as the tenant's ID). For the one it cannot carry (IP-in-IP), one line says why.

The hand-made ports and flows are removed again before the tour ends.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from scapy.contrib.mpls import MPLS
from scapy.layers.l2 import GRE, Ether

from overlaylab.classroom.roles import roles_of
from overlaylab.runtime.running import RunningLab
from overlaylab.runtime.tables import ofctl
from overlaylab.system import run
from overlaylab.verify import evidence
from probes.fastparse import dissect
from probes.packets import describe_frame
from probes.pcap import write_pcap
from topologies import changes
from topologies.changes import vm_named
from topologies.names import L3_GRE_PORT, MPLS_PORT
from topologies.scenario import VM

PRIO = 400  # above everything the controller compiles
Line = tuple[str, dict[str, Any]]


def tour(lab: RunningLab, out: Path) -> Iterator[Line]:
    """One line per protocol, with the facts behind it; every frame shown is also written to a pcap."""
    frames: list[bytes] = []
    for show in (_vxlan_geneve, _gre, _mpls_and_ip_in_gre):
        for line, fact, frame in show(lab):
            frames += [frame] if frame else []
            yield line, fact
    ovs = lab.nodes.ovs(roles_of(lab.scenario).twins[0].server)
    types = str(run("ovs-vsctl", f"--db={ovs.db}", "get", "Open_vSwitch", ".", "iface_types").stdout).strip()
    if "ipip" not in types:
        yield (f"IP-in-IP: not carried here: this Open vSwitch has no IP-in-IP port type (it offers {types})",
               {"ipip": False})
    pcap = out / "protocols.pcap"
    write_pcap(pcap, frames)
    yield f"every frame above is in {pcap}", {"pcap": str(pcap)}


def _one(lab: RunningLab, src: VM, dst: VM, send: Callable[[], object]) -> bytes | None:
    """The first frame on the source server's cable whose innermost packet goes from src to dst."""
    return next(iter(evidence.on_uplink(lab, src, dst, send)), None)


def _vxlan_geneve(lab: RunningLab) -> Iterator[tuple[str, dict[str, Any], bytes | None]]:
    roles = roles_of(lab.scenario)
    for a, b in (roles.rack[::-1], roles.across):
        frame = _one(lab, a, b, evidence.ping(lab, a, b))
        kind = dissect(frame).encap if frame else None
        yield (f"{a.encap.text.upper()} ({a.tenant}): {describe_frame(frame) if frame else 'NOT SEEN'}",
               {a.encap.text: kind is a.encap}, frame)


def _gre(lab: RunningLab) -> Iterator[tuple[str, dict[str, Any], bytes | None]]:
    """A tenant on GRE (a VNI no tenant has), added while the lab runs and removed again."""
    vni = max(t.vni for t in lab.scenario.tenants) + 1
    roles = roles_of(lab.scenario)
    lab.members.apply(changes.add_tenant(lab.scenario, "sprite", vni, "gre"))
    try:
        lab.members.add_vm("sprite/a", "192.0.2.2/24", roles.twins[0].server.name)
        lab.members.add_vm("sprite/b", "192.0.2.3/24", roles.away.name)
        a, b = vm_named(lab.scenario, "sprite/a"), vm_named(lab.scenario, "sprite/b")
        frame = _one(lab, a, b, evidence.ping(lab, a, b))
        key = frame and Ether(frame)[GRE].key
        yield (f"GRE (tenant sprite, added for this: key {key} is its VNI): "
               f"{describe_frame(frame) if frame else 'NOT SEEN'}", {"gre": key == vni}, frame)
    finally:
        lab.members.remove_tenant("sprite")


def _mpls_and_ip_in_gre(lab: RunningLab) -> Iterator[tuple[str, dict[str, Any], bytes | None]]:
    web, db = roles_of(lab.scenario).across
    with _l3_tunnels(lab, web, db):
        frame = _one(lab, web, db, _udp(lab, web, db, 46001))
        label = frame and MPLS in Ether(frame) and Ether(frame)[MPLS].label
        yield (f"MPLS in GRE (label {label} as the tenant's ID, no Ethernet header inside): "
               f"{Ether(frame).summary() if frame else 'NOT SEEN'}", {"mpls": label == web.vni}, frame)
        frame = _one(lab, web, db, _udp(lab, web, db, 46002))
        bare = frame is not None and GRE in Ether(frame) and Ether(frame)[GRE].proto == 0x0800
        yield (f"IP in GRE (the VM's IP packet right after the GRE header, key {web.vni}): "
               f"{Ether(frame).summary() if frame else 'NOT SEEN'}", {"ip_in_gre": bare}, frame)


def _udp(lab: RunningLab, src: VM, dst: VM, port: int) -> Callable[[], object]:
    """One UDP datagram to `port` from inside the VM (bash's /dev/udp: no tool needed)."""
    return lambda: lab.nodes.vm(src.label).cmd(f"echo tunnelled > /dev/udp/{dst.v4.ip}/{port}")


@contextmanager
def _l3_tunnels(lab: RunningLab, src: VM, dst: VM) -> Iterator[None]:
    """Two hand-made L3 GRE ports on both virtual switches (`packet_type=legacy_l3`: OVS removes the
    Ethernet header on the way in and puts a blank one back on the way out) and one-way flows from src
    to dst: UDP port 46001 goes as MPLS with the VNI as its label, 46002 as bare IP with the VNI as key."""
    ends = (src.server, dst.server)
    for server in ends:
        ovs = lab.nodes.ovs(server)
        lab.nodes.net[server.name].cmd(ovs.vsctl(  # type: ignore[index]
            "add-port br-int mpls-gre -- set interface mpls-gre type=gre options:remote_ip=flow "
            f"options:packet_type=legacy_l3 ofport_request={MPLS_PORT} -- add-port br-int ip-gre -- set "
            f"interface ip-gre type=gre options:remote_ip=flow options:key=flow options:packet_type=legacy_l3 "
            f"ofport_request={L3_GRE_PORT}"))
    out, into = lab.nodes.ovs(src.server).br_int, lab.nodes.ovs(dst.server).br_int
    flows = [
        (out, f"table=0,priority={PRIO},in_port={src.port},udp,nw_dst={dst.v4.ip},tp_dst=46001,actions="
              f"push_mpls:0x8847,set_field:{src.vni}->mpls_label,set_field:{dst.server.ip}->tun_dst,"
              f"output:{MPLS_PORT}"),
        (out, f"table=0,priority={PRIO},in_port={src.port},udp,nw_dst={dst.v4.ip},tp_dst=46002,actions="
              f"set_field:{src.vni}->tun_id,set_field:{dst.server.ip}->tun_dst,output:{L3_GRE_PORT}"),
        (into, f"table=0,priority={PRIO},in_port={MPLS_PORT},mpls,mpls_label={src.vni},actions=pop_mpls:0x0800,"
               f"set_field:{src.mac}->eth_src,set_field:{dst.mac}->eth_dst,output:{dst.port}"),
        (into, f"table=0,priority={PRIO},in_port={L3_GRE_PORT},tun_id={src.vni},ip,actions="
               f"set_field:{src.mac}->eth_src,set_field:{dst.mac}->eth_dst,output:{dst.port}")]
    try:
        for bridge, flow in flows:
            ofctl("add-flow", bridge, flow)
        yield
    finally:
        for bridge, flow in flows:  # each exactly (a loose delete would take the whole table 0 with it)
            ofctl("del-flows", bridge, "--strict", flow.split(",actions=")[0], check=False)
        for server in ends:
            ovs = lab.nodes.ovs(server)
            lab.nodes.net[server.name].cmd(ovs.vsctl("--if-exists del-port br-int mpls-gre -- "  # type: ignore[index]
                                               "--if-exists del-port br-int ip-gre"))
