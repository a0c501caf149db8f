"""The Mininet CLI plus lab commands that show the lecture's ideas on the running lab."""
from __future__ import annotations

import sys
from ipaddress import IPv4Address
from typing import IO

from mininet.cli import CLI
from mininet.log import lg, output

from controller.trace import describe, ip_packet, trace
from overlaylab.lab import Lab
from overlaylab.system import run


class LabCLI(CLI):
    prompt = "overlaylab> "

    def __init__(self, lab: Lab, stdin: IO[str] = sys.stdin) -> None:
        """Run the CLI until exit or end of input; piped commands are echoed instead of prompted."""
        self.lab = lab
        self.scripted = not stdin.isatty()
        if self.scripted:
            self.prompt = ""
        streams = [h.setStream(sys.stdout) for h in lg.handlers]  # command output is stdout, not stderr
        try:
            super().__init__(lab.net, stdin=stdin)
        finally:
            for handler, stream in zip(lg.handlers, streams):
                handler.setStream(stream)

    def precmd(self, line: str) -> str:
        if self.scripted and line.strip() and line != "EOF":
            output(f"overlaylab> {line.strip()}\n")
        return super().precmd(line)

    def do_addresses(self, _line: str) -> None:
        """addresses: every server's hierarchical underlay address (10.pod.edge.host), gateway and MAC."""
        output(f"{'server':<10} {'address':<12} {'gateway':<12} mac\n")
        for s in self.lab.scenario.fabric.servers:
            output(f"{s.name:<10} {str(s.ip):<12} {str(s.gateway):<12} {s.mac}\n")

    def do_flows(self, line: str) -> None:
        """flows SWITCH: the flows SWITCH holds right now, with packet counters (e.g. `flows p0e0`)."""
        name = line.strip()
        if name not in self.lab.compiled:
            output(f"usage: flows SWITCH, one of {', '.join(sorted(self.lab.compiled))}\n")
            return
        output(run("ovs-ofctl", "-O", "OpenFlow13", "dump-flows", name).stdout)

    def do_trace(self, line: str) -> None:
        """trace SRC DST: walk a packet from server SRC to DST (a server or an address) through the
        compiled tables, every ECMP path, with the flow matched at each switch."""
        fabric = self.lab.scenario.fabric
        args = line.split()
        src = fabric.server(args[0]) if len(args) == 2 else None
        dst = self._address(args[1]) if src else None
        if src is None or dst is None:
            output("usage: trace SRC DST, e.g. `trace p0e0h0 p3e1h1` or `trace p0e0h0 10.3.1.3`\n")
            return
        paths = trace(fabric, self.lab.compiled, src.name, ip_packet(src, dst))
        for number, path in enumerate(paths, 1):
            output(f"path {number} of {len(paths)}:\n{describe(path)}\n")

    def _address(self, word: str) -> IPv4Address | None:
        server = self.lab.scenario.fabric.server(word)
        if server:
            return server.ip
        try:
            return IPv4Address(word)
        except ValueError:
            return None
