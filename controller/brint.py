"""The plan of a server's br-int, shared by the compilers that write it (controller.overlay for every
tenant, controller.routed for routed ones, controller.ipv6 for dual-stack ones): its tables, its
priorities, and how it answers ARP and IPv6 neighbour discovery."""
from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from controller.flows import (
    ARP_REPLY,
    ETH_IP6,
    GROUP_BIT,
    ICMP6,
    IN_PORT,
    ND_ADVERT,
    Action,
    Flow,
    MatchValue,
    Meter,
    Move,
    Output,
    SetField,
    match,
)
from controller.purpose import ND_RESPONDER, PORT_SECURITY
from topologies.model import FLOOD_LIMIT, VM

T_CLASSIFY, T_ARP, T_FORWARD, T_DELIVER, T_ADVERTISE = 0, 1, 2, 3, 4
PRIO, PRIO_MISS = 100, 0
NA_ROUTER, NA_HOST = 0xE0000000, 0x60000000  # an advertisement's flags: Router, Solicited, Override
ND_TARGET_LLADDR = 2  # the option an advertisement carries where a solicitation carries the source's


def arp_answer(mac: str, ip: IPv4Address) -> tuple[Action, ...]:
    """Turn an ARP request into the reply `ip is at mac`, sent back where it came from."""
    return (Move("eth_src", "eth_dst"), SetField("eth_src", mac), SetField("arp_op", ARP_REPLY),
            Move("arp_sha", "arp_tha"), SetField("arp_sha", mac), Move("arp_spa", "arp_tpa"),
            SetField("arp_spa", ip), Output(IN_PORT))


def flood_meter(vm: VM) -> Meter:
    """The meter a VM's broadcasts and multicasts pass: its own, numbered as its port."""
    return Meter(vm.port, FLOOD_LIMIT, FLOOD_LIMIT)


def flood_door(vm: VM, own: dict[str, MatchValue]) -> Flow:
    """A VM's broadcast or multicast (sent from its own addresses, `own`), through its meter: however fast
    it floods, its tenant gets FLOOD_LIMIT of them a second at most, and so does the underlay."""
    return Flow(PRIO + 1, match(**own, eth_dst=GROUP_BIT), table=T_CLASSIFY, metadata=vm.vni, goto=T_FORWARD,
                meter=flood_meter(vm).meter_id, purpose=PORT_SECURITY,
                note=f"broadcast or multicast from {vm.label}: at most {FLOOD_LIMIT} a second (meter {vm.port})")


def nd_answer(mac: str, ip6: IPv6Address, router: bool = False) -> tuple[Action, ...]:
    """Turn a neighbour solicitation into the advertisement `ip6 is at mac`, the same size (its source
    link-layer option becomes the target's), to be finished by advertise() in T_ADVERTISE: OVS lets a
    flow write the target's link-layer address only into a packet that already is an advertisement."""
    return (SetField("icmpv6_type", ND_ADVERT), SetField("nd_reserved", NA_ROUTER if router else NA_HOST),
            SetField("nd_options_type", ND_TARGET_LLADDR), Move("eth_src", "eth_dst"), SetField("eth_src", mac),
            Move("ipv6_src", "ipv6_dst"), SetField("ipv6_src", ip6))


def advertise() -> Flow:
    """The second half of every nd_answer: the advertised MAC (now the source MAC) into the target option,
    and back to the asker."""
    return Flow(PRIO, match(eth_type=ETH_IP6, ip_proto=ICMP6, icmpv6_type=ND_ADVERT, icmpv6_code=0),
                (Move("eth_src", "ipv6_nd_tll"), Output(IN_PORT)), table=T_ADVERTISE,
                note="a neighbour advertisement made here: its target's MAC into the option, back to the asker",
                purpose=ND_RESPONDER)
