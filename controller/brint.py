"""The plan of a server's br-int, shared by the compilers that write it (controller.overlay for every
tenant, controller.routed for routed ones): its tables, its priorities, and how it answers ARP."""
from __future__ import annotations

from ipaddress import IPv4Address

from controller.flows import ARP_REPLY, IN_PORT, Action, Move, Output, SetField

T_CLASSIFY, T_ARP, T_FORWARD, T_DELIVER = 0, 1, 2, 3
PRIO, PRIO_MISS = 100, 0


def arp_answer(mac: str, ip: IPv4Address) -> tuple[Action, ...]:
    """Turn an ARP request into the reply `ip is at mac`, sent back where it came from."""
    return (Move("eth_src", "eth_dst"), SetField("eth_src", mac), SetField("arp_op", ARP_REPLY),
            Move("arp_sha", "arp_tha"), SetField("arp_sha", mac), Move("arp_spa", "arp_tpa"),
            SetField("arp_spa", ip), Output(IN_PORT))
