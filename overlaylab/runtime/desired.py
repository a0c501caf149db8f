"""The desired state as its owner, the controller, last said it: the scenario, the tables every datapath
must hold, the links it knows are down. The lab keeps no compiled copy of its own: it reads this back after
every change, whatever the change's answer, after a failure and after a restart."""
from __future__ import annotations

import json
from dataclasses import replace

from controller.codec import tables_of
from controller.flows import Tables
from overlaylab.errors import LabError
from overlaylab.runtime.controlproc import ControllerProcess
from topologies.scenario import Scenario, bind, parse, ports_of, save


class Desired:
    """What the lab must be now, read from the controller: the scenario at once, the tables when first asked
    for (at k=8 they are 30,000 flows, which the controller would otherwise serialize while it pushes them)."""

    def __init__(self, scenario: Scenario, controller: ControllerProcess) -> None:
        self.scenario = scenario
        self.controller = controller
        self.generation = -1  # the controller's count of its changes, when the lab last read them
        self.dpids: set[int] = set()  # the datapaths that must hold flows
        self.flows = 0  # how many flows they must hold in all
        self.known_down: list[str] = []  # the links the controller knows are down (`c0-p0a0`)
        self._tables: tuple[int, dict[str, Tables], dict[str, Tables]] = (-1, {}, {})  # generation, underlay, all

    def refresh(self) -> None:
        """Read the scenario and the links down; the tables are read again when next asked for, if it changed."""
        doc = self.controller.request("GET")
        self.known_down = doc["down"]
        if doc["generation"] != self.generation:
            fresh = parse(doc["scenario"], "the controller's desired state", mode=self.scenario.mode)
            self.scenario = replace(bind(fresh, doc["ports"]), path=self.scenario.path)
            self.dpids, self.flows = set(doc["datapaths"]), doc["flows"]
            self.generation = doc["generation"]

    def restarted(self) -> None:
        """A new controller counts its changes afresh: read everything again."""
        self.generation = -1
        self.refresh()

    @property
    def underlay(self) -> dict[str, Tables]:
        """What every underlay switch must hold, by name."""
        return self._read_tables()[1]

    @property
    def compiled(self) -> dict[str, Tables]:
        """What every datapath must hold, by name."""
        return self._read_tables()[2]

    def _read_tables(self) -> tuple[int, dict[str, Tables], dict[str, Tables]]:
        """The tables of the generation last read (a change since: the scenario is read again with them)."""
        for _ in range(3):
            if self._tables[0] == self.generation:
                return self._tables
            wanted = self.controller.request("GET", path="/tables")
            if wanted["generation"] == self.generation:
                underlay = {t.name: t for t in map(tables_of, wanted["underlay"])}
                self._tables = (self.generation, underlay,
                                {**underlay, **{t.name: t for t in map(tables_of, wanted["overlay"])}})
            else:
                self.refresh()
        raise LabError("the controller's desired state kept changing while the lab read it; is another "
                       "client changing it?")

    def remember(self) -> None:
        """The current desired state on disk, so a restarted controller starts from it, not from the file."""
        folder = self.controller.log.parent
        desired, ports = folder / "desired.yaml", folder / "ports.json"
        save(self.scenario, desired)
        ports.write_text(json.dumps(ports_of(self.scenario)))
        self.controller.scenario, self.controller.ports = str(desired), str(ports)

