"""`tables`: a datapath's flows grouped by what they are for, each with its live packet counter and
the reason the compiler gave for it; `tables --summary`: flows per purpose and per layer, lab-wide."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from controller.flows import Tables, ofctl_flow, ofctl_match
from controller.planner import underlay
from controller.purpose import UNDERLAY_PURPOSES, VSWITCH_PURPOSES
from overlaylab.runtime.tables import flow_key, parse_counters


@dataclass(frozen=True)
class DatapathTables:
    """A datapath's compiled flows by purpose, each with its packet counter on the switch (None: the switch
    lacks it) and why the compiler wrote it; its groups; and what the switch itself holds right now."""

    name: str
    underlay: bool  # an underlay switch, or a server's virtual switch
    flows: dict[str, list[dict[str, Any]]]  # purpose: [{"flow": ..., "packets": ..., "note": ...}]
    groups: list[str]  # "group 1: select over ports 1, 2"
    held: str  # the switch's own flows, as ovs-ofctl prints them

    @classmethod
    def of(cls, tables: Tables, underlay: bool, held: str) -> DatapathTables:
        """Compiled `tables` beside what the switch holds (`held`, ovs-ofctl's dump-flows)."""
        counted = parse_counters(held)
        flows: dict[str, list[dict[str, Any]]] = {}
        for purpose in UNDERLAY_PURPOSES if underlay else VSWITCH_PURPOSES:
            for flow in (f for f in tables.flows if f.purpose == purpose):
                flows.setdefault(purpose, []).append({
                    "flow": ofctl_flow(flow), "packets": counted.get(flow_key(ofctl_match(flow))), "note": flow.note})
        groups = [f"group {g.group_id}: select over ports {', '.join(map(str, g.ports)) or 'none'}"
                  for g in tables.groups]
        return cls(tables.name, underlay, flows, groups, held)


def datapath_text(tables: DatapathTables) -> list[str]:
    """The datapath's flows by purpose, with their counters (a flow the switch lacks shows '-')."""
    kind = "underlay switch" if tables.underlay else "virtual switch"
    count = sum(map(len, tables.flows.values()))
    lines = [f"{tables.name} ({kind}): {count} flows, {len(tables.groups)} groups; packets, flow, why"]
    for purpose, flows in tables.flows.items():
        lines.append(f"  {purpose} ({len(flows)})")
        lines += [f"    {'-' if f['packets'] is None else f['packets']:>8}  {f['flow']}  # {f['note']}" for f in flows]
    return lines + [f"  {group}" for group in tables.groups]


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
