"""The desired state as its owner, the controller, last said it: the scenario, the tables every datapath
must hold, the links it knows are down. The lab keeps no compiled copy of its own: it reads this back after
every change, whatever the change's answer, after a failure and after a restart."""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from controller.codec import tables_of
from controller.flows import Tables
from overlaylab.errors import LabError
from overlaylab.runtime.controlproc import ControllerProcess
from topologies.scenario import Scenario, bind, parse, ports_of, save


class Desired:
    """What the lab must be now, read from the controller."""

    def __init__(self, scenario: Scenario, controller: ControllerProcess) -> None:
        self.scenario = scenario
        self.controller = controller
        self.generation = -1  # the controller's count of its changes, when the lab last read them
        self.underlay: dict[str, Tables] = {}  # what every underlay switch must hold, by name
        self.compiled: dict[str, Tables] = {}  # ... and every datapath
        self.dpids: set[int] = set()
        self.known_down: list[str] = []  # the links the controller knows are down (`c0-p0a0`)

    def refresh(self) -> None:
        """Read the scenario, the links down and, when it changed, the tables, as one generation."""
        for _ in range(3):  # a change between the two questions: ask again
            doc = self.controller.request("GET")
            self.known_down = doc["down"]
            if doc["generation"] == self.generation:
                return
            wanted = self.controller.request("GET", path="/tables")
            if wanted["generation"] == doc["generation"]:
                self._take(doc, wanted)
                return
        raise LabError("the controller's desired state kept changing while the lab read it; is another "
                       "client changing it?")

    def restarted(self) -> None:
        """A new controller counts its changes afresh: read everything again."""
        self.generation = -1
        self.refresh()

    def _take(self, doc: dict[str, Any], wanted: dict[str, Any]) -> None:
        fresh = parse(doc["scenario"], "the controller's desired state", mode=self.scenario.mode)
        self.scenario = replace(bind(fresh, doc["ports"]), path=self.scenario.path)
        self.underlay = {t.name: t for t in map(tables_of, wanted["underlay"])}
        self.compiled = {**self.underlay, **{t.name: t for t in map(tables_of, wanted["overlay"])}}
        self.dpids = {t.dpid for t in self.compiled.values()}
        self.generation = doc["generation"]

    def remember(self) -> None:
        """The current desired state on disk, so a restarted controller starts from it, not from the file."""
        folder = self.controller.log.parent
        desired, ports = folder / "desired.yaml", folder / "ports.json"
        save(self.scenario, desired)
        ports.write_text(json.dumps(ports_of(self.scenario)))
        self.controller.scenario, self.controller.ports = str(desired), str(ports)

