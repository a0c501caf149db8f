"""The flow model as JSON, both ways: how the controller's API hands out the tables it wants, so the lab
checks the switches against the controller's own truth instead of compiling a copy of its own. Pure.
"""
from __future__ import annotations

from ipaddress import ip_address, ip_network
from typing import Any

from controller.flows import (
    ADDRESS_FIELDS,
    Action,
    Address,
    DecTtl,
    Flow,
    Foreign,
    Group,
    MatchValue,
    Meter,
    Move,
    Output,
    SelectGroup,
    SetField,
    Tables,
)


def tables_doc(tables: Tables) -> dict[str, Any]:
    return {"name": tables.name, "dpid": tables.dpid, "flows": [_flow_doc(f) for f in tables.flows],
            "groups": [[g.group_id, list(g.ports)] for g in tables.groups],
            "meters": [[m.meter_id, m.rate, m.burst] for m in tables.meters]}


def tables_of(doc: dict[str, Any]) -> Tables:
    """The inverse of tables_doc."""
    return Tables(doc["name"], doc["dpid"], tuple(_flow_of(f) for f in doc["flows"]),
                  tuple(SelectGroup(gid, tuple(ports)) for gid, ports in doc["groups"]),
                  tuple(Meter(*meter) for meter in doc.get("meters", ())))


def _flow_doc(flow: Flow) -> dict[str, Any]:
    doc: dict[str, Any] = {"table": flow.table, "priority": flow.priority,
                           "match": [[name, _value(v)] for name, v in flow.match],
                           "actions": [_action_doc(a) for a in flow.actions], "note": flow.note,
                           "purpose": flow.purpose}
    if flow.metadata is not None:
        doc["metadata"] = flow.metadata
    if flow.goto is not None:
        doc["goto"] = flow.goto
    if flow.meter is not None:
        doc["meter"] = flow.meter
    return doc


def _flow_of(doc: dict[str, Any]) -> Flow:
    match = tuple((name, _match_value(name, v)) for name, v in doc["match"])
    return Flow(doc["priority"], match, tuple(_action_of(a) for a in doc["actions"]), doc["table"],
                doc.get("metadata"), doc.get("goto"), doc["note"], doc["purpose"], doc.get("meter"))


def _value(value: MatchValue | Address) -> int | str:
    return value if isinstance(value, int) else str(value)


def _match_value(name: str, value: int | str) -> MatchValue:
    return ip_network(value) if name in ADDRESS_FIELDS else value


def _action_doc(action: Action) -> list[Any]:
    if isinstance(action, Output):
        return ["output", action.port]
    if isinstance(action, Group):
        return ["group", action.group_id]
    if isinstance(action, SetField):
        return ["set_field", action.field, _value(action.value)]
    if isinstance(action, Move):
        return ["move", action.src, action.dst]
    if isinstance(action, Foreign):
        return ["foreign", action.text]
    return ["dec_ttl"]


def _action_of(doc: list[Any]) -> Action:
    kind, *args = doc
    if kind == "output":
        return Output(args[0])
    if kind == "group":
        return Group(args[0])
    if kind == "set_field":
        name, value = args
        return SetField(name, ip_address(value) if name in ADDRESS_FIELDS else value)
    if kind == "move":
        return Move(*args)
    if kind == "foreign":
        return Foreign(args[0])
    return DecTtl()
