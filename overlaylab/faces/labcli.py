"""The Mininet CLI plus lab commands that show the lecture's ideas on the running lab."""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any

from mininet.cli import CLI
from mininet.log import lg, output

from controller.planner import underlay
from controller.trace import describe
from overlaylab.classroom.picture import dot, render
from overlaylab.errors import LabError
from overlaylab.faces.cliwords import (
    Words,
    describe_changes,
    describe_event,
    describe_move,
    draw_args,
    tenant_add_args,
    trace_args,
    wire_args,
)
from overlaylab.runtime import failures, tables
from overlaylab.runtime.lab import Lab
from overlaylab.system import run
from overlaylab.verify.evidence import captured
from overlaylab.verify.explain import datapath_text, summary_text
from overlaylab.verify.observe import describe as describe_observation
from overlaylab.verify.observe import observe, taken
from probes.packets import describe_frame
from probes.pcap import write_pcap
from topologies import changes
from topologies.scenario import ScenarioError, save


class LabCLI(CLI):
    prompt = "overlaylab> "

    def __init__(self, lab: Lab, stdin: IO[str] = sys.stdin) -> None:
        """Run the CLI until exit or end of input; piped commands are echoed instead of prompted."""
        self.lab = lab
        self.words = Words(lab.scenario, lab.vm_nodes, set(lab.net or ()))
        self.scripted = not stdin.isatty()
        if self.scripted:
            self.prompt = ""
        streams = [h.setStream(sys.stdout) for h in lg.handlers]  # command output is stdout, not stderr
        try:
            super().__init__(lab.net, stdin=stdin)
        finally:
            for handler, stream in zip(lg.handlers, streams, strict=True):
                handler.setStream(stream)

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
        """addresses: every server's hierarchical underlay address (10.pod.edge.host), gateway and MAC."""
        output(f"{'server':<10} {'address':<12} {'gateway':<12} mac\n")
        for s in self.lab.scenario.fabric.servers:
            output(f"{s.name:<10} {str(s.ip):<12} {str(s.gateway):<12} {s.mac}\n")

    def do_vms(self, _line: str) -> None:
        """vms: every tenant VM: its virtual network ID, encapsulation, overlay address, MAC and server."""
        output(f"{'vm':<20} {'vni':>8} {'encap':<7} {'address':<18} {'mac':<18} server\n")
        for vm in self.lab.scenario.vms:
            where = f"{vm.server.name} (bare metal: the kernel's VXLAN VTEP)" if vm.bare_metal else vm.server.name
            output(f"{vm.label:<20} {vm.vni:>8} {vm.encap.text:<7} {str(vm.ip):<18} {vm.mac:<18} {where}\n")

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
        self._event(lambda: failures.link(self.lab, words[0], words[1], words[2] == "up"))

    def do_fail(self, line: str) -> None:
        """fail switch NAME | fail vswitch SERVER | fail controller: an underlay switch loses every link,
        a server's ovs-vswitchd is killed, or the controller is killed; `restore ...` undoes it."""
        self._failure(line, up=False)

    def do_restore(self, line: str) -> None:
        """restore switch NAME | restore vswitch SERVER | restore controller: undo a `fail`."""
        self._failure(line, up=True)

    def _failure(self, line: str, up: bool) -> None:
        words = line.split()
        events = {"switch": lambda: failures.switch(self.lab, words[1], up),
                  "vswitch": lambda: failures.vswitch(self.lab, words[1], up),
                  "controller": lambda: failures.controller(self.lab, up)}
        if not words or words[0] not in events or len(words) != (1 if words[0] == "controller" else 2):
            verb = "restore" if up else "fail"
            output(f"usage: {verb} switch NAME | {verb} vswitch SERVER | {verb} controller\n")
            return
        self._event(events[words[0]])

    def _event(self, event: Callable[[], dict[str, Any]]) -> None:
        try:
            output(describe_event(event()) + "\n")
        except LabError as exc:
            output(f"refused: {exc}\n")

    def do_vm(self, line: str) -> None:
        """vm add TENANT/VM IP/LEN SERVER | vm remove TENANT/VM: a VM starts (on a new port of the server's
        virtual switch) or stops while the lab runs; the underlay's tables never change."""
        words = line.split()
        if len(words) == 4 and words[0] == "add":
            self._change(f"{words[1]} added on {words[3]}", lambda: self.lab.add_vm(*words[1:]))
        elif len(words) == 2 and words[0] == "remove":
            self._change(f"{words[1]} removed", lambda: self.lab.remove_vm(words[1]))
        else:
            output("usage: vm add TENANT/VM IP/LEN SERVER (e.g. `vm add pepsi/api 192.0.2.9/24 p1e1h1`), "
                   "or vm remove TENANT/VM\n")

    def do_tenant(self, line: str) -> None:
        """tenant add NAME --vni N [--encap vxlan|geneve|gre] | tenant remove NAME: a tenant (a virtual
        network) comes or goes while the lab runs; the underlay's tables never change."""
        words = line.split()
        added = tenant_add_args(words[1:]) if words[:1] == ["add"] else None
        if added:
            name, vni, encap = added
            self._change(f"tenant {name} added (VNI {vni}, {encap})",
                         lambda: self.lab.apply(changes.add_tenant(self.lab.scenario, name, vni, encap)))
        elif len(words) == 2 and words[0] == "remove":
            self._change(f"tenant {words[1]} removed", lambda: self.lab.remove_tenant(words[1]))
        else:
            output("usage: tenant add NAME --vni N [--encap vxlan|geneve|gre], or tenant remove NAME\n")

    def do_scenario(self, line: str) -> None:
        """scenario save FILE: the lab's current desired state as a scenario file (`overlaylab check FILE`
        builds it again)."""
        words = line.split()
        if len(words) != 2 or words[0] != "save":
            output("usage: scenario save FILE\n")
            return
        try:
            save(self.lab.scenario, words[1])
        except OSError as exc:
            output(f"cannot save to {words[1]}: {exc.strerror}; name a file in a directory you can write to\n")
            return
        output(f"saved the current desired state ({len(self.lab.scenario.vms)} VMs) to {words[1]}\n")

    def _change(self, done: str, change: Callable[[], dict[str, Any]]) -> None:
        try:
            answer = change()
        except (LabError, ScenarioError) as exc:
            output(f"refused: {exc}\n")
            return
        self.words = Words(self.lab.scenario, self.lab.vm_nodes, set(self.mn))  # the names of the new state
        output(f"{describe_move(answer) if 'stream' in answer else done}; {describe_changes(answer)}\n")

    def do_tables(self, line: str) -> None:
        """tables DATAPATH: a switch's flows grouped by purpose (port security, tunnel accept, ARP
        responder, encapsulate, deliver, door, underlay route, ECMP, detour, drop), each with its packet
        counter and why the compiler wrote it; tables --summary: flows per purpose and layer, lab-wide."""
        name = line.strip()
        if name == "--summary":
            output("\n".join(summary_text(self.lab.compiled)) + "\n")
        elif name in self.lab.compiled:
            counted = tables.counters(self.lab.targets[name])
            output("\n".join(datapath_text(self.lab.compiled[name], underlay(name), counted)) + "\n")
        else:
            output("usage: tables DATAPATH (e.g. `tables p0e0`, `tables p0e0h0/br-int`) or tables --summary\n")

    def do_flows(self, line: str) -> None:
        """flows DATAPATH: the flows a switch (`flows p0e0`) or a server's virtual switch
        (`flows p0e0h0/br-int`) holds right now, with packet counters."""
        name = line.strip()
        if name not in self.lab.targets:
            output(f"usage: flows DATAPATH, one of {', '.join(sorted(self.lab.targets))}\n")
            return
        output(run(*tables.OFCTL, "dump-flows", self.lab.targets[name]).stdout)

    def do_trace(self, line: str) -> None:
        """trace SRC DST [icmp|udp|tcp]: walk a packet through the compiled tables, every ECMP path, with
        the flow matched at each hop: between servers (`trace p0e0h0 p3e1h1`, or DST an address) or
        between VMs (`trace pepsi/web pepsi/db`: vswitch, tunnel across the underlay, vswitch). Between
        VMs the packet is then really sent (UDP unless named) with every cable of those paths tapped:
        what each cable carried, which path it took, and whether prediction and observation agree."""
        ends, proto = trace_args(line.split())
        paths = self.words.trace(ends, self.lab.compiled, self.lab.underlay)
        if paths is None:
            output("usage: trace SRC DST [icmp|udp|tcp], e.g. `trace p0e0h0 p3e1h1`, `trace p0e0h0 10.3.1.3` "
                   "or `trace pepsi/web pepsi/db tcp`\n")
            return
        for number, path in enumerate(paths, 1):
            output(f"path {number} of {len(paths)}:\n{describe(path)}\n")
        pair = self.words.vm_pair(ends)
        if pair:
            src, dst = pair
            seen = observe(self.lab, src, dst, proto, paths)
            taken_path = taken(paths, src, dst, seen, self.lab.scenario.fabric)
            output(describe_observation(paths, seen, taken_path, proto, src, dst) + "\n")

    def do_draw(self, line: str) -> None:
        """draw [FILE.svg|FILE.png] [SRC DST]: a picture of the live fabric (core, aggregation, edge, racks,
        every VM coloured by tenant, cables that are down), with a traced path (every ECMP branch) drawn
        over it, e.g. `draw lecture.svg pepsi/web pepsi/db`; the file is fabric.svg unless named."""
        args = draw_args(line.split())
        paths = self.words.trace(args[1], self.lab.compiled, self.lab.underlay) if args and args[1] else []
        if args is None or paths is None:
            output("usage: draw [FILE.svg|FILE.png] [SRC DST], e.g. `draw fabric.svg pepsi/web pepsi/db`\n")
            return
        file, ends = args
        try:
            render(dot(self.lab.scenario, self.lab.cut, paths, tuple(ends)), file)
        except LabError as exc:
            output(f"refused: {exc}\n")
            return
        traced = f", with {len(paths)} paths from {ends[0]} to {ends[1]}" if ends else ""
        output(f"drew the fabric{traced} to {file}\n")

    def do_wire(self, line: str) -> None:
        """wire LINK [--pcap FILE] CMD: run CMD (any lab command) while tapping underlay link LINK, then
        show what crossed it: outer header, tunnel and VNI, and the VM's packet inside, e.g.
        `wire p0e0-eth1 pepsi/web ping -c2 pepsi/db` (LINK: a switch port such as p0e0-eth1 or c0-eth1);
        with --pcap, also write it to FILE for Wireshark or tcpdump."""
        link, pcap, command = wire_args(line)
        if link not in self._links() or not command:
            output("usage: wire LINK [--pcap FILE] CMD, e.g. `wire p0e0-eth1 pepsi/web ping -c2 pepsi/db`\n")
            return
        frames = captured(self.lab, [link], lambda: self.onecmd(self.precmd(command)))[link]
        output(f"{len(frames)} frames crossed {link}:\n")
        for frame in frames:
            output(f"  {describe_frame(frame)}\n")
        if pcap:
            write_pcap(pcap, frames)
            output(f"written to {pcap} (open it with wireshark or `tcpdump -r`)\n")

    def _links(self) -> set[str]:
        return {intf.name for s in self.mn.switches for intf in s.intfList() if intf.name != "lo"}
