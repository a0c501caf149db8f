"""The lab as the live page draws it, pure: every switch and server placed as `draw` places them (core on
top, then each pod's aggregation and edge switches, its servers, their VMs), every cable up or down, every
VM with its tenant and server; each cable's packet and bit rates from two readings of its port counters;
and a traced packet's paths, predicted and observed, with the header stack it had on each cable. The page
redraws from these alone, so the same lab always looks the same."""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Set
from typing import Any

from controller.trace import cables_along
from overlaylab.classroom.picture import tenant_colours
from overlaylab.verify.observe import Sighting, Traced, in_order
from overlaylab.verify.observegroup import copies, ends_of
from probes.packets import header_stack
from topologies.fattree import CORE, EDGE, FatTree
from topologies.scenario import Scenario

DX, ROW = 60, 110  # pixels between two servers, between two rows (at least)
ASPECT = 2.8  # the drawing's width over its height at most: a wide fabric gets taller rows, not a thin strip
ROWS = {CORE: 0, "agg": 1, EDGE: 2, "server": 3}
Counters = dict[str, tuple[int, int]]  # a cable (`a-b`): bytes and packets its upper end's port sent and received


def view(scenario: Scenario, cut: Set[frozenset[str]], where: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Nodes with their place (and machine, `where` a lab spreads over several), links with their state, VMs
    with their server, tenants with their colour."""
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
    cables, down = Counter(n for link in fabric.links for n in (link.a, link.b)), Counter(n for c in cut for n in c)
    cut_off = {name for name, count in cables.items() if down[name] == count}  # every cable of it down: it is down
    row = max(ROW, width / ASPECT / (ROWS["server"] + 2))
    nodes = [{"name": s.name, "role": s.role, "x": x[s.name], "y": ROWS[s.role] * row,
              "state": "down" if s.name in cut_off else "up"} for s in fabric.switches]
    nodes += [{"name": s.name, "role": "server", "x": x[s.name], "y": ROWS["server"] * row, "address": str(s.ip),
               "state": "down" if s.name in cut_off else "up"} for s in fabric.servers]
    for node in nodes if where else ():
        node["machine"] = where[node["name"]]  # type: ignore[index]
    colours = tenant_colours(scenario)
    return {"width": width, "height": (ROWS["server"] + 2) * row, "nodes": nodes,
            "links": [{"a": link.a, "b": link.b, "state": "down" if frozenset((link.a, link.b)) in cut else "up"}
                      for link in fabric.links],
            "vms": [{"vm": vm.label, "tenant": vm.tenant, "server": vm.server.name,
                     "address": " ".join(str(a) for a in (vm.ip, vm.ip6) if a),
                     "colour": colours[vm.tenant]} for vm in scenario.vms],
            "tenants": [{"name": t.name, "vni": t.vni, "encap": str(t.encap), "colour": colours[t.name],
                         "routing": t.routing.value} for t in scenario.tenants]}


def link_ports(fabric: FatTree) -> dict[str, str]:
    """Where each cable is counted: its upper end's interface (a switch's port; `p0e0-eth1`), by `a-b`."""
    return {f"{link.a}-{link.b}": f"{link.b}-eth{link.b_port}" for link in fabric.links}


def netdev(text: str) -> dict[str, tuple[int, int]]:
    """Bytes and packets, received plus sent, per interface, from /proc/PID/net/dev."""
    found = {}
    for line in text.splitlines()[2:]:
        name, _, numbers = line.partition(":")
        fields = [int(n) for n in numbers.split()]
        found[name.strip()] = (fields[0] + fields[8], fields[1] + fields[9])
    return found


def rates(before: Counters, after: Counters, seconds: float) -> dict[str, list[float]]:
    """Packets and bits per second on each cable counted both times (both directions together)."""
    return {link: [round((now[1] - was[1]) / seconds, 1), round(8 * (now[0] - was[0]) / seconds)]
            for link, now in after.items() if (was := before.get(link)) is not None and seconds > 0}


def trace_view(traced: Traced, src: str, dst: str | None, servers: dict[str, str] | None = None) -> dict[str, Any]:
    """A traced packet as the page animates it: the nodes of each predicted path from server `src` (to
    server `dst` when delivered), then the cables it was seen on in order, each with its header stack; a
    broadcast's copies side by side, a step at a time (`servers`: each VM's)."""
    servers = servers or {}
    paths = [{"nodes": _along(path, src, dst, servers), "verdict": path.verdict,
              "delivered": path.delivered_to is not None, "to": path.delivered_to} for path in traced.paths]
    shown: dict[str, Any] = {"src": traced.ends[0].label if traced.ends else src,
                             "dst": traced.ends[1].label if traced.ends else dst, "paths": paths}
    if traced.observed is not None and traced.reached is not None:
        return {**shown, **_copies(traced, src, servers)}
    if traced.observed is None or traced.ends is None:
        return shown
    order = cables_along(traced.paths[traced.taken], src, dst or "") if traced.taken is not None else []
    return {**shown, "observed": _hops(in_order(traced.observed.sightings, order), src), "taken": traced.taken,
            "delivered": traced.observed.delivered}


def _hops(sightings: list[Sighting], here: str) -> list[dict[str, Any]]:
    """Each sighting as the cable it crossed, in the direction it went from `here`, with its header stack
    and its step from the sender."""
    hops = []
    for step, sighting in enumerate(sightings, 1):
        there = next(iter(sighting.cable - {here}), here)
        outer, tunnel, inner = header_stack(sighting.frame)
        hops.append({"from": here, "to": there, "outer": outer, "tunnel": tunnel, "inner": inner, "step": step})
        here = there
    return hops


def _copies(traced: Traced, src: str, servers: dict[str, str]) -> dict[str, Any]:
    """A broadcast's observation: every copy's cables step by step from the sender, side by side, each
    receiving VM last."""
    assert traced.observed is not None and traced.reached is not None
    hops: list[dict[str, Any]] = []
    for index, sightings in copies(traced.observed, traced.paths, traced.each, src, servers):
        seen = _hops(sightings, src)
        hops += seen
        if seen and index >= 0 and traced.paths[index].delivered_to in traced.reached:
            hops.append({**seen[-1], "from": seen[-1]["to"], "to": traced.paths[index].delivered_to, "outer": "",
                         "tunnel": "", "step": len(seen) + 1})
    return {"observed": hops, "taken": None, "delivered": bool(traced.reached), "reached": sorted(traced.reached)}


def _along(path: Any, src: str, dst: str | None, servers: dict[str, str]) -> list[str]:
    """The nodes a path crosses from server `src` to server `dst`; without `dst` (a broadcast's copies) to
    the server of the VM it reaches."""
    nodes = [src]
    for cable in cables_along(path, src, dst) if dst else ends_of(path, src, servers):
        nodes.append(next(iter(cable - {nodes[-1]}), nodes[-1]))
    return nodes


def _mean(values: Any) -> float:
    found = list(values)
    return sum(found) / len(found)
