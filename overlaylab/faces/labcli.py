"""The Mininet CLI plus lab commands that show the lecture's ideas on the running lab."""
from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import IO, Any

from mininet.cli import CLI
from mininet.log import lg, output

from controller.trace import describe
from overlaylab.api.lab import Lab
from overlaylab.classroom.livelab import Live
from overlaylab.errors import LabError
from overlaylab.faces.cliwords import (
    describe_changes,
    describe_event,
    describe_move,
    draw_args,
    tenant_add_args,
    trace_args,
    wire_args,
)
from overlaylab.system import columns, wrapped
from overlaylab.verify.explain import datapath_text, summary_text
from overlaylab.verify.observe import describe as describe_observation
from overlaylab.verify.observegroup import describe_group, servers_of
from probes.packets import describe_frame
from topologies.scenario import ScenarioError

FAILED = ("switch", "vswitch", "controller")  # what `fail` and `restore` name (`link` has its own verb)


class LabCLI(CLI):
    prompt = "overlaylab> "

    def __init__(self, lab: Lab, stdin: IO[str] = sys.stdin) -> None:
        """Run the CLI until exit or end of input; piped commands are echoed instead of prompted."""
        self.lab = lab
        self.words = lab.words
        self.scripted = not stdin.isatty()
        if self.scripted:
            self.prompt = ""
        streams = [h.setStream(sys.stdout) for h in lg.handlers]  # command output is stdout, not stderr
        try:
            super().__init__(lab.network, stdin=stdin)
        finally:
            for handler, stream in zip(lg.handlers, streams, strict=True):
                handler.setStream(stream)

    def do_help(self, line: str) -> None:
        """help [COMMAND]: every command, or how to use one, fitted to the terminal's width."""
        method = getattr(self, f"do_{line.strip()}", None) if line.strip() else None
        if method is None or not method.__doc__:
            super().do_help(line)
            return
        say(" ".join(inspect.cleandoc(method.__doc__).split()), indent="  ")

    def precmd(self, line: str) -> str:
        """Echo piped commands, then resolve tenant/vm and server names (see overlaylab.faces.cliwords)."""
        if self.scripted and line.strip() and line != "EOF":
            output(f"overlaylab> {line.strip()}\n")
        return super().precmd(self.words.rewrite(line))

    def waitForNode(self, node: Any) -> None:  # noqa: N802 (Mininet's name)
        """Print a node's output until its command ends. Piped, the script's next lines are commands,
        not the node's input: Mininet's own version forwards them to the node's shell, which swallows
        the rest of the script (a `ping` or `wire` in the middle of one left every later line unrun)."""
        if not self.scripted:
            super().waitForNode(node)
            return
        while node.waiting:
            try:
                output(node.monitor())
            except KeyboardInterrupt:
                node.sendInt()

    def do_addresses(self, _line: str) -> None:
        """addresses: every server's hierarchical underlay address (10.pod.edge.ID, ID = host + 2), gateway and MAC."""
        output(f"{'server':<10} {'address':<12} {'gateway':<12} mac\n")
        for s in self.lab.servers:
            output(f"{s.name:<10} {str(s.ip):<12} {str(s.gateway):<12} {s.mac}\n")

    def do_vms(self, _line: str) -> None:
        """vms: every tenant VM: its virtual network ID, encapsulation, overlay address, MAC and server."""
        output(f"{'vm':<20} {'vni':>8} {'encap':<7} {'address':<18} {'mac':<18} server\n")
        for vm in self.lab.vms:
            where = f"{vm.server.name} (bare metal: the kernel's VXLAN VTEP)" if vm.bare_metal else vm.server.name
            also, address = (f"  {vm.ip6}" if vm.ip and vm.ip6 else ""), str(vm.ip or vm.ip6)  # dual-stack: IPv6 last
            output(f"{vm.label:<20} {vm.vni:>8} {vm.encap.text:<7} {address:<18} {vm.mac:<18} {where}{also}\n")

    def do_migrate(self, line: str) -> None:
        """migrate TENANT/VM SERVER: move a running VM to another physical server (same IP, same MAC, its
        processes untouched), measured by a probe stream from a peer; the underlay changes nothing."""
        words = line.split()
        if len(words) != 2:
            output("usage: migrate TENANT/VM SERVER, e.g. `migrate pepsi/web p3e1h0`\n")
            return
        self._change(f"{words[0]} moved", lambda: self.lab.migrate(*words))

    def do_link(self, line: str) -> None:
        """link A B down|up: take a cable down or up (Mininet's command), measured: the controller's
        repair (flow-mods per layer and per switch) and a probe stream across the core during it."""
        words = line.split()
        if len(words) != 3 or words[2] not in ("down", "up"):
            output("usage: link A B down|up, e.g. `link p0a0 c0 down`\n")
            return
        change = self.lab.restore if words[2] == "up" else self.lab.fail
        self._event(lambda: change("link", words[0], words[1]))

    def do_fail(self, line: str) -> None:
        """fail switch NAME | fail vswitch SERVER | fail controller: an underlay switch loses every link,
        a server's ovs-vswitchd is killed, or the controller is killed; `restore ...` undoes it."""
        self._failure(line, up=False)

    def do_restore(self, line: str) -> None:
        """restore switch NAME | restore vswitch SERVER | restore controller: undo a `fail`."""
        self._failure(line, up=True)

    def _failure(self, line: str, up: bool) -> None:
        words = line.split()
        if not words or words[0] not in FAILED or len(words) != (1 if words[0] == "controller" else 2):
            verb = "restore" if up else "fail"
            output(f"usage: {verb} switch NAME | {verb} vswitch SERVER | {verb} controller\n")
            return
        change = self.lab.restore if up else self.lab.fail
        self._event(lambda: change(*words))

    def _event(self, event: Callable[[], dict[str, Any]]) -> None:
        try:
            say(describe_event(event()))
        except LabError as exc:
            output(f"refused: {exc}\n")

    def do_vm(self, line: str) -> None:
        """vm add TENANT/VM IP/LEN SERVER [IP6/LEN] | vm remove TENANT/VM: a VM (dual-stack with IP6) starts (on
        a new port of the server's virtual switch) or stops while the lab runs; the underlay never changes."""
        words = line.split()
        if len(words) in (4, 5) and words[0] == "add":
            label, ip, server, *ip6 = words[1:]
            self._change(f"{label} added on {server}", lambda: self.lab.add_vm(label, ip, server, None, *ip6))
        elif len(words) == 2 and words[0] == "remove" and "/" in words[1]:
            self._change(f"{words[1]} removed", lambda: self.lab.remove(words[1]))
        else:
            output("usage: vm add TENANT/VM IP/LEN SERVER [IP6/LEN] (e.g. `vm add pepsi/api 192.0.2.9/24 p1e1h1`), "
                   "or vm remove TENANT/VM\n")

    def do_tenant(self, line: str) -> None:
        """tenant add NAME --vni N [--encap vxlan|geneve|gre] [--routing l2|distributed] | tenant remove NAME:
        a tenant (a virtual network) comes or goes while the lab runs; the underlay's tables never change."""
        words = line.split()
        added = tenant_add_args(words[1:]) if words[:1] == ["add"] else None
        if added:
            name, vni, encap, routing = added
            self._change(f"tenant {name} added (VNI {vni}, {encap}, {routing})",
                         lambda: self.lab.add_tenant(name, vni, encap, routing))
        elif len(words) == 2 and words[0] == "remove" and "/" not in words[1]:
            self._change(f"tenant {words[1]} removed", lambda: self.lab.remove(words[1]))
        else:
            output("usage: tenant add NAME --vni N [--encap vxlan|geneve|gre] [--routing l2|distributed], or "
                   "tenant remove NAME\n")

    def do_scenario(self, line: str) -> None:
        """scenario save FILE: the lab's current desired state as a scenario file (`overlaylab check FILE`
        builds it again)."""
        words = line.split()
        if len(words) != 2 or words[0] != "save":
            output("usage: scenario save FILE\n")
            return
        try:
            self.lab.save(words[1])
        except LabError as exc:
            output(f"{exc}\n")
            return
        output(f"saved the current desired state ({len(self.lab.scenario.vms)} VMs) to {words[1]}\n")

    def _change(self, done: str, change: Callable[[], dict[str, Any]]) -> None:
        try:
            answer = change()
        except (LabError, ScenarioError) as exc:
            output(f"refused: {exc}\n")
            return
        self.words = self.lab.words  # the names of the new state
        say(f"{describe_move(answer) if 'stream' in answer else done}; {describe_changes(answer)}")

    def do_tables(self, line: str) -> None:
        """tables DATAPATH: a switch's flows grouped by purpose (port security, tunnel accept, ARP
        responder, encapsulate, deliver, door, underlay route, ECMP, detour, drop), each with its packet
        counter and why the compiler wrote it; tables --summary: flows per purpose and layer, lab-wide."""
        name = line.strip()
        if name == "--summary":
            output("\n".join(summary_text(self.lab.compiled)) + "\n")
        elif name in self.lab.compiled:
            output("\n".join(datapath_text(self.lab.tables(name))) + "\n")
        else:
            output("usage: tables DATAPATH (e.g. `tables p0e0`, `tables p0e0h0/br-int`) or tables --summary\n")

    def do_flows(self, line: str) -> None:
        """flows DATAPATH: the flows a switch (`flows p0e0`) or a server's virtual switch
        (`flows p0e0h0/br-int`) holds right now, with packet counters."""
        name = line.strip()
        if name not in self.lab.compiled:
            output(f"usage: flows DATAPATH, one of {', '.join(sorted(self.lab.compiled))}\n")
            return
        output(self.lab.tables(name).held)

    def do_trace(self, line: str) -> None:
        """trace SRC DST [icmp|udp|tcp]: walk a packet through the compiled tables, every ECMP path, with
        the flow matched at each hop: between servers (`trace p0e0h0 p3e1h1`, or DST an address) or
        between VMs (`trace pepsi/web pepsi/db`: vswitch, tunnel across the underlay, vswitch). Between
        VMs the packet is then really sent (UDP unless named) with every cable of those paths tapped:
        what each cable carried, which path it took, and whether prediction and observation agree.
        `trace pepsi/web broadcast` (or multicast): every copy its tenant's virtual switches make, then
        one datagram really sent: the cables each copy was seen on, and every VM that received it."""
        ends, proto = trace_args(line.split())
        if len(ends) != 2:
            output("usage: trace SRC DST [icmp|udp|tcp], e.g. `trace p0e0h0 p3e1h1`, `trace p0e0h0 10.3.1.3` "
                   "or `trace pepsi/web pepsi/db tcp`\n")
            return
        try:
            traced = self.lab.trace(ends[0], ends[1], proto)
        except LabError as exc:
            output(f"refused: {exc}\n")
            return
        for number, path in enumerate(traced.paths, 1):
            output(f"path {number} of {len(traced.paths)}:\n{describe(path)}\n")
        if traced.ends and traced.observed:
            output(describe_observation(traced.paths, traced.observed, traced.taken, proto, *traced.ends) + "\n")
        elif traced.reached is not None and traced.observed:
            src, servers = self.lab.words.vms[ends[0]], servers_of(self.lab.vms)
            output(describe_group(traced.paths, traced.observed, traced.reached, traced.each, proto, src, servers)
                   + "\n")

    def do_draw(self, line: str) -> None:
        """draw [FILE.svg|FILE.png] [SRC DST]: a picture of the live fabric (core, aggregation, edge, racks,
        every VM coloured by tenant, cables that are down), with a traced path (every ECMP branch) drawn
        over it, e.g. `draw lecture.svg pepsi/web pepsi/db`; the file is fabric.svg unless named."""
        args = draw_args(line.split())
        if args is None:
            output("usage: draw [FILE.svg|FILE.png] [SRC DST], e.g. `draw fabric.svg pepsi/web pepsi/db`\n")
            return
        file, ends = args
        try:
            drawn = self.lab.draw(file, *ends)
        except LabError as exc:
            output(f"refused: {exc}\n")
            return
        traced = f", with {len(drawn.paths)} paths from {ends[0]} to {ends[1]}" if ends else ""
        output(f"drew the fabric{traced} to {drawn.file}\n")

    def do_web(self, line: str) -> None:
        """web [[ADDR:]PORT] [--buttons]: serve the live view of this lab in a browser (127.0.0.1:8080
        unless told), read-only unless --buttons, until the lab goes; prints its address. `trace A B` is
        shown on the page too."""
        words = line.split()
        buttons = "--buttons" in words
        where = [w for w in words if w != "--buttons"]
        if len(where) > 1:
            output("usage: web [[ADDR:]PORT] [--buttons], e.g. `web 8080`\n")
            return
        try:
            say(served(self.lab.live, where[0] if where else "8080", buttons))
        except LabError as exc:
            output(f"refused: {exc}\n")

    def do_wire(self, line: str) -> None:
        """wire LINK [--pcap FILE] CMD: run CMD (any lab command) while tapping underlay link LINK, then
        show what crossed it: outer header, tunnel and VNI, and the VM's packet inside, e.g.
        `wire p0e0-eth1 pepsi/web ping -c2 pepsi/db` (LINK: a switch port such as p0e0-eth1 or c0-eth1);
        with --pcap, also write it to FILE for Wireshark or tcpdump."""
        link, pcap, command = wire_args(line)
        if link not in self._links() or not command:
            output("usage: wire LINK [--pcap FILE] CMD, e.g. `wire p0e0-eth1 pepsi/web ping -c2 pepsi/db`\n")
            return
        frames = self.lab.wire(link, lambda: self.onecmd(self.precmd(command)), pcap)
        output(f"{len(frames)} frames crossed {link}:\n")
        for frame in frames:
            output(f"  {describe_frame(frame)}\n")
        if pcap:
            output(f"written to {pcap} (open it with wireshark or `tcpdump -r`)\n")

    def _links(self) -> set[str]:
        return {intf.name for s in self.mn.switches for intf in s.intfList() if intf.name != "lo"}


def served(live: Live, where: str, buttons: bool) -> str:
    """Serve the live view; where it is, and where its buttons work."""
    url = live.serve(where, buttons)
    if not live.buttons:
        return f"the live view is at {url} (read-only)"
    return (f"the live view is at {url} (read-only there); its buttons work at the address in {live.keyed} "
            f"(yours only: `xdg-open $(cat {live.keyed})`)")


def say(line: str, indent: str = "    ") -> None:
    """One answer, wrapped to the terminal's width (whole when piped)."""
    output(wrapped(line, columns(sys.stdout), indent) + "\n")
