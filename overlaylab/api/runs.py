"""The API's commands that build labs of their own: the failure drill and flat against overlay."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from overlaylab.api.lab import Lab
from overlaylab.classroom.compare import compare
from overlaylab.measure import drill as drills

__all__ = ["compare", "drill"]


def drill(scenario: str | Path | None = None, k: int | None = None, quiet: bool = True,
          name: str | None = None, hosts: str | list[str] | None = None) -> dict[str, Any]:
    """Build the scenario's lab (over machines `hosts`, if given), fail and heal links, switches, a virtual
    switch and the controller and move a VM, all under probe streams, then check it: `ok`, a record per event,
    the check's report."""
    with Lab(scenario, k, quiet, command="drill", name=name, hosts=hosts) as lab:
        return drills.drill(lab.running)
