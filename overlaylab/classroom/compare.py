"""`overlaylab compare`: flat routing against the overlay, on real switches, as the VMs grow.

The lecture's argument, measured. With the underlay routing VM addresses itself (flat mode), "our
forwarding tables would become very large, very quickly", and a moved VM needs the routing to change;
with encapsulation the underlay only ever knows physical servers. For each fabric size and number of
VMs the same tenants are brought up twice, flat and as an overlay; the switches themselves are asked
how many flows they hold (the largest underlay table, and all underlay flows together), then one VM
moves to another pod and the controller counts the underlay flow-mods that cost. Before it moves, it
broadcasts once: in the overlay its copies are counted on its server's uplink (one per other server of its
tenant); flat mode drops it, and flooding the underlay instead would cross every cable of a spanning tree.
The rows go to a CSV and a PNG plot.
"""
from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from controller.purpose import REPLICATE
from overlaylab.classroom.onthewire import broadcast
from overlaylab.runtime import tables
from overlaylab.runtime.phases import Phases
from overlaylab.runtime.running import RunningLab, running_lab
from topologies.generate import spread_yaml
from topologies.scenario import VM, Mode, load

KS = (4, 8)
SIZES = (0, 16, 64, 256)
TENANTS = 8


@dataclass(frozen=True)
class Row:
    """One lab's figures: what its underlay switches held, and what one migration changed there."""

    k: int
    vms: int
    mode: str
    largest_table: int  # flows in the underlay switch that holds the most
    largest_switch: str
    underlay_flows: int  # all underlay switches together
    migration_underlay: int | None  # flow-mods one VM's move to another pod cost the underlay (None: no VM)
    migration_vswitches: int | None
    replication_flows: int = 0  # the virtual switches' flows that copy broadcasts (overlay)
    tenant_servers: int | None = None  # the servers of the first VM's tenant
    broadcast_copies: int | None = None  # overlay: copies of one broadcast on its sender's uplink, on the wire;
    # flat: the cables a flood over the underlay would cross (a spanning tree: every switch and server)


def measure(lab: RunningLab, k: int, vms: int) -> Row:
    """Read the real underlay tables, then move the first VM to the fabric's last server (another pod)."""
    counts = tables.flow_counts({name: lab.nodes.targets[name] for name in lab.underlay})
    biggest = max(counts, key=counts.__getitem__)
    moved, spread = None, {}
    if lab.scenario.vms:
        vm = lab.scenario.vms[0]
        spread = _broadcast(lab, vm)
        moved = lab.members.migrate(vm.label, lab.scenario.fabric.servers[-1].name)["changes"]
    return Row(k, vms, str(lab.scenario.mode), counts[biggest], biggest, sum(counts.values()),
               moved["underlay"] if moved else None, moved["vswitches"] if moved else None, **spread)


def _broadcast(lab: RunningLab, vm: VM) -> dict[str, int]:
    """What one broadcast from `vm` costs: in the overlay its copies, counted on the wire, and the flows
    that make them; in flat mode (which drops it) the cables flooding the underlay would take."""
    fabric = lab.scenario.fabric
    servers = len({v.server for v in lab.scenario.vms if v.tenant == vm.tenant})
    if lab.scenario.flat:
        return {"tenant_servers": servers, "broadcast_copies": len(fabric.switches) + len(fabric.servers) - 1}
    flows = sum(f.purpose == REPLICATE for t in lab.compiled.values() for f in t.flows)
    return {"replication_flows": flows, "tenant_servers": servers, "broadcast_copies": len(broadcast(lab, vm)[0])}


def compare(ks: tuple[int, ...] = KS, sizes: tuple[int, ...] = SIZES,
            say: Callable[[str], object] = lambda _: None, name: str | None = None) -> list[Row]:
    """Every (k, VMs, mode) lab, built and measured, a row each; `say` hears which one is being built."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="overlaylab-compare-") as scratch, open(os.devnull, "w") as quiet:
        for k in ks:
            for vms in sizes:
                path = Path(scratch) / f"k{k}-{vms}.yaml"
                path.write_text(spread_yaml(k, vms, TENANTS))
                for mode in (Mode.FLAT, Mode.OVERLAY):
                    say(f"  k={k}, {vms} VMs, {mode}: building and measuring ...")
                    with running_lab(load(path, mode=mode), Phases(quiet), "bench", name) as lab:
                        rows.append(measure(lab, k, vms))
    return rows


def holds(rows: list[Row]) -> bool:
    """The lecture's claim: the overlay's underlay is the same whatever the VMs and never changes when one
    moves; the flat underlay is larger once there are VMs."""
    overlay = [r for r in rows if r.mode == str(Mode.OVERLAY)]
    same = all(len({r.underlay_flows for r in overlay if r.k == k}) == 1 for k in {r.k for r in overlay})
    still = all(not r.migration_underlay for r in overlay)
    grows = all(r.underlay_flows > o.underlay_flows for r in rows if r.mode == str(Mode.FLAT) and r.vms
                for o in overlay if (o.k, o.vms) == (r.k, r.vms))
    return same and still and grows


def table(rows: list[Row]) -> str:
    """The rows under two header rows, within 80 columns."""
    lines = [f"  {'':>2} {'':>5}  {'':<8} {'largest underlay':>18} {'all underlay':>14} {'underlay flow-mods':>20}",
             f"  {'k':>2} {'VMs':>5}  {'mode':<8} {'table (switch)':>18} {'flows':>14} {'of one migration':>20}"]
    for r in rows:
        moved = "-" if r.migration_underlay is None else str(r.migration_underlay)
        lines.append(f"  {r.k:>2} {r.vms:>5}  {r.mode:<8} {f'{r.largest_table} ({r.largest_switch})':>18} "
                     f"{r.underlay_flows:>14} {moved:>20}")
    return "\n".join(lines) + "\n"


def broadcast_table(rows: list[Row]) -> str:
    """One broadcast from the first VM: the overlay's copies (one per other server of its tenant, counted on
    the wire) against the cables a flood over the flat underlay would cross."""
    lines = ["  one broadcast: copies on the wire (overlay), cables a flood would take (flat)",
             f"  {'k':>2} {'VMs':>5}  {'tenant servers':>15} {'overlay copies':>15} {'replication flows':>18} "
             f"{'flood cables':>13}"]
    for r in (r for r in rows if r.mode == str(Mode.OVERLAY) and r.tenant_servers):
        flat = next((f for f in rows if (f.k, f.vms, f.mode) == (r.k, r.vms, str(Mode.FLAT))), None)
        lines.append(f"  {r.k:>2} {r.vms:>5}  {r.tenant_servers:>15} {r.broadcast_copies:>15} "
                     f"{r.replication_flows:>18} {flat.broadcast_copies if flat else '-':>13}")
    return "\n".join(lines) + "\n"


def write_csv(rows: list[Row], path: Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[field.name for field in fields(Row)])
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)


def plot(rows: list[Row], path: Path) -> None:
    """Three panels against the number of VMs (the largest underlay table, all underlay flows, one
    migration's underlay flow-mods): a colour per fabric size, solid flat, dashed overlay."""
    import matplotlib
    matplotlib.use("Agg")  # no screen: draw straight to the file
    import matplotlib.pyplot as plt
    panels = (("largest underlay table", "flows", lambda r: r.largest_table),
              ("all underlay tables", "flows", lambda r: r.underlay_flows),
              ("one VM moves to another pod", "underlay flow-mods", lambda r: r.migration_underlay))
    figure, axes = plt.subplots(1, len(panels), figsize=(14, 4.5), sharex=True)
    for colour, k in enumerate(sorted({r.k for r in rows})):
        for mode, style in ((str(Mode.FLAT), "o-"), (str(Mode.OVERLAY), "s--")):
            mine = sorted((r for r in rows if (r.k, r.mode) == (k, mode)), key=lambda r: r.vms)
            for ax, (_, _, value) in zip(axes, panels, strict=True):
                points = [(r.vms, value(r)) for r in mine if value(r) is not None]
                ax.plot([x for x, _ in points], [y for _, y in points], style, color=f"C{colour}",
                        label=f"{mode}, k={k}")
    for ax, (title, unit, _) in zip(axes, panels, strict=True):
        ax.set(title=title, xlabel="VMs in the datacenter", ylabel=unit)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend()
    figure.suptitle("Routing VM addresses in the underlay (flat) against encapsulation (overlay), "
                    "measured on the switches")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
