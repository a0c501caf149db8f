"""From one desired state to the next: which datapath gets which flow and group changes, in an order
where no packet can take a half-built path (make before break, as OVN's incremental engine does).

  make   on every datapath, new groups, meters and flows first. A flow whose table, priority and match stay
         and whose actions change is simply re-added: OpenFlow's add replaces it in one step, so the
         old path works until the new one does (a VM's peers learn its new server this way).
  break  then, once every make is confirmed, the flows, groups and meters nobody needs any more.

Pure: the controller renders the steps; the tests read them.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from controller.delta import Delta, diff
from controller.flows import Tables

MAKE, BREAK = "make", "break"
K = TypeVar("K", str, int)  # datapaths by name (the lab) or by DPID (the controller)


@dataclass(frozen=True)
class Step:
    datapath: str
    dpid: int
    phase: str  # MAKE or BREAK
    delta: Delta

    @property
    def changes(self) -> int:
        return self.delta.changes


def plan(old: Mapping[K, Tables], new: Mapping[K, Tables]) -> list[Step]:
    """Every datapath's change from `old` to `new`, all makes before any break. A datapath missing from
    `new` is emptied; one missing from `old` starts empty."""
    makes, breaks = [], []
    for k in sorted(set(old) | set(new)):
        before = old.get(k)
        after = new[k] if k in new else Tables(old[k].name, old[k].dpid, ())
        delta = diff(before, after)  # a flow whose actions change is re-added, not removed
        make = Delta(add_flows=delta.add_flows, add_groups=delta.add_groups, modify_groups=delta.modify_groups,
                     add_meters=delta.add_meters, modify_meters=delta.modify_meters)
        drop = Delta(remove_flows=delta.remove_flows, remove_groups=delta.remove_groups,
                     remove_meters=delta.remove_meters)
        makes += [Step(after.name, after.dpid, MAKE, make)] if make else []
        breaks += [Step(after.name, after.dpid, BREAK, drop)] if drop else []
    return makes + breaks


def underlay(datapath: str) -> bool:
    """An underlay switch (`p0e0`), not a server's virtual switch (`p0e0h0/br-int`)."""
    return "/" not in datapath


def layered(per_datapath: dict[str, int]) -> dict[str, Any]:
    """Changes per datapath, and their sums per layer: how the lab reports every change and repair."""
    return {"underlay": sum(n for name, n in per_datapath.items() if underlay(name)),
            "vswitches": sum(n for name, n in per_datapath.items() if not underlay(name)),
            "datapaths": per_datapath}


def summary(steps: list[Step]) -> dict[str, Any]:
    """Flow and group changes per layer and per datapath, as the lab reports them."""
    per_datapath: dict[str, int] = {}
    for step in steps:
        per_datapath[step.datapath] = per_datapath.get(step.datapath, 0) + step.changes
    return layered(per_datapath)
