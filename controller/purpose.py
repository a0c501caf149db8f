"""What each compiled flow is for, in the lecture's words: the compilers give every flow one of these
(Flow.purpose), and `tables` shows a datapath's flows grouped by them, `tables --summary` counts them."""
from __future__ import annotations

DOOR, ARP_RESPONDER, UNDERLAY_ROUTE, ECMP, DETOUR, VM_ROUTE, DROP = (
    "door", "ARP responder", "underlay route", "ECMP", "detour", "VM route", "drop")
PORT_SECURITY, TUNNEL_ACCEPT, FROM_UNDERLAY, ENCAPSULATE, TO_UNDERLAY, DELIVER, REPLICATE, ROUTE, ND_RESPONDER = (
    "port security", "tunnel accept", "from the underlay", "encapsulate", "to the underlay", "deliver", "replicate",
    "route", "ND responder")

# VM_ROUTE, FROM_UNDERLAY and TO_UNDERLAY exist in flat mode only (controller.flat)
UNDERLAY_PURPOSES = (DOOR, ARP_RESPONDER, UNDERLAY_ROUTE, ECMP, DETOUR, VM_ROUTE, DROP)
VSWITCH_PURPOSES = (PORT_SECURITY, TUNNEL_ACCEPT, FROM_UNDERLAY, ARP_RESPONDER, ND_RESPONDER, ROUTE, ENCAPSULATE,
                    TO_UNDERLAY, REPLICATE, DELIVER, DROP)
