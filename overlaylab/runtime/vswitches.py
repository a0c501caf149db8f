"""Bring every virtualized server's own Open vSwitch up (in parallel) and down again, and give each
bare-metal member its kernel VXLAN VTEP."""
from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from mininet.net import Mininet

from controller.overlay import local_vms, virtualized
from overlaylab.errors import LabError
from overlaylab.runtime import mgmt
from overlaylab.runtime.identity import LabId
from overlaylab.runtime.remote import machine_of, put, run_on
from probes.session import Progress
from topologies.fattree import Server
from topologies.names import MGMT_SERVER_SIDE, mgmt_server_end, uplink, vm_interface, vswitch_dpid
from topologies.scenario import VM, Scenario
from vswitch import kernel
from vswitch.ovs import START_OK, OvsInstance, VswitchPlan, restart_script, start_script

START_TIMEOUT = 180.0  # seconds for all the start scripts of one phase (128 servers at k=8 take about 8)


def server_ovs(lab: LabId, server: Server) -> OvsInstance:
    """The server's own Open vSwitch (its directory, sockets and pidfiles) under the lab's run directory."""
    return OvsInstance(lab.rundir / "servers" / server.name)


def server_intf(vm: VM) -> str:
    """The server's end of a VM's veth: br-int port `vm.port` (`p0e0h0-eth2`)."""
    return vm_interface(vm.server, vm.port)


def plans(lab: LabId, scenario: Scenario, controller_port: int) -> list[VswitchPlan]:
    index = {s.name: i for i, s in enumerate(scenario.fabric.servers)}
    target = f"tcp:{lab.controller.ip}:{controller_port}"
    return [VswitchPlan(server=s, rundir=server_ovs(lab, s).rundir, uplink=uplink(s),
                        vm_ports=tuple((server_intf(vm), vm.port)
                                       for vm in local_vms(scenario, s)),
                        controller=target, dpid=vswitch_dpid(s), mgmt=str(lab.server_address(index[s.name])),
                        mgmt_link=mgmt_server_end(index[s.name]), mgmt_intf=MGMT_SERVER_SIDE,
                        rack_peers=tuple(p.ip for p in scenario.fabric.servers if p.rack == s.rack and p != s),
                        flat=scenario.flat)
            for s in virtualized(scenario)]


def start(lab: LabId, net: Mininet, scenario: Scenario, controller_port: int, progress: Progress | None = None,
          only: Server | None = None) -> None:
    """Cable the management network, then start every server's vswitch (or `only` this one's, when a
    VM moves to a server that had none) at once and wait for all."""
    todo = [p for p in plans(lab, scenario, controller_port) if only in (None, p.server)]
    mgmt.attach(lab, {p.mgmt_link: net[p.server.name] for p in todo})
    run_guarded(net, {p.server.name: (start_script(p), p.ovs) for p in todo}, progress)


def restart(lab: LabId, net: Mininet, scenario: Scenario, controller_port: int, server: Server) -> None:
    """Start a server's killed ovs-vswitchd again (the controller then finds it empty and reconciles it)."""
    plan = next(p for p in plans(lab, scenario, controller_port) if p.server == server)
    run_guarded(net, {server.name: (restart_script(plan), plan.ovs)})


def run_guarded(net: Mininet, scripts: dict[str, tuple[str, OvsInstance]], progress: Progress | None = None) -> None:
    """Run each node's start script (`OvsInstance.guarded`) at once and wait for all; the first failure
    is an error quoting the last line of its log. Each script goes through a file: a node's shell reads
    its commands from a terminal, which takes at most 4095 characters a line, and a server with 16 VMs
    has a longer script (its shell then waited for the rest of the line, forever)."""
    far: dict[str, dict[Path, str]] = defaultdict(dict)  # machine: its scripts
    for name, (script, ovs) in scripts.items():
        host = machine_of(net[name])
        if host is None:
            ovs.rundir.mkdir(parents=True, exist_ok=True)
            (ovs.rundir / "step.sh").write_text(script + "\n")
        else:
            far[host][ovs.rundir / "step.sh"] = script + "\n"
    for host, files in far.items():
        put(host, files)
    for name, (_, ovs) in scripts.items():
        net[name].sendCmd(f". {ovs.rundir / 'step.sh'}")  # read by the node's shell: no bash started
    failed = []
    deadline = time.monotonic() + START_TIMEOUT
    for done, (name, (_, ovs)) in enumerate(scripts.items(), 1):
        if START_OK not in _output(net[name], deadline, ovs):
            failed.append((name, ovs))
        if progress:
            progress(f"{done}/{len(scripts)} up")
    if failed:
        name, ovs = failed[0]
        raise LabError(f"the Open vSwitch of {name} did not start ({len(failed)} failed): "
                       f"{_last_line(net[name], ovs.start_log)}")


def _output(node: Any, deadline: float, ovs: OvsInstance) -> str:
    """What the node's script printed, once it is done; past the deadline, an error naming it."""
    printed = ""
    while node.waiting:
        if time.monotonic() > deadline:
            node.sendInt()
            raise LabError(f"the Open vSwitch of {node.name} did not start within {START_TIMEOUT:.0f} s: "
                           f"{_last_line(node, ovs.start_log)}")
        printed += node.monitor(timeoutms=500)
    return printed


def _peers(scenario: Scenario, member: VM) -> list[kernel.Peer]:
    """What a bare-metal member's kernel must know of its tenant: each peer's MAC, IP and server."""
    return [kernel.Peer(vm.mac, vm.ip.ip, vm.server.ip)
            for vm in scenario.vms if vm.tenant == member.tenant and vm.label != member.label and vm.ip]


def start_kernel_vteps(net: Mininet, scenario: Scenario, before: Scenario | None = None) -> None:
    """Each bare-metal member's server gets a kernel VXLAN device that knows the member's peers. With
    `before` (a running lab changing), only members whose peers changed get theirs again: the kernel
    learns nothing from the wire, so a peer that moved or came is told to it like this."""
    for member in (vm for vm in scenario.vms if vm.bare_metal):
        peers = _peers(scenario, member)
        known = before is not None and any(vm.label == member.label for vm in before.vms)
        if known and before is not None and _peers(before, member) == peers:
            continue
        node = net[member.server.name]
        if machine_of(node) is not None:
            gone = f"ip link del {kernel.device(member)}\n" if known else ""
            in_namespace(node, gone + kernel.vtep_script(member, peers))
            continue
        try:
            if known:
                kernel.stop_vtep(node.pid, member)
            kernel.start_vtep(node.pid, member, peers)
        except kernel.VtepError as exc:
            raise LabError(f"the kernel VTEP of {member.label} on {member.server.name} did not start: {exc}") from None


def in_namespace(node: Any, script: str) -> None:
    """A script run in the namespace of a node on another machine, there (by its pid there, through nsenter)."""
    host = machine_of(node)
    assert host is not None, f"{node.name} is on this machine"
    run_on(host, f"nsenter -t {node.pid} -n sh -e", stdin=script.encode())


def _last_line(node: Any, path: Path) -> str:
    """The last line of a start script's log, read on the node's machine."""
    host = machine_of(node)
    try:
        text = run_on(host, f"cat {path}") if host is not None else path.read_text(errors="replace")
    except (OSError, LabError):
        return f"no log at {path} on {host or 'this machine'}"
    lines = text.strip().splitlines()
    return f"{lines[-1] if lines else '(empty log)'} (see {path}{f' on {host}' if host else ''})"
