"""What turns what a datapath holds into what it should hold: the difference between two Tables, and
what a switch holds once that difference is sent. Pure, as the tables themselves."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from controller.flows import Flow, Meter, SelectGroup, Tables

T = TypeVar("T", SelectGroup, Meter)


@dataclass(frozen=True)
class Delta:
    """What turns one datapath's tables into another's: the only messages worth sending."""

    remove_flows: tuple[Flow, ...] = ()
    add_flows: tuple[Flow, ...] = ()
    remove_groups: tuple[SelectGroup, ...] = ()
    add_groups: tuple[SelectGroup, ...] = ()
    modify_groups: tuple[SelectGroup, ...] = ()
    remove_meters: tuple[Meter, ...] = ()
    add_meters: tuple[Meter, ...] = ()
    modify_meters: tuple[Meter, ...] = ()

    def __bool__(self) -> bool:
        return self.changes > 0

    @property
    def changes(self) -> int:
        """How many flow, group and meter mods it takes."""
        return sum(map(len, (self.remove_flows, self.add_flows, self.remove_groups, self.add_groups,
                             self.modify_groups, self.remove_meters, self.add_meters, self.modify_meters)))


def key(flow: Flow) -> tuple[object, ...]:
    """What OpenFlow identifies a flow by: an add with the same key replaces the flow in one step."""
    return (flow.table, flow.priority, flow.match)


def diff(old: Tables | None, new: Tables) -> Delta:
    """The difference from `old` (None: an empty switch) to `new`, as OVN pushes only what changed. A
    flow whose actions change is only re-added (the add replaces it), never deleted first."""
    old_flows, new_flows = set(old.flows) if old else set(), set(new.flows)
    add_flows = tuple(f for f in new.flows if f not in old_flows)
    replaced = {key(f) for f in add_flows}
    groups = _by_id({g.group_id: g for g in old.groups} if old else {}, {g.group_id: g for g in new.groups})
    meters = _by_id({m.meter_id: m for m in old.meters} if old else {}, {m.meter_id: m for m in new.meters})
    return Delta(
        remove_flows=tuple(f for f in (old.flows if old else ()) if f not in new_flows and key(f) not in replaced),
        add_flows=add_flows, remove_groups=groups[0], add_groups=groups[1], modify_groups=groups[2],
        remove_meters=meters[0], add_meters=meters[1], modify_meters=meters[2])


def _by_id(old: dict[int, T], new: dict[int, T]) -> tuple[tuple[T, ...], tuple[T, ...], tuple[T, ...]]:
    """Groups or meters, known by their ids: those gone, those new, those changed."""
    return (tuple(v for i, v in old.items() if i not in new), tuple(v for i, v in new.items() if i not in old),
            tuple(v for i, v in new.items() if i in old and old[i] != v))


def applied(tables: Tables, delta: Delta) -> Tables:
    """What a datapath holding `tables` holds once `delta` is sent: an added flow replaces the one with
    its table, priority and match, as OpenFlow's add does."""
    added = {key(f) for f in delta.add_flows}
    gone = set(delta.remove_flows)
    flows = [f for f in tables.flows if f not in gone and key(f) not in added]
    changed = {g.group_id for g in (*delta.add_groups, *delta.modify_groups, *delta.remove_groups)}
    groups = [g for g in tables.groups if g.group_id not in changed]
    metered = {m.meter_id for m in (*delta.add_meters, *delta.modify_meters, *delta.remove_meters)}
    meters = [m for m in tables.meters if m.meter_id not in metered]
    return Tables(tables.name, tables.dpid, (*flows, *delta.add_flows), (*groups, *delta.add_groups,
                  *delta.modify_groups), (*meters, *delta.add_meters, *delta.modify_meters))

