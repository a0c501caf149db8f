"""What a running lab owns, written down in its own folder so `overlaylab ls` can list it, `down` can stop
it and `clean` can undo it should it crash."""
from __future__ import annotations

import json
import os
import pwd
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from overlaylab.runtime.identity import LabId


def owner(environ: Mapping[str, str] | None = None) -> str:
    """Who started the lab: the user behind sudo, or whoever runs it."""
    env = os.environ if environ is None else environ
    return env.get("SUDO_USER") or pwd.getpwuid(os.getuid()).pw_name


@dataclass
class LabState:
    """The lab's identity, owner, what it runs and where its API listens; saved whenever it changes."""

    name: str
    slot: int
    pid: int
    owner: str = "root"
    scenario: str = ""
    k: int = 0
    vms: int = 0
    started: float = 0.0  # seconds since the epoch
    estimate_mib: float = 0.0  # what admission counted this lab to need
    api: str = ""  # host:port of the controller's API (its secret: api.secret beside this file)
    hosts: tuple[str, ...] = ()  # the machines it spreads over (`--hosts`), where `clean` looks too

    @property
    def id(self) -> LabId:
        return LabId(self.name, self.slot)

    def save(self) -> None:
        path = state_file(self.id.rundir)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        tmp.replace(path)


def state_file(rundir: Path) -> Path:
    return rundir / "state.json"


def load_state(rundir: Path) -> LabState | None:
    try:
        return LabState(**json.loads(state_file(rundir).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def write_private(path: Path, text: str, user: str) -> None:
    """A file only the lab's owner (and root) may read, from the start (mode 0600, then theirs)."""
    path.unlink(missing_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(text)
    give_to_owner(path, user)


def give_to_owner(path: Path, user: str) -> None:
    """Make a file the lab's owner's (the API secret: they, and root, may read it; nobody else)."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return  # no such account here (a name from a test's environment): root keeps it
    os.chown(path, entry.pw_uid, entry.pw_gid)
