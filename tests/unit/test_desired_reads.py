"""The lab reads the controller's desired state at once and its tables only when asked for (at k=8 they are
30,000 flows the controller would serialize while it pushes them): once per generation, and again when
the state changed between the two questions."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controller.codec import tables_doc
from controller.desired import DesiredState
from controller.flat import underlay_tables
from overlaylab.errors import LabError
from overlaylab.runtime.desired import Desired
from topologies.scenario import load

LECTURE = load()


class FakeController:
    """Answers as controller.api does, from a DesiredState, and counts what it was asked."""

    def __init__(self) -> None:
        self.state = DesiredState(LECTURE)
        self.generation, self.asked = 1, []
        self.log = Path("/nonexistent/controller.log")
        self.change_between = 0  # how many /tables answers come from a newer generation than the last document

    def request(self, method: str, path: str = "/scenario", **_: Any) -> dict[str, Any]:
        self.asked.append(path)
        if path == "/tables":
            if self.change_between:
                self.change_between -= 1
                self.generation += 1
            return {"generation": self.generation, "underlay": [tables_doc(t) for t in self.state.underlay.values()],
                    "overlay": [tables_doc(t) for t in self.state.overlay.values()]}
        return {**self.state.document(), "down": [], "generation": self.generation}


def test_the_scenario_and_the_datapaths_are_read_without_the_tables():
    controller = FakeController()
    desired = Desired(LECTURE, controller)  # type: ignore[arg-type]
    desired.restarted()
    assert controller.asked == ["/scenario"]
    assert desired.dpids == set(controller.state.tables)
    assert desired.flows == sum(len(t.flows) for t in controller.state.tables.values()) > 0


def test_the_tables_are_read_once_per_generation_and_agree_with_the_controllers():
    controller = FakeController()
    desired = Desired(LECTURE, controller)  # type: ignore[arg-type]
    desired.restarted()
    assert set(desired.underlay) == {t.name for t in underlay_tables(LECTURE).values()}
    assert {t.dpid for t in desired.compiled.values()} == desired.dpids
    desired.refresh()
    assert desired.compiled and controller.asked == ["/scenario", "/tables", "/scenario"]
    controller.generation += 1
    desired.refresh()
    assert desired.compiled and controller.asked.count("/tables") == 2


def test_a_change_between_the_two_questions_reads_both_again_and_one_that_never_settles_is_an_error():
    controller = FakeController()
    desired = Desired(LECTURE, controller)  # type: ignore[arg-type]
    desired.restarted()
    controller.change_between = 1
    assert desired.compiled and desired.generation == controller.generation == 2
    assert controller.asked == ["/scenario", "/tables", "/scenario", "/tables"]
    controller.generation += 1
    desired.refresh()
    controller.change_between = 5
    with pytest.raises(LabError, match="kept changing"):
        _ = desired.compiled
