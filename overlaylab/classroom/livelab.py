"""A running lab's live view, the lab's side: the state the page draws, each cable's port counters, the
last traced packet, and the few changes the page may ask for. The page itself is served by
overlaylab.classroom.liveserver; what it shows is computed, pure, by overlaylab.classroom.liveview."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from overlaylab.classroom.liveserver import WebView
from overlaylab.classroom.liveview import Counters, link_ports, netdev, trace_view, view
from overlaylab.errors import LabError
from overlaylab.runtime import pods
from overlaylab.runtime.remote import machine_of, pids_by_machine, run_on
from overlaylab.runtime.running import RunningLab
from overlaylab.runtime.state import write_private
from overlaylab.verify.observe import Traced
from overlaylab.verify.observegroup import servers_of
from topologies.scenario import Scenario

PROTOCOLS = ("icmp", "udp", "tcp")
NETDEV_END = "--end-of-net-dev--"


class Acting(Protocol):
    """What the page may ask of the lab (overlaylab.Lab): each call waits for any other to end."""

    def trace(self, src: str, dst: str, proto: str = "udp") -> Traced: ...
    def fail(self, kind: str, *names: str) -> dict[str, Any]: ...
    def restore(self, kind: str, *names: str) -> dict[str, Any]: ...
    def migrate(self, label: str, server: str) -> dict[str, Any]: ...


class Live:
    """A running lab's live view (`Lab.live`): its state as the page draws it, and the page, served on demand."""

    def __init__(self, running: RunningLab, lab: Acting) -> None:
        self.running, self.lab = running, lab
        self.served: WebView | None = None
        self.buttons = False  # whether the page may change the lab (with the lab's secret)
        self.traced: dict[str, Any] | None = None  # the last packet traced, as the page animates it
        self.traces = 0
        self.drawn: tuple[Scenario, frozenset[frozenset[str]], dict[str, Any]] | None = None  # the last view

    @property
    def secret(self) -> str:
        """The lab's secret (its API's), which the page's buttons must send."""
        return self.running.controller.secret

    def state(self) -> dict[str, Any]:
        """The lab now, as the page draws it (nodes, links up or down, VMs on their servers, tenants), with the
        last traced packet and whether the page has buttons. Drawn again only when the lab changed."""
        scenario, cut = self.running.scenario, frozenset(self.running.nodes.cut)
        if self.drawn is None or self.drawn[0] is not scenario or self.drawn[1] != cut:
            self.drawn = (scenario, cut, view(scenario, cut, self.running.nodes.machines()))
        return {**self.drawn[2], "trace": self.traced, "buttons": self.buttons}

    def counters(self) -> Counters:
        """Bytes and packets through each cable so far, read from its upper end's port: one read of
        /proc/PID/net/dev per home of switches on this machine, no process started; one command per other
        machine for the homes there."""
        fabric, nodes = self.running.scenario.fabric, self.running.nodes
        found: dict[str, tuple[int, int]] = {}
        for text in _netdevs([nodes.node(home.node) for home in pods.homes(fabric, nodes.placement)]):
            found |= netdev(text)
        return {link: found[port] for link, port in link_ports(fabric).items() if port in found}

    def show(self, traced: Traced, src: str, dst: str) -> None:
        """Put a traced packet on the page (the CLI's `trace` and the page's own)."""
        self.traces += 1
        shown = trace_view(traced, self._server(src) or src, self._server(dst), servers_of(self.running.scenario.vms))
        names = {} if traced.ends else {"src": src, "dst": dst}  # as typed: `trace pepsi/web broadcast`
        self.traced = {**shown, **names, "seq": self.traces}

    def _server(self, name: str) -> str | None:
        """The server a trace's end stands for: a VM's server, a server itself, an address none."""
        scenario = self.running.scenario
        vm = next((vm for vm in scenario.vms if vm.label == name), None)
        return vm.server.name if vm else name if scenario.fabric.server(name) else None

    def act(self, asked: dict[str, Any], with_secret: bool) -> str:
        """Do what the page asked: trace two VMs (anyone), a link down or up, a VM migrated (only with the
        secret, and only where the page was served with buttons); one line saying what happened."""
        what = str(asked.get("do"))
        if what == "trace":
            proto = str(asked.get("proto", "udp"))
            if proto not in PROTOCOLS:
                raise LabError(f"no protocol {proto!r}: one of {', '.join(PROTOCOLS)}")
            traced = self.lab.trace(str(asked.get("src")), str(asked.get("dst")), proto)
            return f"traced {asked.get('src')} to {asked.get('dst')}: {len(traced.paths)} predicted paths"
        if not (self.buttons and with_secret):
            raise PermissionError("this page is read-only: the lab's owner serves it with buttons "
                                  "(`up --web PORT --web-buttons`) and opens the address it prints")
        if what == "link":
            a, b, up = str(asked.get("a")), str(asked.get("b")), bool(asked.get("up"))
            answer = (self.lab.restore if up else self.lab.fail)("link", a, b)
            return _changed(f"link {a}-{b} {'up' if up else 'down'}", answer)
        if what == "migrate":
            vm, server = str(asked.get("vm")), str(asked.get("server"))
            return _changed(f"{vm} moved to {server}", self.lab.migrate(vm, server))
        raise LabError(f"the page asked for {what!r}: it may ask for trace, link or migrate")

    @property
    def keyed(self) -> Path:
        """Where the page's address with the lab's secret is written (readable by the lab's owner only): its
        buttons work only when it is opened there, so the address on a projected terminal stays read-only."""
        return self.running.controller.secret_file.with_name("web.url")

    def serve(self, where: str = "8080", buttons: bool = False) -> str:
        """Serve the page on `[ADDR:]PORT` (127.0.0.1 unless told) until the lab goes; its address (the same
        one, if it is served already). With `buttons` the page may take links down and up and migrate VMs
        when opened at the address in `keyed`."""
        if self.served is None:
            served = WebView(self, where)
            served.start()
            self.served = served
        if buttons and not self.buttons:
            write_private(self.keyed, f"{self.served.url}#key={self.secret}\n", self.running.controller.owner)
            self.buttons = True
        return self.served.url

    def stop(self) -> None:
        if self.served is not None:
            self.served.stop()
            self.served = None


def _changed(what: str, answer: dict[str, Any]) -> str:
    changes = answer["changes"]
    return f"{what}: flow changes underlay {changes['underlay']}, virtual switches {changes['vswitches']}"


def _netdevs(nodes: list[Any]) -> list[str]:
    """/proc/PID/net/dev of each node's namespace, as its machine knows the pid (a home whose namespace is
    going reads as nothing: its cables have no rate this time)."""
    texts = []
    for node in (n for n in nodes if machine_of(n) is None):
        try:
            texts.append((Path("/proc") / str(node.pid) / "net/dev").read_text())
        except OSError:
            continue
    for host, pids in pids_by_machine(nodes).items():
        said = run_on(host, "; ".join(f"cat /proc/{pid}/net/dev 2>/dev/null; echo {NETDEV_END}" for pid in pids))
        texts += said.split(f"{NETDEV_END}\n")
    return texts
