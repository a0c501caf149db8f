"""The controller as a child process: started before the switches, stopped after them, logged to a file."""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from contextlib import suppress
from pathlib import Path
from typing import Any

from controller.status import Status, read_status
from overlaylab.errors import LabError
from overlaylab.runtime.state import write_private
from overlaylab.system import free_port, listening, wait_until
from vswitch.nodes import MARK, die_with_parent

CONTROLLER_NICE = -5
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the management network is local


class ControllerProcess:
    """os-ken running controller.app on a free port of the management address."""

    def __init__(self, host: str, scenario: str, k: int, log: Path, mode: str = "overlay", mark: str = "",
                 owner: str = "root") -> None:
        self.host, self.scenario, self.k, self.log, self.mode = host, scenario, k, log, mode
        self.mark, self.owner = mark, owner  # the lab's name, on the process; who may read the API's secret
        self.ports: str | None = None  # a JSON file of VM ports, once the lab has changed
        self.status_file = log.with_name("controller.status")
        self.secret_file = log.with_name("api.secret")  # only the lab's owner reads it: the API's key
        self.secret = ""
        self.port = self.api_port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> None:
        """Start it on a free port, or again on its own port (where the switches look for it); return once it
        listens."""
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start it, without waiting: it loads (about 2 s at k=8) while the lab builds its network."""
        self.port = self.port or free_port(self.host)
        self.api_port = self.api_port or free_port(self.host)
        self.status_file.unlink(missing_ok=True)  # a restarted controller reports afresh
        self._write_secret()
        cmd = [sys.executable, "-m", "controller.launcher", "--host", self.host, "--port", str(self.port),
               "--scenario", self.scenario, "--k", str(self.k), "--mode", self.mode, "--status", str(self.status_file),
               "--api-port", str(self.api_port), "--api-secret", str(self.secret_file),
               *(["--ports", self.ports] if self.ports else [])]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True, preexec_fn=_first_in_line,
                                         env={**os.environ, MARK: self.mark})

    def wait_ready(self, timeout: float = 20) -> None:
        """Until it listens for switches and for the lab's requests; an error if it exits first."""
        wait_until(self._ready, timeout, f"the controller to listen on {self.host}:{self.port}", self.tail)

    def _write_secret(self) -> None:
        """A new secret for the API, readable by the lab's owner only (mode 0600 from the start)."""
        self.secret = self.secret or secrets.token_urlsafe(32)
        write_private(self.secret_file, self.secret + "\n", self.owner)

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise LabError(f"the controller exited with status {self.proc.returncode}: {self.tail()}")
        return listening(self.host, self.port) and listening(self.host, self.api_port)

    def request(self, method: str, body: dict[str, Any] | None = None, timeout: float = 60,
                path: str = "/scenario") -> dict[str, Any]:
        """Call the controller's REST API (controller.api); its one-line refusals become LabErrors."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://{self.host}:{self.api_port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {self.secret}"})
        try:
            with NO_PROXY.open(req, timeout=timeout) as answer:
                return json.loads(answer.read())  # type: ignore[no-any-return]
        except urllib.error.HTTPError as exc:
            raise LabError(_refusal(exc)) from None
        except (urllib.error.URLError, OSError) as exc:
            raise LabError(f"the controller does not answer on {self.host}:{self.api_port}: {exc}") from None

    def tail(self, lines: int = 3) -> str:
        """The end of the controller's log, folded into one line for an error message."""
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) + f" (full log: {self.log})"

    def last_said(self, word: str) -> str:
        """The controller log's last line that mentions `word` (a datapath's id, say)."""
        try:
            lines = [line for line in self.log.read_text(errors="replace").splitlines() if word in line]
        except OSError:
            return "(no log)"
        return lines[-1].strip() if lines else "nothing"

    def status(self) -> Status:
        """What the controller has reported: datapaths in sync, messages refused."""
        return read_status(self.status_file)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def kill(self) -> None:
        """Crash it (SIGKILL): the switches keep their flows (fail mode secure) until it is back."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout: float = 5) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _first_in_line() -> None:
    """preexec_fn: the controller dies with the lab, and runs before the lab's other processes, as ovs-ctl runs
    Open vSwitch's daemons (at nice -10): every switch waits on it. At k=8, 128 virtual switches starting at once
    kept it from greeting theirs within Open vSwitch's 1 s, and 48 of them waited out a timeout and a backoff."""
    die_with_parent()
    with suppress(PermissionError):  # a container without CAP_SYS_NICE: it runs at the lab's own priority
        os.nice(CONTROLLER_NICE)


def _refusal(exc: urllib.error.HTTPError) -> str:
    """The controller's one-line refusal (or, from anything else on that port, its status)."""
    try:
        said = json.loads(exc.read() or b"{}").get("error")
    except (ValueError, AttributeError):
        said = None
    return str(said) if said else f"the controller answered {exc}"
