"""How the controller tells the lab what it has done: one line per event in a status file.

  synced <dpid> <changes> <name>
                           a barrier reply came back after the datapath's tables were reconciled with
                           `changes` flow and group mods: every one before it has been applied
                           (OpenFlow processes a connection's messages in order), so the lab need
                           not poll the switch to know
  error <dpid> <text>      the datapath refused a message: the lab fails at once, saying which
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Status:
    synced: dict[int, str] = field(default_factory=dict)  # dpid -> datapath name
    changes: dict[int, int] = field(default_factory=dict)  # dpid -> flow and group mods of its last sync
    syncs: dict[int, int] = field(default_factory=dict)  # dpid -> how many times it was synced
    errors: list[str] = field(default_factory=list)


class StatusFile:
    """The controller's end: appends events, one flushed line each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.write_text("")

    def _write(self, line: str) -> None:
        with open(self.path, "a") as f:
            f.write(line + "\n")

    def synced(self, dpid: int, changes: int, name: str) -> None:
        self._write(f"synced {dpid:x} {changes} {name}")

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
            changes, _, name = rest.partition(" ")
            status.synced[int(dpid, 16)] = name
            status.changes[int(dpid, 16)] = int(changes)
            status.syncs[int(dpid, 16)] = status.syncs.get(int(dpid, 16), 0) + 1
        elif kind == "error":
            status.errors.append(f"{rest} (datapath {dpid})")
    return status
