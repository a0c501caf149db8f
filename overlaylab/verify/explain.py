"""`tables`: a datapath's flows grouped by what they are for, each with its live packet counter and
the reason the compiler gave for it; `tables --summary`: flows per purpose and per layer, lab-wide."""
from __future__ import annotations

from collections import Counter

from controller.flows import Tables, ofctl_flow, ofctl_match
from controller.planner import underlay
from controller.purpose import UNDERLAY_PURPOSES, VSWITCH_PURPOSES
from overlaylab.runtime.tables import FlowKey, flow_key


def datapath_text(tables: Tables, underlay: bool, counted: dict[FlowKey, int]) -> list[str]:
    """The datapath's flows by purpose; `counted` is what the switch reports (a flow it lacks shows '-')."""
    kind = "underlay switch" if underlay else "virtual switch"
    lines = [f"{tables.name} ({kind}): {len(tables.flows)} flows, {len(tables.groups)} groups; packets, flow, why"]
    for name in UNDERLAY_PURPOSES if underlay else VSWITCH_PURPOSES:
        flows = [f for f in tables.flows if f.purpose == name]
        if flows:
            lines.append(f"  {name} ({len(flows)})")
            for flow in flows:
                packets = counted.get(flow_key(ofctl_match(flow)))
                lines.append(f"    {'-' if packets is None else packets:>8}  {ofctl_flow(flow)}  # {flow.note}")
    lines += [f"  group {g.group_id}: select over ports {', '.join(map(str, g.ports)) or 'none'}"
              for g in tables.groups]
    return lines


def summary_text(compiled: dict[str, Tables]) -> list[str]:
    """Flows per purpose and per layer for the whole lab, and each layer's largest table."""
    layers = {layer: [t for name, t in compiled.items() if underlay(name) == layer] for layer in (True, False)}
    counts = {u: Counter(f.purpose for t in ts for f in t.flows) for u, ts in layers.items()}
    lines = [f"  {'purpose':<18} {'underlay':>9} {'vswitches':>10}"]
    for name in dict.fromkeys((*UNDERLAY_PURPOSES, *VSWITCH_PURPOSES)):
        lines.append(f"  {name:<18} {counts[True][name]:>9} {counts[False][name]:>10}")
    lines.append(f"  {'total':<18} {sum(counts[True].values()):>9} {sum(counts[False].values()):>10}")
    for layer, tables in layers.items():
        if tables:
            biggest = max(tables, key=lambda t: len(t.flows))
            lines.append(f"  largest {'underlay' if layer else 'virtual switch'} table: {biggest.name}, "
                         f"{len(biggest.flows)} flows ({len(tables)} datapaths)")
    return lines
