"""How the controller tells the lab what it has done: one line per event in a status file.

  synced <dpid> <name>     a barrier reply came back after the datapath's tables were pushed: every
                           flow-mod before it has been applied (OpenFlow processes a connection's
                           messages in order), so the lab need not poll the switch to know
  error <dpid> <text>      the datapath refused a message: the lab fails at once, saying which
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Status:
    synced: dict[int, str] = field(default_factory=dict)  # dpid -> datapath name
    errors: list[str] = field(default_factory=list)


class StatusFile:
    """The controller's end: appends events, one flushed line each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.write_text("")

    def _write(self, line: str) -> None:
        with open(self.path, "a") as f:
            f.write(line + "\n")

    def synced(self, dpid: int, name: str) -> None:
        self._write(f"synced {dpid:x} {name}")

    def error(self, dpid: int, text: str) -> None:
        self._write(f"error {dpid:x} {' '.join(text.split())}")


def read_status(path: Path) -> Status:
    """The lab's end: what the controller has reported so far (complete lines only)."""
    status = Status()
    try:
        text = path.read_text()
    except OSError:
        return status
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break
        kind, dpid, rest = (line.rstrip("\n").split(" ", 2) + ["", ""])[:3]
        if kind == "synced":
            status.synced[int(dpid, 16)] = rest
        elif kind == "error":
            status.errors.append(f"{rest} (datapath {dpid})")
    return status
