"""A routed tenant (`routing: distributed`) in its virtual switches: the lecture's model, where each VM's
default route is its subnet's gateway and the first virtual switch routes.

  table 1  arp        the gateway of each subnet is answered, with the same MAC on every server; a peer's
                      address only on the peer's own subnet (a router answers for nobody else's)
  table 2  forward    a packet to the gateway's MAC is routed: looked up by destination IP among the
                      tenant's VMs, TTL decremented once, MACs rewritten (the gateway's as source, the
                      VM's as destination), then delivered or encapsulated straight to the VM's server;
                      an address the tenant does not have matches nothing and is dropped here. A frame
                      sent to a peer's MAC is switched on the peer's own subnet only.

Broadcast and multicast stay inside a subnet (overlay._replicate, per broadcast domain). What a far
server receives needs nothing new: it delivers by the destination MAC the first switch wrote.
"""
from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network

from controller.brint import PRIO, T_ARP, T_FORWARD, arp_answer
from controller.flows import (
    ARP_REQUEST,
    ETH_ARP,
    ETH_IP,
    Action,
    DecTtl,
    Flow,
    SetField,
    host,
    match,
)
from controller.purpose import ARP_RESPONDER, ROUTE
from topologies.scenario import VM, Tenant


def on_subnet(flow: Flow, peer: VM) -> Flow:
    """An entry for `peer` that serves, in a routed tenant, only the peer's own subnet: ARP asked from
    it, frames sent from it."""
    if not peer.routed:
        return flow
    net = peer.v4.network
    scope = {"arp_spa": net} if flow.table == T_ARP else {"eth_type": ETH_IP, "ipv4_src": net}
    return replace(flow, match=match(**flow.fields, **scope))


def gateways(tenant: Tenant, here: list[VM]) -> list[Flow]:
    """The gateway of each subnet with a VM on this server, answered here for that subnet's VMs."""
    local = {vm.ip.network: vm for vm in here if vm.tenant == tenant.name and vm.ip}
    return [_answer(tenant.vni, net, net.network_address + 1, vm.gateway_mac) for net, vm in local.items()]


def _answer(vni: int, subnet: IPv4Network, gateway: IPv4Address, mac: str) -> Flow:
    return Flow(PRIO, match(metadata=vni, eth_type=ETH_ARP, arp_op=ARP_REQUEST, arp_spa=subnet, arp_tpa=host(gateway)),
                arp_answer(mac, gateway), table=T_ARP,
                note=f"{gateway} is the gateway of {subnet}: answer with {mac}, here as on every server",
                purpose=ARP_RESPONDER)


def route(peer: VM, then: tuple[Action, ...], where: str) -> tuple[Flow, ...]:
    """To `peer`'s IPv4 address (if it has one) through the gateway: rewrite as a router does, then `then`
    (out of its port, or into the tunnel to its server)."""
    if peer.ip is None:
        return ()
    rewrite: tuple[Action, ...] = (SetField("eth_src", peer.gateway_mac), SetField("eth_dst", peer.mac), DecTtl())
    return (Flow(PRIO, match(metadata=peer.vni, eth_dst=peer.gateway_mac, eth_type=ETH_IP, ipv4_dst=host(peer.ip.ip)),
                 (*rewrite, *then), table=T_FORWARD,
                 note=f"routed to {peer.label} ({peer.ip.network}) {where}: TTL - 1, MACs rewritten", purpose=ROUTE),)
