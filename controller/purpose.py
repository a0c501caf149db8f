"""What each compiled flow is for, in the lecture's words: the groups `tables` shows a datapath's flows
in, and the rows of `tables --summary`. Pure: read from the flow model alone."""
from __future__ import annotations

from controller.flat import PRIO_VM, PRIO_VM_DETOUR, PRIO_VM_DOOR
from controller.flows import ETH_ARP, IN_PORT, Flow, Group, Output, SetField
from controller.overlay import T_ARP, T_CLASSIFY, T_DELIVER, T_FORWARD
from controller.underlay import PRIO_DETOUR
from topologies.names import PATCH

# "VM route", "from the underlay" and "to the underlay" exist in flat mode only (controller.flat)
UNDERLAY_PURPOSES = ("door", "ARP responder", "underlay route", "ECMP", "detour", "VM route", "drop")
VSWITCH_PURPOSES = ("port security", "tunnel accept", "from the underlay", "ARP responder", "encapsulate",
                    "to the underlay", "deliver", "drop")


def purpose(flow: Flow, underlay: bool) -> str:
    """One of UNDERLAY_PURPOSES or VSWITCH_PURPOSES."""
    return _underlay(flow) if underlay else _vswitch(flow)


def _underlay(flow: Flow) -> str:
    if flow.priority in (PRIO_VM, PRIO_VM_DOOR, PRIO_VM_DETOUR):
        return "VM route"
    if flow.priority == PRIO_DETOUR:
        return "detour"
    if flow.fields.get("eth_type") == ETH_ARP and Output(IN_PORT) in flow.actions:
        return "ARP responder"
    if flow.goto is not None:
        return "door"
    if any(isinstance(a, Group) for a in flow.actions):
        return "ECMP"
    return "underlay route" if flow.actions else "drop"


def _vswitch(flow: Flow) -> str:
    if not flow.actions and flow.goto is None:
        return "drop"
    if flow.table == T_CLASSIFY:
        if flow.fields.get("in_port") == PATCH:
            return "from the underlay"
        return "tunnel accept" if "tunnel_id" in flow.fields else "port security"
    if flow.table == T_ARP:
        return "ARP responder"
    if flow.table == T_FORWARD and any(isinstance(a, SetField) and a.field == "tunnel_id" for a in flow.actions):
        return "encapsulate"
    if flow.table == T_FORWARD and Output(PATCH) in flow.actions:
        return "to the underlay"
    assert flow.table in (T_FORWARD, T_DELIVER)
    return "deliver"
