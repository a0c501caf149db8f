"""Exercises where the student writes (or repairs) flow entries of one table of one virtual switch.

The exercise names a server of the variant (`server: S`), a table and the purpose of the compiled entries
it is about (controller.purpose's words). The starting point is empty (write them), or the compiled
entries with one planted fault (find and fix it): `leak` sends one tenant's packets to the other tenant's
VM of the same MAC, `vtep` accepts a tenant's tunnel from a server that does not host it instead of one
that does, `vni` encapsulates one tenant with the other's VNI. The solution is the compiled entries.

The check builds the variant's lab, takes those entries out of the switch, puts the student's in and runs
the full probing session: every pair of VMs (across tenants too, to every VM, also those that share a MAC
or an address), ARP for every address from every VM, the tunnel forgery and rogue host attacks. A wrong
answer is told which pairs, which ARP answers or which attacks went wrong, never the right entry.
"""
from __future__ import annotations

import re
from dataclasses import replace

from controller.flows import Flow, SetField, host, ofctl_flow, ofctl_match
from controller.overlay import compile_overlay
from overlaylab.classroom.catalog import Exercise, Verdict, lab_of, scenario_of
from overlaylab.classroom.forged import from_stranger
from overlaylab.classroom.variant import Variant
from overlaylab.classroom.verdicts import probed
from overlaylab.runtime.running import RunningLab
from overlaylab.runtime.tables import ofctl
from topologies.fattree import FatTree
from topologies.names import vswitch_name
from topologies.scenario import Scenario

TABLE_RE = re.compile(r"(?:^|,)\s*table\s*=\s*(\d+)")


def _server(exercise: Exercise, variant: Variant, scenario: Scenario) -> str:
    return vswitch_name(scenario.fabric.server_named(variant.facts[exercise.spec["server"]]))


def compiled(exercise: Exercise, variant: Variant) -> list[Flow]:
    """The entries of the exercise's table and purpose on its virtual switch, as the controller compiles them."""
    scenario = scenario_of(variant)
    tables = compile_overlay(scenario)[_server(exercise, variant, scenario)]
    spec = exercise.spec
    return [f for f in tables.flows if f.table == spec["table"] and f.purpose == spec["purpose"]]


def _leak(flows: list[Flow], variant: Variant, _fabric: FatTree) -> list[Flow]:
    """coke's entry for the MAC it shares with pepsi/app hands coke's packets to pepsi/app's port."""
    facts = variant.facts
    port = next(f.actions for f in flows if f.fields.get("metadata") == facts["pepsi_vni"]
                and f.fields.get("eth_dst") == facts["m2"])
    return [replace(f, actions=port) if f.fields.get("metadata") == facts["coke_vni"]
            and f.fields.get("eth_dst") == facts["m2"] else f for f in flows]


def _vtep(flows: list[Flow], variant: Variant, fabric: FatTree) -> list[Flow]:
    """coke's tunnel from C is accepted from E's address instead (E hosts nothing)."""
    wrong, right = (host(fabric.server_named(variant.facts[s]).ip) for s in ("E", "C"))
    return [replace(f, match=tuple((k, wrong if k == "tun_ipv4_src" and v == right else v)  # type: ignore[misc]
                                   for k, v in f.match)) for f in flows]


def _vni(flows: list[Flow], variant: Variant, _fabric: FatTree) -> list[Flow]:
    """coke's packets are encapsulated with pepsi's VNI."""
    facts = variant.facts
    return [replace(f, actions=tuple(SetField("tunnel_id", facts["pepsi_vni"]) if isinstance(a, SetField)
                                     and a.field == "tunnel_id" else a for a in f.actions))
            if f.fields.get("metadata") == facts["coke_vni"] else f for f in flows]


FAULTS = {"leak": _leak, "vtep": _vtep, "vni": _vni}


def _text(exercise: Exercise, variant: Variant, flows: list[Flow]) -> str:
    header = exercise.header(variant)
    return header + "".join(f"{ofctl_flow(f)}\n" for f in flows)


def start(exercise: Exercise, variant: Variant) -> str:
    fault = exercise.spec.get("fault")
    if fault is None:
        return _text(exercise, variant, [])
    return _text(exercise, variant, FAULTS[fault](compiled(exercise, variant), variant,
                                                  scenario_of(variant).fabric))


def solution(exercise: Exercise, variant: Variant, _name: str | None) -> str:
    return _text(exercise, variant, compiled(exercise, variant))


def entries(text: str) -> list[str]:
    """The flow entries of a file: its lines but blank ones and comments."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def refused(bridge: str, entry: str) -> str | None:
    """Add a student's entry to a bridge; Open vSwitch's reason if it would not take it."""
    added = ofctl("add-flow", bridge, entry, check=False)
    return (added.stderr.strip().splitlines() or ["no reason given"])[-1] if added.returncode else None


def misplaced(lines: list[str], table: int, what: str) -> list[Verdict]:
    """Entries in another table than the exercise's (no `table=` means table 0)."""
    wrong = []
    for number, line in enumerate(lines, 1):
        found = TABLE_RE.search(line.split("actions", 1)[0])
        given = int(found.group(1)) if found else 0
        if given != table:
            wrong.append(Verdict(False, f"entry {number} is in table {given}: {what} belong in table {table}"))
    return wrong


def check(exercise: Exercise, variant: Variant, text: str, name: str | None) -> list[Verdict]:
    spec = exercise.spec
    lines = entries(text)
    if not lines:
        return [Verdict(False, f"{spec['answer']} has no flow entries yet: write them one per line, in "
                               f"`ovs-ofctl add-flow` syntax")]
    if wrong := misplaced(lines, spec["table"], spec["what"]):
        return wrong
    with lab_of(variant, name) as lab:
        datapath = _server(exercise, variant, lab.scenario)
        target = lab.nodes.targets[datapath]
        for flow in lab.compiled[datapath].flows:
            if flow.table == spec["table"] and flow.purpose == spec["purpose"]:
                ofctl("del-flows", target, "--strict", ofctl_match(flow))
        for number, line in enumerate(lines, 1):
            if said := refused(target, line):
                return [Verdict(False, f"{spec['answer']}, entry {number}: Open vSwitch refused it ({said})")]
        return probed(lab, spec.get("hints", {})) + _forged(exercise, variant, lab)


def _forged(exercise: Exercise, variant: Variant, lab: RunningLab) -> list[Verdict]:
    """The exercise's forged tunnel packet (`forge: {victim, server}`), from a server the tenant does not use."""
    forge = exercise.spec.get("forge")
    if forge is None:
        return []
    stranger, tenant = variant.facts[forge["server"]], forge["victim"].split("/")[0]
    if not from_stranger(lab, forge["victim"], stranger):
        return []
    return [Verdict(False, f"server {stranger}, which hosts no {tenant} VM, sent a tunnel packet with {tenant}'s VNI, "
                           f"and {forge['victim']} received it: {exercise.spec['hints']['forged']}")]

