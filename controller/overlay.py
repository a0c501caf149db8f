"""The virtual switch on each physical server: encapsulation, decapsulation, ARP, port security.

This is the lecture's "Forwarding Tables with Encapsulation", one br-int per virtualized server:

  table 0  classify   a VM may send only from its own MAC and IP (port security); a tunnel packet is
                      accepted only with a VNI of a tenant that lives here, from a server that hosts
                      that tenant. Either way the tenant is written into the metadata.
  table 1  arp        ARP is answered here, from the controller's knowledge: no ARP crosses the underlay.
  table 2  forward    to a peer VM of the same tenant: out of its port if it is local, else encapsulated
                      with the tenant's VNI towards the peer's physical server; a broadcast or multicast
                      is copied to the tenant's other local VMs and, once, to each other server of it.
  table 3  deliver    decapsulated packets go only to a local VM of the VNI's tenant (a broadcast or
                      multicast to all of them, never on to another server).

Everything else is dropped. A vswitch holds entries only for tenants that have VMs on it.

In flat mode (controller.flat) there is no tunnel: a packet to a peer on another server leaves through
the patch port to br-phy, addressed to the edge switch, and the underlay routes the VM's address; one
that comes back in through the patch port is accepted only from the address of a remote peer.
"""
from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Network, IPv6Network

from controller.brint import (
    PRIO,
    PRIO_MISS,
    T_ARP,
    T_CLASSIFY,
    T_DELIVER,
    T_FORWARD,
    arp_answer,
    flood_door,
    flood_meter,
)
from controller.flows import (
    ARP_REQUEST,
    ETH_ARP,
    ETH_IP,
    ETH_IP6,
    GROUP_BIT,
    Action,
    Flow,
    MatchValue,
    Output,
    SetField,
    Tables,
    host,
    match,
)
from controller.ipv6 import gateways6, nd_reply, on_subnet6, port_security6, route6, switch_wide
from controller.purpose import (
    ARP_RESPONDER,
    DELIVER,
    DROP,
    ENCAPSULATE,
    FROM_UNDERLAY,
    PORT_SECURITY,
    REPLICATE,
    TO_UNDERLAY,
    TUNNEL_ACCEPT,
)
from controller.routed import gateways, on_subnet, route
from topologies.fattree import Server, mac_of
from topologies.names import PATCH, vswitch_dpid, vswitch_name
from topologies.scenario import VM, Routing, Scenario, Tenant


def virtualized(scenario: Scenario) -> list[Server]:
    """Servers that host at least one VM on an OVS virtual switch, in fabric order."""
    used = {vm.server for vm in scenario.vms if not vm.bare_metal}
    return [s for s in scenario.fabric.servers if s in used]


def local_vms(scenario: Scenario, server: Server) -> list[VM]:
    """The server's VMs, by their br-int port."""
    return sorted((vm for vm in scenario.vms if vm.server == server and not vm.bare_metal), key=lambda vm: vm.port)


def compile_overlay(scenario: Scenario) -> dict[str, Tables]:
    """Desired br-int tables for every virtualized server, by `server/br-int`."""
    return {vswitch_name(s): vswitch_tables(scenario, s) for s in virtualized(scenario)}


def touched(old: Scenario, new: Scenario) -> set[Server]:
    """The servers whose virtual switch tables a change can alter: every server that hosts, before or
    after, a VM of a tenant that changed (its VMs, addresses, ports or servers); no other table reads
    anything of that tenant. What OVN's incremental processing does for a logical switch."""
    before = {t.name: t for t in old.tenants}
    changed = {t.name for t in new.tenants if before.get(t.name) != t} | (set(before) - {t.name for t in new.tenants})
    return {vm.server for s in (old, new) for vm in s.vms if vm.tenant in changed and not vm.bare_metal}


def recompile(old: Scenario, new: Scenario, compiled: dict[str, Tables]) -> dict[str, Tables]:
    """compile_overlay(new), given the tables `compiled` for `old`: only the touched servers are compiled
    again (a migration at k=8 touches a few servers out of 128)."""
    again = touched(old, new)
    kept = {name: t for name, t in compiled.items() if not any(name == vswitch_name(s) for s in again)}
    hosting = set(virtualized(new))
    return {**kept, **{vswitch_name(s): vswitch_tables(new, s) for s in again if s in hosting}}


def vswitch_tables(scenario: Scenario, server: Server) -> Tables:
    here = local_vms(scenario, server)
    ports = {vm: vm.port for vm in here}
    tenants = [t for t in scenario.tenants if any(vm.tenant == t.name for vm in here)]
    routed = [t for t in tenants if t.routing is Routing.DISTRIBUTED]
    nets = _local_subnets(here)
    accept = _accept_routed if scenario.flat else _accept_tunnels
    flat = scenario.flat
    flows = [*(f for vm in here for f in (*_port_security(vm, ports[vm], flat), *port_security6(vm, ports[vm]))),
             *(f for t in tenants for f in accept(t, server)),
             *(on_subnet(_arp_reply(t, peer), peer) for t in tenants for peer in t.vms
               if peer.ip and _near(peer, nets)),
             *(nd_reply(t, peer) for t in tenants for peer in t.vms if peer.ip6 and _near(peer, nets, v6=True)),
             *(f for t in routed for f in (*gateways(t, here), *gateways6(t, here))),
             *_switching(scenario, server, tenants, ports, nets),
             *(f for t in routed for peer in t.vms for f in (*route(peer, *_to(peer, ports)),
                                                             *route6(peer, *_to(peer, ports)))),
             *(_deliver(vm, ports[vm], scenario.flat) for vm in here),
             *switch_wide(here),
             *(() if scenario.flat else (f for t in tenants for f in _replicate(t, server, ports)))]
    misses = [Flow(PRIO_MISS, match(), table=t, note=note, purpose=DROP) for t, note in (
        (T_CLASSIFY, "not from a local VM's own MAC/IP, nor a tenant tunnel from a known server: drop"),
        (T_ARP, "ARP or neighbour solicitation for an address the tenant does not have: no answer"),
        (T_FORWARD, "not a peer of this tenant (an unknown MAC): drop"),
        (T_DELIVER, "no local VM of this tenant has that MAC: drop"))]
    meters = () if flat else tuple(flood_meter(vm) for vm in here)
    return Tables(vswitch_name(server), vswitch_dpid(server), (*flows, *misses), meters=meters)


Subnets = set[tuple[str, IPv4Network | IPv6Network]]


def _local_subnets(here: list[VM]) -> Subnets:
    """The (tenant, subnet) pairs with a VM on this server, IPv4 and IPv6."""
    return ({(vm.tenant, vm.ip.network) for vm in here if vm.ip} |
            {(vm.tenant, vm.ip6.network) for vm in here if vm.ip6})


def _near(peer: VM, nets: Subnets, v6: bool = False) -> bool:
    """Is `peer` switched to (and answered for) here: always in an L2 tenant; in a routed one, when its
    subnet has a VM on this server (a VM elsewhere is reached through the gateway)."""
    if not peer.routed:
        return True
    own = peer.ip6 if v6 else peer.ip
    return own is not None and (peer.tenant, own.network) in nets


def _switching(scenario: Scenario, server: Server, tenants: list[Tenant], ports: dict[VM, int],
               nets: Subnets) -> Iterator[Flow]:
    """To each peer by its MAC: out of its port, or to its server (in a routed tenant, from its own
    subnet only, an entry per address family)."""
    forward = _forward_routed if scenario.flat else _forward
    for tenant in tenants:
        for peer in tenant.vms:
            entry = _local(peer, ports[peer]) if peer in ports else forward(tenant, peer, server)
            if _near(peer, nets):
                yield on_subnet(entry, peer)
            if peer.ip6 and _near(peer, nets, v6=True):
                yield from on_subnet6(entry, peer)


def _replicate(tenant: Tenant, here: Server, ports: dict[VM, int]) -> list[Flow]:
    """Broadcast and multicast stay inside the tenant (a routed tenant's, inside their subnet), copied at
    the sender's virtual switch (ingress replication, as OVN does): one copy to each of its other local
    VMs, one tunnel copy to each other server that hosts it; a server that receives one delivers it to its
    local VMs of the tenant only, and never sends it on. So the underlay carries one copy per server and no
    switch floods."""
    flows = []
    for name, members, scope in _domains(tenant):
        local = tuple(Output(ports[vm]) for vm in members if vm in ports)
        if not local:
            continue  # no sender and no receiver of this domain here
        remote = sorted({vm.server for vm in members if vm.server != here}, key=lambda s: s.name)
        copies = (SetField("tunnel_id", tenant.vni),
                  *(a for s in remote for a in (SetField("tun_ipv4_dst", s.ip), Output(tenant.encap.ofport))))
        where = f"{len(local)} local VMs and {len(remote)} servers" if remote else f"{len(local)} local VMs"
        wanted = match(metadata=tenant.vni, eth_dst=GROUP_BIT, **scope)
        flows += [Flow(PRIO, wanted, local + (copies if remote else ()), table=T_FORWARD,
                       note=f"broadcast or multicast of {name}: a copy to each of {where}", purpose=REPLICATE),
                  Flow(PRIO, wanted, local, table=T_DELIVER,
                       note=f"broadcast or multicast of {name} from another server: to its local VMs only",
                       purpose=REPLICATE)]
    return flows


def _domains(tenant: Tenant) -> list[tuple[str, tuple[VM, ...], dict[str, MatchValue]]]:
    """The tenant's broadcast domains: the whole tenant, or each subnet of a routed one (by source)."""
    if tenant.routing is not Routing.DISTRIBUTED:
        return [(tenant.name, tenant.vms, {})]
    domains: list[tuple[str, tuple[VM, ...], dict[str, MatchValue]]] = []
    for net in tenant.subnets:
        domains.append((f"{tenant.name} {net}", tuple(vm for vm in tenant.vms if vm.ip and vm.ip.network == net),
                        {"eth_type": ETH_IP, "ipv4_src": net}))
    for net6 in tenant.subnets6:
        domains.append((f"{tenant.name} {net6}", tuple(vm for vm in tenant.vms if vm.ip6 and vm.ip6.network == net6),
                        {"eth_type": ETH_IP6, "ipv6_src": net6}))
    return domains


def _port_security(vm: VM, port: int, flat: bool) -> tuple[Flow, ...]:
    """From the VM's port: IPv4 and ARP from its own MAC and IP; in the overlay its broadcasts metered."""
    if vm.ip is None:
        return ()
    ip = host(vm.ip.ip)
    own: dict[str, MatchValue] = {"in_port": port, "eth_type": ETH_IP, "eth_src": vm.mac, "ipv4_src": ip}
    return (Flow(PRIO, match(**own), table=T_CLASSIFY, metadata=vm.vni, goto=T_FORWARD,
                 note=f"from {vm.label} with its own MAC and IP", purpose=PORT_SECURITY),
            Flow(PRIO, match(in_port=port, eth_type=ETH_ARP, eth_src=vm.mac, arp_sha=vm.mac, arp_spa=ip),
                 table=T_CLASSIFY, metadata=vm.vni, goto=T_ARP, note=f"ARP from {vm.label}, not spoofed",
                 purpose=PORT_SECURITY),
            *(() if flat else (flood_door(vm, own),)))


def _accept_tunnels(tenant: Tenant, here: Server) -> list[Flow]:
    """Decapsulate the tenant's VNI, on its tunnel type, from each other server that hosts it."""
    remote = sorted({vm.server for vm in tenant.vms if vm.server != here}, key=lambda s: s.name)
    return [Flow(PRIO, match(in_port=tenant.encap.ofport, tunnel_id=tenant.vni,
                             tun_ipv4_src=host(s.ip)),
                 table=T_CLASSIFY, metadata=tenant.vni, goto=T_DELIVER,
                 note=f"{tenant.encap} VNI {tenant.vni} ({tenant.name}) from {s.name}", purpose=TUNNEL_ACCEPT)
            for s in remote]


def _arp_reply(tenant: Tenant, peer: VM) -> Flow:
    ip = peer.v4.ip
    return Flow(PRIO, match(metadata=tenant.vni, eth_type=ETH_ARP, arp_op=ARP_REQUEST, arp_tpa=host(ip)),
                arp_answer(peer.mac, ip), table=T_ARP, note=f"{ip} is {peer.label}: answer with its MAC",
                purpose=ARP_RESPONDER)


def _accept_routed(tenant: Tenant, here: Server) -> list[Flow]:
    """Flat mode: from the underlay, only what a remote peer of the tenant sent, by its address."""
    return [Flow(PRIO, match(in_port=PATCH, eth_type=ETH_IP, ipv4_src=host(vm.v4.ip)), table=T_CLASSIFY,
                 metadata=tenant.vni, goto=T_DELIVER, note=f"routed by the underlay from {vm.label} ({tenant.name})",
                 purpose=FROM_UNDERLAY)
            for vm in tenant.vms if vm.server != here]


def _local(peer: VM, port: int) -> Flow:
    return Flow(PRIO, match(metadata=peer.vni, eth_dst=peer.mac), (Output(port),), table=T_FORWARD,
                note=f"to {peer.label}, on this server", purpose=DELIVER)


def _to(peer: VM, ports: dict[VM, int]) -> tuple[tuple[Action, ...], str]:
    """How a packet for `peer` leaves this virtual switch, and where to: out of its port, or tunnelled."""
    if peer in ports:
        return (Output(ports[peer]),), "on this server"
    return _tunnel(peer), f"on {peer.server.name}: {peer.encap} VNI {peer.vni} to {peer.server.ip}"


def _tunnel(peer: VM) -> tuple[Action, ...]:
    return SetField("tunnel_id", peer.vni), SetField("tun_ipv4_dst", peer.server.ip), Output(peer.encap.ofport)


def _forward(tenant: Tenant, peer: VM, _here: Server) -> Flow:
    server = peer.server
    return Flow(PRIO, match(metadata=tenant.vni, eth_dst=peer.mac), _tunnel(peer), table=T_FORWARD,
                note=f"to {peer.label} on {server.name}: {tenant.encap} VNI {tenant.vni} to {server.ip}",
                purpose=ENCAPSULATE)


def _forward_routed(tenant: Tenant, peer: VM, here: Server) -> Flow:
    """Flat mode: to the edge switch, bare, for the underlay to route by the peer's address (the peer's
    only: the underlay would carry any address a VM wrote, a server's or another tenant's)."""
    return Flow(PRIO, match(metadata=tenant.vni, eth_dst=peer.mac, eth_type=ETH_IP, ipv4_dst=host(peer.v4.ip)),
                (SetField("eth_dst", mac_of(here.gateway)), Output(PATCH)), table=T_FORWARD,
                note=f"to {peer.label} on {peer.server.name}: unencapsulated, the underlay routes {peer.v4.ip}",
                purpose=TO_UNDERLAY)


def _deliver(vm: VM, port: int, flat: bool) -> Flow:
    return Flow(PRIO, match(metadata=vm.vni, eth_dst=vm.mac), (Output(port),), table=T_DELIVER,
                note=f"{'routed by the underlay' if flat else 'decapsulated'} for {vm.label}", purpose=DELIVER)
