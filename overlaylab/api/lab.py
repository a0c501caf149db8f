"""The lab from Python, for scripts and notebooks, the way Mininet users write topology scripts:

    from overlaylab import Lab
    with Lab("topologies/lecture.yaml") as lab:
        lab.migrate("pepsi/web", "p3e1h0")
        print(lab.node("pepsi/web").cmd("ping -c1 192.0.2.3"))
        report = lab.check()                           # report.ok, or report["ok"]
        traced = lab.trace("pepsi/web", "pepsi/db")    # every ECMP path, and the one a real packet took
        lab.fail("link", "p0a0", "c0")                 # the controller's repair, measured

Everything the lab built is torn down when the block ends, whatever happens in it. Each method returns
values (dataclasses, dicts), never prints: the lab CLI and the `overlaylab` commands are these, with words.
"""
from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mininet.net import Mininet

from controller.flows import Tables
from controller.planner import underlay
from controller.trace import Path as TracedPath
from overlaylab.api.thread import on_lab_thread
from overlaylab.api.words import Words
from overlaylab.classroom.livelab import Live
from overlaylab.classroom.picture import dot, render
from overlaylab.errors import LabError
from overlaylab.runtime import failures, tables
from overlaylab.runtime.machines import parse_hosts
from overlaylab.runtime.phases import Phases
from overlaylab.runtime.running import RunningLab, running_lab
from overlaylab.verify.check import Report, run_checks
from overlaylab.verify.evidence import captured
from overlaylab.verify.explain import DatapathTables
from overlaylab.verify.observe import Traced, observe, taken
from overlaylab.verify.observegroup import observe_group, taken_each
from probes.packets import PROTOS6
from probes.pcap import write_pcap
from topologies import changes
from topologies.fattree import Server
from topologies.scenario import VM, Mode, Scenario, load, save


@dataclass(frozen=True)
class Drawing:
    """A picture written, and the paths drawn over it."""

    file: Path
    paths: list[TracedPath]


FAILURES: dict[str, tuple[int, Callable[..., dict[str, Any]]]] = {  # kind: (names it takes, event)
    "link": (2, failures.link), "switch": (1, failures.switch), "vswitch": (1, failures.vswitch),
    "controller": (0, failures.controller)}


class Lab:
    """A lab: built by entering the block (or start()), torn down by leaving it (or stop())."""

    def __init__(self, scenario: str | Path | None = None, k: int | None = None, quiet: bool = True,
                 mode: str = "overlay", command: str = "up", name: str | None = None,
                 hosts: str | list[str] | None = None) -> None:
        """`mode` "flat" has the underlay route every VM address itself, with no encapsulation; `quiet`
        False tells the phases of building and teardown on stderr; `command` is the one errors name; `name`
        is the lab's on this machine (default: one per user, named after them), which other labs beside
        it never collide with; `hosts` ("A,B" or a list) spreads it over those machines, pods whole on each
        (docs/cluster.md)."""
        self.scenario_file, self.k, self.quiet, self.mode, self.command = scenario, k, quiet, Mode(mode), command
        self.name = name
        self.hosts = parse_hosts(hosts) if isinstance(hosts, str) else hosts
        self._out: IO[str] | None = None
        self._lab: RunningLab | None = None
        self._running: AbstractContextManager[RunningLab] | None = None
        self._worker: ThreadPoolExecutor | None = None  # where the lab works inside a running event loop
        self._guard = threading.RLock()  # held by each call that works on the lab: one at a time
        self._live: Live | None = None

    @on_lab_thread
    def __enter__(self) -> Lab:
        self._out = open(os.devnull, "w") if self.quiet else sys.stderr  # closed on exit
        self._running = running_lab(load(self.scenario_file, self.k, self.mode), Phases(self._out), self.command,
                                    self.name, self.hosts)
        self._lab = self._running.__enter__()
        return self

    @on_lab_thread
    def __exit__(self, *exc: Any) -> None:
        running, self._lab, self._running = self._running, None, None
        if self._live is not None:
            self._live.stop()
            self._live = None
        if running is None:
            return
        try:
            running.__exit__(*exc)
        finally:
            if self._out is not None and self._out is not sys.stderr:
                self._out.close()

    def start(self) -> Lab:
        """Build the lab outside a `with` block (a notebook's cells); stop() tears it down, and so does the
        interpreter's exit should nobody call it."""
        atexit.register(self.stop)
        return self.__enter__()

    def stop(self) -> None:
        """Tear down what start() built (again: nothing), and end the lab's own thread if it had one."""
        atexit.unregister(self.stop)
        self.__exit__(None, None, None)
        if self._worker is not None:
            self._worker.shutdown()
            self._worker = None

    @property
    def running(self) -> RunningLab:
        """The running lab's parts (desired state, nodes, controller process, members), for going deeper."""
        if self._lab is None:
            raise LabError("the lab is not running: use it inside `with Lab(...) as lab:`, or call start()")
        return self._lab

    @property
    def live(self) -> Live:
        """The live view: `lab.live.serve("8080")` serves the page (read-only, until the lab goes) and returns
        its address; `serve("8080", buttons=True)` lets the page change the lab when opened at that address;
        `lab.live.state()` is the lab as the page draws it. Every `trace` is shown on the page."""
        if self._live is None:
            self._live = Live(self.running, self)
        return self._live

    @property
    def scenario(self) -> Scenario:
        """The current desired state (it changes with every change below)."""
        return self.running.scenario

    @property
    def compiled(self) -> dict[str, Tables]:
        """What every datapath must hold now, by name, as the controller compiled it."""
        return self.running.compiled

    @property
    def vms(self) -> tuple[VM, ...]:
        """Every tenant member: its tenant, VNI, encapsulation, address, MAC and server."""
        return self.scenario.vms

    @property
    def servers(self) -> tuple[Server, ...]:
        """Every physical server: its hierarchical underlay address, gateway and MAC."""
        return self.scenario.fabric.servers

    @property
    def network(self) -> Mininet:
        """Mininet's network, for its own commands (pingall, iperf, ...)."""
        assert self.running.nodes.net is not None
        return self.running.nodes.net

    @property
    def words(self) -> Words:
        """The names the lab answers to now: tenant/vm and server names."""
        nodes = self.running.nodes
        return Words(self.scenario, nodes.vm_nodes, set(nodes.net or ()))

    def node(self, name: str) -> Any:
        """The Mininet node of a VM (`pepsi/web`), a server or a switch: `.cmd("ping -c1 192.0.2.3")`."""
        nodes = self.running.nodes
        if name in nodes.vm_nodes:
            return nodes.vm(name)
        if name in self.network:
            return nodes.node(name)
        raise LabError(f"no VM, server or switch named {name!r}")

    vm = node  # the command contract's name for it: lab.vm("pepsi/web").cmd("ping -c1 192.0.2.3")

    @on_lab_thread
    def migrate(self, label: str, server: str) -> dict[str, Any]:
        """Move a running VM; returns the flow changes per layer and the peer stream's loss and gap."""
        return self.running.members.migrate(label, server)

    @on_lab_thread
    def add_vm(self, label: str, ip: str, server: str, mac: str | None = None,
               ip6: str | None = None) -> dict[str, Any]:
        """A new VM `tenant/vm` with `ip` (`192.0.2.9/24`; an IPv6 one, `fd00:1::9/64`, makes it IPv6-only) on a
        server (`mac`: derived if not given; `ip6`: dual-stack, `fd00:1::9/64`); returns the flow changes."""
        return self.running.members.add_vm(label, ip, server, mac, ip6)

    @on_lab_thread
    def add_tenant(self, name: str, vni: int, encap: str = "vxlan", routing: str = "l2") -> dict[str, Any]:
        """A new tenant (a virtual network with its VNI, encapsulation and routing: l2 or distributed);
        returns the flow changes."""
        return self.running.members.apply(changes.add_tenant(self.scenario, name, vni, encap, routing))

    @on_lab_thread
    def remove(self, name: str) -> dict[str, Any]:
        """A VM (`tenant/vm`) or a whole tenant (`tenant`) goes; returns the flow changes."""
        members = self.running.members
        return members.remove_vm(name) if "/" in name else members.remove_tenant(name)

    def save(self, path: str | Path) -> Path:
        """The current desired state as a scenario file (`overlaylab check FILE` builds it again)."""
        try:
            save(self.scenario, path)
        except OSError as exc:
            raise LabError(f"cannot save to {path}: {exc.strerror}; name a file in a directory you can "
                           "write to") from None
        return Path(path)

    def fail(self, kind: str, *names: str) -> dict[str, Any]:
        """`fail("link", "p0a0", "c0")`, `fail("switch", "p0a0")`, `fail("vswitch", "p0e0h0")` or
        `fail("controller")`; returns the controller's repair (flow-mods per layer and datapath), how
        long it took and what a probe stream across the core lost meanwhile."""
        return self._failure(kind, names, up=False)

    def restore(self, kind: str, *names: str) -> dict[str, Any]:
        """Undo a fail(), measured the same way."""
        return self._failure(kind, names, up=True)

    @on_lab_thread
    def _failure(self, kind: str, names: tuple[str, ...], up: bool) -> dict[str, Any]:
        if kind not in FAILURES or len(names) != FAILURES[kind][0]:
            raise LabError(f"no failure {kind!r} {' '.join(names)!r}; name a link's two ends, a switch, a "
                           "vswitch's server, or the controller")
        return FAILURES[kind][1](self.running, *names, up)

    @on_lab_thread
    def trace(self, src: str, dst: str, proto: str = "udp") -> Traced:
        """Every path from src to dst (servers, addresses or tenant/vm names) in the compiled tables; between
        two VMs one `proto` packet (icmp, udp, tcp; icmp6, udp6, tcp6 between dual-stack VMs) is really sent,
        every cable of those paths tapped; from a VM to `broadcast` or `multicast`, one datagram to the group,
        and every VM listens."""
        words = self.words
        pair, group = words.vm_pair([src, dst]), words.group([src, dst])
        if pair and not (pair[0].ip and pair[1].ip) and proto not in PROTOS6:
            proto += "6"  # two VMs with IPv6 only in common
        paths = self._paths(words, src, dst, proto in PROTOS6)
        traced, scenario = Traced(paths), self.scenario
        if pair is not None:
            seen = observe(self.running, *pair, proto, paths)
            traced = Traced(paths, pair, seen, taken(paths, *pair, seen, scenario.fabric))
        elif group is not None:
            seen, reached = observe_group(self.running, *group, proto, paths)
            traced = Traced(paths, observed=seen, reached=reached, each=taken_each(paths, group[0], seen, scenario))
        if self._live is not None:
            self._live.show(traced, src, dst)
        return traced

    def _paths(self, words: Words, src: str, dst: str, v6: bool = False) -> list[TracedPath]:
        paths = words.trace([src, dst], self.compiled, self.running.underlay, v6)
        if paths is None:
            raise LabError(f"cannot trace {src} to {dst}: name two servers, a server and an address, or two VMs "
                           f"(two dual-stack VMs for an IPv6 trace)")
        return paths

    @on_lab_thread
    def tables(self, datapath: str) -> DatapathTables:
        """A datapath's compiled flows by purpose, each with its packet counter on the switch and why the
        compiler wrote it, and the flows the switch itself holds now (`held`)."""
        if datapath not in self.compiled:
            raise LabError(f"no datapath {datapath!r}; one of {', '.join(sorted(self.compiled))}")
        held = tables.dump(self.running.nodes.targets[datapath])
        return DatapathTables.of(self.compiled[datapath], underlay(datapath), held)

    @on_lab_thread
    def wire(self, link: str, action: Callable[[], object], pcap: str | Path | None = None) -> list[bytes]:
        """Every frame that crossed `link` (a switch port such as p0e0-eth1) while `action` ran; with `pcap`,
        also written there for Wireshark."""
        frames = captured(self.running, [link], action)[link]
        if pcap is not None:
            write_pcap(pcap, frames)
        return frames

    @on_lab_thread
    def draw(self, path: str | Path, src: str = "", dst: str = "") -> Drawing:
        """A picture of the live fabric (SVG or PNG, by the extension), with src to dst traced over it."""
        paths = self._paths(self.words, src, dst) if src and dst else []
        render(dot(self.scenario, self.running.nodes.cut, paths, (src, dst) if src else (),
                   where=self.running.nodes.machines()), path)
        return Drawing(Path(path), paths)

    @on_lab_thread
    def check(self) -> Report:
        """Every check of `overlaylab check`, on the lab as it is now (with the lab's build timings)."""
        report = Report(timings=self.running.phases.timings)
        run_checks(self.running, report)
        return report
