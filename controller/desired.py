"""The controller's desired state, in one place (OVN's northbound, in miniature): the scenario with its
VMs on their ports, the links known to be down, and the tables they compile to. Pure: no OpenFlow, no
threads; controller.reconciler decides what to do with it.
"""
from __future__ import annotations

from typing import Any

from controller.flat import underlay_tables
from controller.flows import Tables
from controller.overlay import compile_overlay, recompile
from topologies import scenario
from topologies.names import vswitch_dpid, vswitch_name
from topologies.scenario import Scenario, ScenarioError


def by_dpid(*tables: dict[str, Tables]) -> dict[int, Tables]:
    return {t.dpid: t for named in tables for t in named.values()}


def link_name(link: frozenset[str]) -> str:
    return "-".join(sorted(link))


class DesiredState:
    """What every datapath must hold, and why."""

    def __init__(self, lab: Scenario) -> None:
        self.scenario = lab
        self.down: set[frozenset[str]] = set()  # links between underlay switches that are down
        self.underlay, self.overlay = underlay_tables(lab), compile_overlay(lab)
        self.tables = by_dpid(self.underlay, self.overlay)
        self.switch_names = {t.dpid: t.name for t in self.underlay.values()}
        self.names = {**{vswitch_dpid(s): vswitch_name(s) for s in lab.fabric.servers}, **self.switch_names}

    def validated(self, body: Any) -> Scenario:
        """A new state from the API, validated like a scenario file; VMs that stay keep their ports unless
        the body says which. It must name its tenants, even none (`tenants: {}`): a body that forgot them
        must not empty a running lab."""
        if not isinstance(body, dict) or not isinstance(body.get("scenario"), dict):
            raise ScenarioError('expected a JSON object {"scenario": {...}, "ports": {"tenant/vm": port}}')
        if "tenants" not in body["scenario"]:
            raise ScenarioError("the new desired state: tenants: missing; name every tenant, or write "
                                "tenants: {} to remove them all")
        ports = body.get("ports")
        if ports is not None and (not isinstance(ports, dict) or not all(isinstance(p, str) for p in ports)):
            raise ScenarioError('the new desired state: ports: expected {"tenant/vm": port, ...}')
        new = scenario.parse(body["scenario"], "the new desired state", mode=self.scenario.mode)
        if new.fabric != self.scenario.fabric:
            raise ScenarioError(f"the new desired state: fabric: k={new.fabric.k}, but the running fabric is "
                                f"k={self.scenario.fabric.k}; the fabric cannot change while the lab runs")
        return scenario.bind(new, ports or scenario.carried_ports(self.scenario, new))

    def change(self, new: Scenario) -> None:
        """Take `new`: only the servers hosting a changed tenant are compiled again (and in flat mode,
        where the underlay routes VM addresses, the underlay)."""
        self.overlay = recompile(self.scenario, new, self.overlay)
        self.scenario = new
        if new.flat:
            self.reroute()
        self.tables = by_dpid(self.underlay, self.overlay)

    def name(self, dpid: int) -> str:
        """How reports name a datapath of this fabric (`p0a1`, `p0e0h0/br-int`), or its DPID in hex."""
        return self.names.get(dpid, f"{dpid:016x}")

    def port(self, switch: str, port: int, up: bool) -> bool:
        """An underlay switch's port went up or down: did that change a link between two switches?"""
        fabric = self.scenario.fabric
        far = fabric.peer(switch, port)
        if far is None or fabric.switch(far[0]) is None:
            return False  # a server's link: no other route could replace it
        link = frozenset((switch, far[0]))
        if up != (link in self.down):
            return False
        (self.down.discard if up else self.down.add)(link)
        return True

    def reroute(self) -> set[int]:
        """Recompile the underlay with the links now down; the datapaths it can change (the underlay's)."""
        self.underlay = underlay_tables(self.scenario, frozenset(self.down))
        self.tables = by_dpid(self.underlay, self.overlay)
        return {t.dpid for t in self.underlay.values()}

    def failed(self) -> list[str]:
        return sorted(link_name(link) for link in self.down)

    def document(self) -> dict[str, Any]:
        """The state as the API gives it: the scenario as YAML would write it, the VMs' ports, and the datapaths
        that must hold flows, with how many in all (what waiting for them needs, without every table)."""
        return {"scenario": scenario.document(self.scenario), "ports": scenario.ports_of(self.scenario),
                "datapaths": sorted(self.tables), "flows": sum(len(t.flows) for t in self.tables.values())}
