"""The lecture, section by section, on the lecture's own lab: each step a short paragraph in the lecture's
words, then the real thing happening and its evidence (packets captured, counters that moved, tables
read from the switches). Each step returns what it printed and the facts behind it, for the tests.

The VMs each step shows come from the scenario's roles (overlaylab.classroom.roles): in the lecture's own,
Pepsi (VXLAN, VNI 5001) has web on p0e0h0 and db on p0e0h1, in its rack; Coke (GENEVE, VNI 5002) has web
on p0e0h0 too, with Pepsi's web's address, and db on p3e1h1, across the core.
"""
from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.flows import ofctl_action, ofctl_match
from controller.purpose import UNDERLAY_ROUTE
from controller.trace import trace_vm, vm_packet
from overlaylab.classroom import protocols
from overlaylab.classroom.onthewire import broadcast_copies, five_tuple, stacking
from overlaylab.classroom.roles import roles_of
from overlaylab.classroom.routedhop import routed_hop
from overlaylab.classroom.shown import Shown, across
from overlaylab.runtime import tables
from overlaylab.runtime.remote import agent_command
from overlaylab.runtime.running import RunningLab
from overlaylab.runtime.vswitches import server_intf
from overlaylab.verify.evidence import Counted, between, captured, counted, ping
from overlaylab.verify.observe import observe, taken
from overlaylab.verify.probing import core_taps, uplink_tap
from probes.capture import Capture
from probes.fastparse import dissect
from probes.netns import addresses
from probes.packets import Host, describe_frame, probe
from probes.pcap import write_pcap
from probes.session import Tokens
from topologies import changes
from topologies.changes import vm_named
from topologies.names import PHY
from topologies.scenario import VM, Mode, ScenarioError, load

TWIN = "fanta"  # the tenant network_id adds on another tenant's encapsulation, addresses and MACs

@dataclass(frozen=True)
class Step:
    title: str
    lecture: str  # the lecture's point, in its words
    show: Callable[[RunningLab, Path], Shown]


def physical(lab: RunningLab, _out: Path) -> Shown:
    shown = Shown()
    for server in roles_of(lab.scenario).servers:
        shown.say(f"  {server.name}: pod {server.pod}, edge {server.edge}, host {server.host} -> address {server.ip}")
    held = tables.counters(lab.nodes.targets["c0"])
    core = [f for f in lab.underlay["c0"].flows if f.purpose == UNDERLAY_ROUTE]
    shown.say("  core switch c0 routes whole pods, one aggregated prefix each (each held by the switch):")
    shown.lines += [f"    {str(f.fields['ipv4_dst']):<14} -> {','.join(map(ofctl_action, f.actions))}"
                    f"{'' if tables.flow_key(ofctl_match(f)) in held else '   (NOT on the switch)'}" for f in core]
    shown.facts = {"core_routes": sum(tables.flow_key(ofctl_match(f)) in held for f in core)}
    return shown


def virtualization(lab: RunningLab, _out: Path) -> Shown:
    shown, twins = Shown(), roles_of(lab.scenario).twins
    here = twins[0].server.name
    shown.say(f"  physical server {here} hosts two VMs, each in its own namespace with its own address:")
    for vm in twins:
        node = lab.nodes.vm(vm.label)
        address = ", ".join(addresses(node.pid, node.defaultIntf().name))
        shown.say(f"    {vm.label:<10} {address}   (a VM of tenant {vm.tenant})")
        shown.facts[vm.label] = address
    server = ", ".join(addresses(lab.nodes.node(here).pid, PHY))
    shown.say(f"    the server itself: {server}, on its uplink")
    shown.facts["server"] = server
    return shown


def virtual_switches(lab: RunningLab, _out: Path) -> Shown:
    server = roles_of(lab.scenario).twins[0].server
    shown, ovs = Shown(), lab.nodes.ovs(server)
    pid = int(ovs.pidfile("ovs-vswitchd").read_text())
    ports = str(lab.nodes.net[server.name].cmd(ovs.vsctl("list-ports", "br-int"))).split()  # type: ignore[index]
    shown.say(f"  {server.name} runs its own Open vSwitch (ovs-vswitchd pid {pid}); its bridge br-int has ports:")
    names = {server_intf(vm): vm.label for vm in lab.scenario.vms if vm.server == server}
    shown.lines += [f"    {port:<14} {names.get(port, 'a tunnel port: the way to other servers')}" for port in ports]
    shown.facts = {"pid": pid, "ports": ports}
    return shown


def underlay_overlay(lab: RunningLab, _out: Path) -> Shown:
    shown = Shown()
    vm_ips = {str(vm.v4.ip) for vm in lab.scenario.vms}
    held = tables.each(lambda name: tables.flow_lines(lab.nodes.targets[name]), list(lab.underlay))
    mentions = sum(1 for lines in held.values() for line in lines for ip in vm_ips if f"={ip}" in line)
    largest = max(held, key=lambda name: len(held[name]))
    shown.say(f"  the underlay's {len(held)} switches hold {sum(map(len, held.values()))} flows; the largest, "
              f"{largest}, {len(held[largest])}; VM addresses among them: {mentions}")
    try:
        load(lab.scenario.path, mode=Mode.FLAT)
        refusal = ""
    except ScenarioError as exc:
        refusal = str(exc)
    said = textwrap.wrap(f"routing the VMs' own addresses in the underlay instead (`--mode flat`) is refused "
                         f"for this scenario: {refusal.split(': ', 1)[-1]}", 96)
    shown.lines += [f"  {line}" for line in said]
    shown.say("  (`overlaylab compare` measures what flat routing costs where it can work: docs/compare.png)")
    shown.facts = {"vm_addresses_in_underlay": mentions, "flat_refused": refusal}
    return shown


def encapsulation(lab: RunningLab, out: Path) -> Shown:
    """The lecture's four steps, each a real capture of one ping between two VMs in different pods."""
    (web, db), shown = across(lab), Shown()
    stages = {f"1. leaves VM A ({web.label}), bare": [server_intf(web)],
              "2. on its server's uplink, encapsulated": [uplink_tap(web.server)],
              "3. across the core: the underlay reads only the outer header": core_taps(lab.scenario.fabric),
              f"4. decapsulated, into VM B ({db.label})": [server_intf(db)]}
    frames = captured(lab, [i for ifaces in stages.values() for i in ifaces], ping(lab, web, db))
    for stage, ifaces in stages.items():
        seen = [(i, f) for i in ifaces for f in between(frames[i], str(web.v4.ip), str(db.v4.ip))]
        shown.say(f"  {stage}:")
        shown.lines += [f"    {iface}: {describe_frame(frame)}" for iface, frame in seen[:1]]
        shown.facts[stage[0]] = [f for _, f in seen]
    pcap = out / "encapsulation.pcap"
    write_pcap(pcap, [f for stage in "1234" for f in shown.facts[stage][:1]])
    shown.say(f"  the four frames are in {pcap} (Wireshark decodes the {web.encap.text.upper()} header and the "
              f"VM's packet)")
    return shown


def forwarding_tables(lab: RunningLab, _out: Path) -> Shown:
    """One packet, and the entry it matched in every switch it crossed, each counter moving."""
    (web, db), shown = across(lab), Shown()
    paths = trace_vm(lab.scenario, lab.compiled, web, vm_packet(web, db))
    nodes = list(dict.fromkeys(hop.node for path in paths for hop in path.hops))
    taken_path: list[Any] = []

    def send() -> None:
        seen = observe(lab, web, db, "udp", paths)
        taken_path[:] = paths[taken(paths, web, db, seen, lab.scenario.fabric) or 0].hops

    def every_hop(found: list[Counted]) -> bool:
        return bool(taken_path) and _matched(taken_path) <= {(c.datapath, c.key) for c in found}
    hits = {(c.datapath, c.key): c for c in counted(lab, nodes, send, every_hop)}
    shown.say(f"  one UDP packet from {web.label} to {db.label}, and the entry it matched in each table on its way:")
    matched = sorted(_matched(taken_path), key=lambda hop: _order(taken_path, hop))
    for node, key in matched:
        hit = hits.get((node, key))
        shown.say(f"    {node:<14} {f'+{hit.packets}' if hit else 'not counted':>4}  {hit.note if hit else '?'}")
    shown.facts = {"path": list(dict.fromkeys(hop.node for hop in taken_path)),
                   "counted": [hits.get(hop) for hop in matched], "routed": routed_hop(lab, shown)}
    return shown


def _matched(hops: list[Any]) -> set[tuple[str, tables.FlowKey]]:
    """(datapath, flow key) of the entry the prediction says each hop matched."""
    return {(hop.node, tables.flow_key(ofctl_match(hop.flow))) for hop in hops if hop.flow is not None}


def _order(hops: list[Any], matched: tuple[str, tables.FlowKey]) -> int:
    return next(i for i, hop in enumerate(hops) if hop.flow is not None and
                (hop.node, tables.flow_key(ofctl_match(hop.flow))) == matched)


def multi_tenancy(lab: RunningLab, _out: Path) -> Shown:
    shown, roles = Shown(), roles_of(lab.scenario)
    for owner, asker in (roles.rack, roles.across):  # each twin, asked by a VM of its own tenant
        replies = str(lab.nodes.vm(asker.label).cmd(f"ping -c1 -W2 {owner.v4.ip}"))
        neighbour = str(lab.nodes.vm(asker.label).cmd(f"ip neigh show {owner.v4.ip}")).split()
        mac = neighbour[neighbour.index("lladdr") + 1] if "lladdr" in neighbour else "?"
        ok = " 0% packet loss" in replies
        shown.say(f"  {asker.label} pings {owner.v4.ip}: {'answered' if ok else 'NO ANSWER'}, by MAC {mac} = "
                  f"{owner.label}")
        shown.facts[asker.label] = {"answered": ok, "mac": mac, "owner_mac": owner.mac}
    shown.say("  one address, two tenants, two different VMs: each tenant's network is its own")
    shown.facts["broadcast"] = broadcast_copies(lab, shown)
    return shown


def network_id(lab: RunningLab, _out: Path) -> Shown:
    shown, roles = Shown(), roles_of(lab.scenario)
    (web, near), (twin, far) = roles.rack, roles.across
    tap = uplink_tap(web.server)
    frames = captured(lab, [tap], lambda: (ping(lab, near, web)(), ping(lab, far, twin)()))
    kinds = _tunnels(frames[tap])
    seen = ", ".join(f"{kind} VNI {vni}" for kind, vni in kinds)
    shown.say(f"  on {web.server.name}'s uplink, both tenants' packets to {web.v4.ip}: {seen}")
    stranger = _cross_tenant(lab, far, web)
    shown.say(f"  {far.label} sends straight to {web.label}'s MAC and address: {stranger} (dropped by its own "
              f"virtual switch: no entry of {far.tenant}'s network leads there)")
    alike = _same_encapsulation(lab, web, near)
    shown.say(f"  a tenant added on {web.tenant}'s {web.encap}, with {web.label}'s and {near.label}'s addresses and "
              f"MACs, on their servers: on the uplink {', '.join(f'{k} VNI {v}' for k, v in alike)}; the same "
              f"encapsulation, addresses and MACs: only the VNI tells the two tenants apart")
    shown.facts = {"vnis": kinds, "cross_tenant": stranger, "same_encapsulation": alike}
    return shown


def _same_encapsulation(lab: RunningLab, web: VM, near: VM) -> list[tuple[str, int | None]]:
    """A tenant added for the occasion on web's encapsulation, its two VMs with the very addresses and MACs of
    web and near, on their servers; both tenants ping web's address from near's; what the uplink carried."""
    vni = max(t.vni for t in lab.scenario.tenants) + 1
    lab.members.apply(changes.add_tenant(lab.scenario, TWIN, vni, str(web.encap)))
    try:
        for vm in (web, near):
            lab.members.add_vm(f"{TWIN}/{vm.name}", str(vm.ip), vm.server.name, vm.mac)
        twin_web, twin_near = (vm_named(lab.scenario, f"{TWIN}/{vm.name}") for vm in (web, near))
        tap = uplink_tap(web.server)
        frames = captured(lab, [tap], lambda: (ping(lab, near, web)(), ping(lab, twin_near, twin_web)()))
        return _tunnels(frames[tap])
    finally:
        lab.members.remove_tenant(TWIN)


def _tunnels(frames: list[bytes]) -> list[tuple[str, int | None]]:
    """The (encapsulation, VNI) pairs the frames were carried in."""
    return sorted({(str(w.encap), w.vni) for f in frames if (w := dissect(f)).encap})


def _cross_tenant(lab: RunningLab, src: VM, dst: VM) -> str:
    """A frame from one tenant's VM to another tenant's VM, by its real MAC and IP: where it arrived."""
    capture, token, arrived = Capture(agent_command), Tokens()(), []
    try:
        for vm in (src, dst):
            end = lab.nodes.endpoint(vm)
            capture.listen(vm.label, end.pid, end.iface, end.machine)
        capture.send(src.label, probe("icmp", Host(src.mac, src.v4.ip), Host(dst.mac, dst.v4.ip), token))
        capture.run(lambda: False, 0.5, 0, lambda name, frame: arrived.append(name) if token in frame else None)
    finally:
        capture.close()
    return f"arrived at {', '.join(arrived)}" if arrived else "arrived nowhere"


def protocol_tour(lab: RunningLab, out: Path) -> Shown:
    shown = Shown()
    for line, fact in protocols.tour(lab, out):
        shown.say(f"  {line}")
        shown.facts.update(fact)
    return shown


def moving(lab: RunningLab, _out: Path) -> Shown:
    shown, roles = Shown(), roles_of(lab.scenario)
    vm = roles.twins[0]
    gone = lab.members.migrate(vm.label, roles.away.name)
    back = lab.members.migrate(vm.label, vm.server.name)
    for move in (gone, back):
        stream, changes = move["stream"], move["changes"]
        shown.say(f"  {vm.label} {move['from']} -> {move['to']} in {move['moved_in']:.2f} s, same address and MAC; "
                  f"{move['peer']}'s stream lost {stream['lost']} of {stream['sent']} "
                  f"(gap {stream['longest_gap']:.2f} s); "
                  f"underlay flow changes {changes['underlay']}, virtual switches {changes['vswitches']}")
    shown.facts = {"underlay": [gone["changes"]["underlay"], back["changes"]["underlay"]]}
    return shown


STEPS = (
    Step("Physical datacenter: hierarchical addresses",
         "Racks arranged in a fixed topology give us \"a natural way to assign hierarchical addresses\": a "
         "server's address says where it is, and a switch needs one route per pod or rack, not per server.",
         physical),
    Step("Virtualization", "\"Virtualization allows us to run one or more virtual servers inside a physical "
         "server\": each VM believes it has a machine, and an address, of its own.", virtualization),
    Step("Virtual switches", "\"The server needs a virtual switch\": it runs in software on the server, "
         "every VM is connected to it, and it is connected to the rest of the network.", virtual_switches),
    Step("Underlay and overlay", "The underlay routes between physical machines with hierarchical "
         "addresses; the overlay only thinks about VMs. \"The underlay network should not need to know about "
         "virtual host addresses (otherwise, it would scale poorly).\"", underlay_overlay),
    Step("Encapsulation, in four steps", "VM A sends to B's virtual address; its virtual switch adds an outer "
         "header with B's physical server address; the underlay reads only that outer header; B's virtual "
         "switch removes it and hands the packet to B.", encapsulation),
    Step("Forwarding tables with encapsulation", "The virtual switch has an entry for every VM its VMs talk "
         "to (encapsulate towards its server) and an entry to decapsulate for its own VMs; \"the switches in "
         "the datacenter work exactly the same as they did before\". (The lecture looks the destination VM up by "
         "its IP address, behind the VM's default route; the lecture's tenants here are a layer-2 overlay: the VM "
         "learns its peer's MAC by ARP, answered by its own virtual switch, which then looks up that MAC. A "
         "tenant with `routing: distributed`, added below, is routed the lecture's way.)",
         forwarding_tables),
    Step("Multi-tenancy and private networks", "Tenants choose addresses without asking each other: \"Pepsi's "
         "private network might have a VM with IP address 192.0.2.2, and Coke's private network might have a "
         "different VM with IP address 192.0.2.2.\"", multi_tenancy),
    Step("Encapsulation for multi-tenancy: the virtual network ID", "A header with a virtual network ID says "
         "which tenant a packet belongs to; after decapsulation the virtual switch uses it \"to pass the "
         "packet up to the correct virtual network\".", network_id),
    Step("Stacking encapsulations", "The VM's own packet, then the virtual network header, then the underlay "
         "header: the underlay \"just looks at the outermost header\".", stacking),
    Step("The 5-tuple note", "\"With encapsulation, we have to be careful when reading the 5-tuple for "
         "load-balancing packets across multiple paths\": the outer header must still tell flows apart.",
         five_tuple),
    Step("The protocols", "\"In practice, many different protocols exist for encapsulation\": IP-in-IP, MPLS, "
         "GRE, VXLAN, GENEVE.", protocol_tour),
    Step("Moving a VM", "\"We can move hosts to a different physical machine, entirely in software\", "
         "keeping the address: only the virtual switches learn where the VM went.", moving),
)

