"""Pictures of the live lab, for a projector: the fabric (core, aggregation, edge, racks of servers),
every VM as a cell of its server coloured by tenant (with its addresses, so a routed tenant's subnets
show), each tenant's subnets in the legend, links that are down, and a traced path (every ECMP branch)
drawn over it. The picture is Graphviz DOT text made by pure functions; `render` hands
it to Graphviz's `dot` for SVG or PNG.

Each rack is one node, a table of its servers with their VMs, so that even a k=8 fabric (128 servers,
256 VMs) is a picture of 32 racks under 80 switches rather than a row of 400 boxes; from k=8 on, racks
are compact (no addresses, VMs as coloured cells named in their tooltips) to stay legible.
"""
from __future__ import annotations

import html
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path as FilePath

from controller.trace import Path, cables
from overlaylab.errors import LabError
from topologies.fattree import AGG, CORE, EDGE, FatTree, Server, Switch
from topologies.scenario import VM, Routing, Scenario, Tenant

# ColorBrewer's Set2 and Pastel1: soft enough to read black text on, distinct enough to tell apart
PALETTE = ("#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854", "#ffd92f", "#e5c494", "#b3b3b3",
           "#fbb4ae", "#b3cde3", "#ccebc5", "#decbe4", "#fed9a6", "#ffffcc", "#e5d8bd", "#fddaec")
PATH_COLOUR = "#d7301f"
TRACED = f'color="{PATH_COLOUR}", penwidth=3'  # how a traced switch or cable stands out
COMPACT_K = 8  # from this size on, racks leave out addresses and VM names
_FILL = {CORE: "#d9d9d9", AGG: "#e8e8e8", EDGE: "#f2f2f2"}
FORMATS = ("svg", "png")


def tenant_colours(scenario: Scenario) -> dict[str, str]:
    return {t.name: PALETTE[i % len(PALETTE)] for i, t in enumerate(scenario.tenants)}


def dot(scenario: Scenario, down: set[frozenset[str]] | frozenset[frozenset[str]] = frozenset(),
        paths: Sequence[Path] = (), ends: tuple[str, ...] = (), title: str = "",
        where: Mapping[str, str] | None = None) -> str:
    """The whole picture as DOT: `down` are cables that are down, `paths` a trace from `ends[0]` to
    `ends[1]` (servers or tenant/vm names) to draw over it; `where` the machine of each switch and server of a
    lab over several (each named under it, the cables between machines drawn as stitches)."""
    fabric, colours, where = scenario.fabric, tenant_colours(scenario), where or {}
    crossed = cables(list(paths), *(server_of(scenario, end) for end in ends)) if len(ends) == 2 else set()
    lines = ["graph fabric {", '  graph [rankdir=TB, nodesep=0.25, ranksep=0.9, fontname="Helvetica", fontsize=20, '
             f'labelloc=t, label="{_escape(title or _title(scenario))}"];',
             '  node [fontname="Helvetica", fontsize=12]; edge [color="#7f7f7f"];']
    for role in (CORE, AGG, EDGE):
        names = [s.name for s in fabric.switches if s.role == role]
        styled = [f'"{n}" [shape=box, style="rounded,filled", fillcolor="{_FILL[role]}"{_on_path(n, crossed)}'
                  f'{_machine_label(n, where)}]' for n in names]
        lines.append(_rank(styled, names))
    edges = [s for s in fabric.switches if s.role == EDGE]
    racks = [_rack(scenario, edge, colours, set(ends), down, where) for edge in edges]
    legend = [_legend(scenario, colours)] if scenario.tenants else []
    lines.append(_rank([*racks, *legend], [f"rack_{e.name}" for e in edges] + (["legend"] if legend else [])))
    lines += [f"  {_cable(link.b, link.a, down, crossed, where)}" for link in fabric.links  # upper end first
              if fabric.switch(link.a) and fabric.switch(link.b)]
    lines += [f"  {_rack_cable(scenario.fabric, edge, crossed)}" for edge in edges]
    return "\n".join([*lines, "}"]) + "\n"


def _rank(nodes: list[str], order: list[str]) -> str:
    """One row of the picture, kept in the fabric's order (pod by pod) by an invisible chain."""
    chain = " -- ".join(f'"{n}"' for n in order)
    return f"  {{ rank=same; {'; '.join(nodes)}; {chain} [style=invis] }}" if len(order) > 1 else \
        f"  {{ rank=same; {'; '.join(nodes)} }}"


def server_of(scenario: Scenario, name: str) -> str:
    """The server a traced end is on: itself, or a VM's."""
    return next((vm.server.name for vm in scenario.vms if vm.label == name), name)


def _machine_label(node: str, where: Mapping[str, str]) -> str:
    """A switch's label with its machine under it, in a lab over several."""
    return f', label="{node}\\n{where[node]}"' if node in where else ""


def _title(scenario: Scenario) -> str:
    fabric = scenario.fabric
    mode = ", flat mode" if scenario.flat else ""
    return (f"k={fabric.k} fat-tree: {len(fabric.switches)} switches, {len(fabric.servers)} servers, "
            f"{len(scenario.vms)} VMs in {len(scenario.tenants)} tenants{mode}")


def _on_path(node: str, crossed: set[frozenset[str]]) -> str:
    return f", {TRACED}" if any(node in link for link in crossed) else ""


def _rack(scenario: Scenario, edge: Switch, colours: dict[str, str], ends: set[str],
          down: set[frozenset[str]] | frozenset[frozenset[str]], where: Mapping[str, str]) -> str:
    """One rack: a table row per server (its name and address, then a coloured cell per VM); a traced
    end is shaded, a server whose uplink is down says so."""
    compact = scenario.fabric.k >= COMPACT_K
    rows = []
    for server in _servers(scenario.fabric, edge):
        vms = [vm for vm in scenario.vms if vm.server == server]
        cells = "".join(_vm_cell(vm, colours, ends, compact) for vm in vms) or '<TD BORDER="0"> </TD>'
        marked = ' BGCOLOR="#fde0dd"' if server.name in ends or any(vm.label in ends for vm in vms) else ""
        address = "" if compact else f' <FONT POINT-SIZE="9">{server.ip}</FONT>'
        address += f' <FONT POINT-SIZE="9">on {where[server.name]}</FONT>' if server.name in where else ""
        cut = ' <FONT COLOR="#969696">(uplink down)</FONT>' if frozenset((server.name, edge.name)) in down else ""
        rows.append(f'<TR><TD ALIGN="LEFT"{marked}><B>{server.name}</B>{address}{cut}</TD>{cells}</TR>')
    table = f'<<TABLE BORDER="1" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">{"".join(rows)}</TABLE>>'
    return f'"rack_{edge.name}" [shape=plain, label={table}]'


def _servers(fabric: FatTree, edge: Switch) -> list[Server]:
    return [s for s in fabric.servers if (s.pod, s.edge) == (edge.pod, edge.index)]


def _rack_cable(fabric: FatTree, edge: Switch, crossed: set[frozenset[str]]) -> str:
    """The edge switch's cables to its rack, drawn as one (traced when the packet used any of them)."""
    used = any(frozenset((s.name, edge.name)) in crossed for s in _servers(fabric, edge))
    return f'"{edge.name}" -- "rack_{edge.name}" [{TRACED if used else ""}];'


def _vm_cell(vm: VM, colours: dict[str, str], ends: set[str], compact: bool) -> str:
    """A VM in its tenant's colour, named (in its tooltip only, when compact); a bare-metal member says
    so; a traced end is framed in red."""
    addresses = [str(a) for a in (vm.ip, vm.ip6) if a]
    name = "&#160;" if compact else html.escape(vm.name) + (" (bare metal)" if vm.bare_metal else "")
    under = "" if compact else "".join(f'<BR/><FONT POINT-SIZE="8">{a}</FONT>' for a in addresses)
    frame = f' COLOR="{PATH_COLOUR}" BORDER="3"' if vm.label in ends else ""
    return (f'<TD BGCOLOR="{colours[vm.tenant]}"{frame} WIDTH="14" TITLE="{html.escape(vm.label)} '
            f'{" ".join(addresses)}"><FONT POINT-SIZE="10">{name}</FONT>{under}</TD>')


def _cable(a: str, b: str, down: set[frozenset[str]] | frozenset[frozenset[str]], crossed: set[frozenset[str]],
           where: Mapping[str, str]) -> str:
    """A cable between two switches: down, traced, stitched between two machines, or plain."""
    if frozenset((a, b)) in down:
        style = 'style=dashed, color="#bdbdbd", label="down", fontcolor="#969696"'
    elif frozenset((a, b)) in crossed:
        style = TRACED
    elif where.get(a) != where.get(b):
        style = 'style=dashed, color="#3182bd", tooltip="stitched between machines (VXLAN, UDP 8472)"'
    else:
        style = ""
    return f'"{a}" -- "{b}" [{style}];'


def _legend(scenario: Scenario, colours: dict[str, str]) -> str:
    rows = "".join(f'<TR><TD BGCOLOR="{colours[t.name]}">{html.escape(t.name)}</TD>'
                   f'<TD ALIGN="LEFT">VNI {t.vni}, {"routed bare (flat)" if scenario.flat else t.encap}, '
                   f'{len(t.vms)} VMs; {_subnets(t)}</TD></TR>' for t in scenario.tenants)
    table = (f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3"><TR><TD COLSPAN="2">'
             f'<B>tenants</B></TD></TR>{rows}</TABLE>>')
    return f'"legend" [shape=plain, label={table}]'


def _subnets(tenant: Tenant) -> str:
    """Where a tenant's VMs live: its subnet, or (routed at every virtual switch) its subnets."""
    nets = ", ".join(map(str, [*tenant.subnets, *tenant.subnets6]))
    return f"routed between {nets}" if tenant.routing is Routing.DISTRIBUTED else nets


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def render(source: str, path: str | FilePath) -> None:
    """Have Graphviz draw the DOT source to `path`, as SVG or PNG by its extension."""
    kind = FilePath(path).suffix.lstrip(".").lower()
    if kind not in FORMATS:
        raise LabError(f"cannot draw {path}: name a .svg or .png file")
    try:
        subprocess.run(["dot", f"-T{kind}", "-o", str(path)], input=source, text=True, check=True,
                       capture_output=True, timeout=120)
    except FileNotFoundError:
        raise LabError("Graphviz's `dot` is not installed: run `sudo make install`") from None
    except subprocess.CalledProcessError as exc:
        said = (exc.stderr.strip().splitlines() or ["no message"])[-1]
        raise LabError(f"Graphviz could not draw {path}: {said}") from None
