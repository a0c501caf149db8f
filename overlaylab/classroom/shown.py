"""What a step of the walkthrough showed, and the roles it shows them with."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from overlaylab.classroom.roles import roles_of
from overlaylab.runtime.running import RunningLab
from topologies.scenario import VM


@dataclass
class Shown:
    """What a step showed: the lines printed, and the facts behind them."""

    lines: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def say(self, line: str = "") -> None:
        self.lines.append(line)


def across(lab: RunningLab) -> tuple[VM, VM]:
    """One tenant's two VMs in different pods: their packets cross the core."""
    return roles_of(lab.scenario).across
