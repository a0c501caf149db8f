"""Dual-stack VMs (`ip6:`) in their virtual switches: IPv6 beside IPv4, the underlay still IPv4.

  table 0  classify   a VM may send IPv6 only from its own MAC and IPv6 address; its neighbour
                      solicitations go to table 1 (what ARP requests are to IPv4)
  table 1  arp / nd   a solicitation for a peer's address (or, routed, its subnet's gateway) is
                      answered here with an advertisement: no neighbour discovery crosses the underlay
  table 2  forward    a VM never advertises, redirects or announces itself as a router: the virtual
                      switch speaks for everyone, so a VM's advertisement is a lie (NDP spoofing) and
                      dropped; unicast is switched by MAC as IPv4 is; routed tenants route IPv6 too
  table 4  advertise  finishes the advertisements table 1 makes (controller.brint.advertise)

IPv6 multicast (33:33:..) is a multicast MAC, so it is replicated inside the tenant as IPv4's is.
"""
from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address

from controller.brint import PRIO, T_ADVERTISE, T_ARP, T_CLASSIFY, T_FORWARD, advertise, flood_door, nd_answer
from controller.flows import ETH_IP6, ICMP6, ND_SOLICIT, Action, DecTtl, Flow, MatchValue, SetField, host, match
from controller.purpose import DROP, ND_RESPONDER, PORT_SECURITY, ROUTE
from topologies.scenario import VM, Tenant

# ICMPv6 a VM has no business sending: router advertisement, neighbour advertisement, redirect
NEVER_FROM_A_VM = {134: "a router advertisement", 136: "a neighbour advertisement", 137: "a redirect"}


def port_security6(vm: VM, port: int) -> tuple[Flow, ...]:
    """From the VM's port: IPv6 from its own MAC and address (its multicasts metered as IPv4's broadcasts),
    its solicitations to be answered."""
    if vm.ip6 is None:
        return ()
    own: dict[str, MatchValue] = {"in_port": port, "eth_type": ETH_IP6, "eth_src": vm.mac, "ipv6_src": host(vm.ip6.ip)}
    return (Flow(PRIO, match(**own), table=T_CLASSIFY, metadata=vm.vni, goto=T_FORWARD,
                 note=f"IPv6 from {vm.label} with its own MAC and address", purpose=PORT_SECURITY),
            flood_door(vm, own),
            Flow(PRIO + 2, match(**own, ip_proto=ICMP6, icmpv6_type=ND_SOLICIT), table=T_CLASSIFY,
                 metadata=vm.vni, goto=T_ARP, note=f"neighbour solicitation from {vm.label}, not spoofed",
                 purpose=PORT_SECURITY))


def switch_wide(here: list[VM]) -> list[Flow]:
    """Once per virtual switch with a dual-stack VM: finishing advertisements, refusing a VM's own."""
    if not any(vm.ip6 for vm in here):
        return []
    return [advertise(), *(Flow(PRIO + 1, match(eth_type=ETH_IP6, ip_proto=ICMP6, icmpv6_type=kind), table=T_FORWARD,
                                note=f"{what} from a VM: only the virtual switch speaks for neighbours and "
                                     f"routers, drop", purpose=DROP)
                           for kind, what in NEVER_FROM_A_VM.items())]


def nd_reply(tenant: Tenant, peer: VM) -> Flow:
    """A solicitation for `peer`'s IPv6 address, answered with its MAC (in a routed tenant, only to its
    own subnet's VMs)."""
    assert peer.ip6 is not None
    scope = {"ipv6_src": peer.ip6.network} if peer.routed else {}
    return Flow(PRIO, _solicited(tenant.vni, peer.ip6.ip, **scope), nd_answer(peer.mac, peer.ip6.ip), table=T_ARP,
                goto=T_ADVERTISE, note=f"{peer.ip6.ip} is {peer.label}: advertise its MAC", purpose=ND_RESPONDER)


def gateways6(tenant: Tenant, here: list[VM]) -> list[Flow]:
    """The gateway of each IPv6 subnet with a VM on this server, answered here as a router."""
    local = {vm.ip6.network: vm for vm in here if vm.tenant == tenant.name and vm.ip6}
    return [_gateway6(tenant.vni, vm) for vm in local.values()]


def _gateway6(vni: int, vm: VM) -> Flow:
    assert vm.ip6 is not None and vm.gateway6 is not None
    net, gateway = vm.ip6.network, vm.gateway6
    return Flow(PRIO, _solicited(vni, gateway, ipv6_src=net), nd_answer(vm.gateway_mac, gateway, router=True),
                table=T_ARP, goto=T_ADVERTISE, purpose=ND_RESPONDER,
                note=f"{gateway} is the gateway of {net}: advertise {vm.gateway_mac}, a router, here as everywhere")


def on_subnet6(flow: Flow, peer: VM) -> tuple[Flow, ...]:
    """The IPv6 twin of a routed peer's switching entry, for frames from its own IPv6 subnet."""
    if not peer.routed or peer.ip6 is None:
        return ()
    return (replace(flow, match=match(**{k: v for k, v in flow.fields.items() if k not in ("eth_type", "ipv4_src")},
                                      eth_type=ETH_IP6, ipv6_src=peer.ip6.network)),)


def route6(peer: VM, then: tuple[Action, ...], where: str) -> tuple[Flow, ...]:
    """To `peer`'s IPv6 address through the gateway: hop limit - 1, MACs rewritten, then `then`."""
    if peer.ip6 is None:
        return ()
    rewrite: tuple[Action, ...] = (SetField("eth_src", peer.gateway_mac), SetField("eth_dst", peer.mac), DecTtl())
    return (Flow(PRIO, match(metadata=peer.vni, eth_dst=peer.gateway_mac, eth_type=ETH_IP6,
                             ipv6_dst=host(peer.ip6.ip)),
                 (*rewrite, *then), table=T_FORWARD, purpose=ROUTE,
                 note=f"routed to {peer.label} ({peer.ip6.network}) {where}: hop limit - 1, MACs rewritten"),)


def _solicited(vni: int, target: IPv6Address, **scope: MatchValue) -> tuple[tuple[str, MatchValue], ...]:
    return match(metadata=vni, eth_type=ETH_IP6, ip_proto=ICMP6, icmpv6_type=ND_SOLICIT,
                 ipv6_nd_target=host(target), **scope)
