"""The lab as the live page draws it, pure: every switch and server placed as `draw` places them (core on
top, then each pod's aggregation and edge switches, its servers, their VMs), every cable up or down, every
VM with its tenant and server. The page redraws from this alone, so the same lab always looks the same."""
from __future__ import annotations

from collections.abc import Set
from typing import Any

from overlaylab.classroom.picture import tenant_colours
from topologies.fattree import CORE, EDGE
from topologies.scenario import Scenario

DX, ROW = 60, 110  # pixels between two servers, between two rows
ROWS = {CORE: 0, "agg": 1, EDGE: 2, "server": 3}


def view(scenario: Scenario, cut: Set[frozenset[str]]) -> dict[str, Any]:
    """Nodes with their place, links with their state, VMs with their server, tenants with their colour."""
    fabric = scenario.fabric
    x = {s.name: (i + 0.5) * DX for i, s in enumerate(fabric.servers)}
    for edge in fabric.edges:
        x[edge.name] = _mean(x[s.name] for s in fabric.servers if (s.pod, s.edge) == (edge.pod, edge.index))
    for pod in range(fabric.k):
        edges = [x[e.name] for e in fabric.edges if e.pod == pod]
        for agg, at in zip([s for s in fabric.switches if s.role == "agg" and s.pod == pod], edges, strict=True):
            x[agg.name] = at
    width = len(fabric.servers) * DX
    for i, core in enumerate(fabric.cores):
        x[core.name] = (i + 0.5) * width / len(fabric.cores)
    nodes = [{"name": s.name, "role": s.role, "x": x[s.name], "y": ROWS[s.role] * ROW} for s in fabric.switches]
    nodes += [{"name": s.name, "role": "server", "x": x[s.name], "y": ROWS["server"] * ROW, "address": str(s.ip)}
              for s in fabric.servers]
    colours = tenant_colours(scenario)
    return {"width": width, "height": (ROWS["server"] + 2) * ROW, "nodes": nodes,
            "links": [{"a": link.a, "b": link.b, "state": "down" if frozenset((link.a, link.b)) in cut else "up"}
                      for link in fabric.links],
            "vms": [{"vm": vm.label, "tenant": vm.tenant, "server": vm.server.name, "address": str(vm.ip.ip),
                     "colour": colours[vm.tenant]} for vm in scenario.vms],
            "tenants": [{"name": t.name, "vni": t.vni, "encap": str(t.encap), "colour": colours[t.name]}
                        for t in scenario.tenants]}


def _mean(values: Any) -> float:
    found = list(values)
    return sum(found) / len(found)
