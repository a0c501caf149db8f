"""TCP throughput (iperf3) between VMs, and what bounds it, measured side by side in one run:

  raw veth         two namespaces joined by one veth pair: what the kernel alone gives
  direct vswitches two servers cabled back to back, each with its own virtual switch and one VM,
                   VXLAN between them: the virtual switches' own cost, no underlay at all
  same server      two VMs on one server's virtual switch (no encapsulation)
  same rack        VMs on two servers under one edge switch (VXLAN through 1 underlay switch)
  across pods      VMs in pods 0 and 3 (VXLAN through 5 underlay switches)
  servers, pods    the same two servers without encapsulation (the underlay alone)

The underlay switches are bridges of userspace ovs-vswitchd processes (one per pod, one for the core),
each forwarding for its bridges on one thread; the ratios show how much that costs.
"""
from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from mininet.net import Mininet

from controller.flows import ofctl_flow
from controller.overlay import compile_overlay
from overlaylab.errors import LabError
from overlaylab.runtime import daemons
from overlaylab.runtime.identity import LabId
from overlaylab.runtime.phases import Phases
from overlaylab.runtime.running import claimed, running_lab
from overlaylab.runtime.tables import OFCTL
from overlaylab.runtime.vswitches import run_guarded, server_ovs
from overlaylab.system import run, wait_until
from topologies.fattree import Server
from topologies.names import uplink, vm_interface, vswitch_dpid
from topologies.scenario import load, parse
from vswitch.nodes import PhysicalServer, VirtualMachine
from vswitch.ovs import OvsInstance, VswitchPlan, start_script

SECONDS = 4
PORT = 5201
LAB = {"fabric": {"k": 4}, "tenants": {"bench": {"vni": 7000, "encap": "vxlan", "vms": {
    "a": {"ip": "192.0.2.10/24", "server": "p0e0h0"}, "b": {"ip": "192.0.2.11/24", "server": "p0e0h0"},
    "c": {"ip": "192.0.2.12/24", "server": "p0e0h1"}, "d": {"ip": "192.0.2.13/24", "server": "p3e1h1"}}}}}
DIRECT = {"fabric": {"k": 4}, "tenants": {"bench": {"vni": 7000, "encap": "vxlan", "vms": {
    "a": {"ip": "192.0.2.10/24", "server": "p0e0h0"}, "c": {"ip": "192.0.2.12/24", "server": "p0e0h1"}}}}}


def tcp_mbps(server: Any, client: Any, address: str) -> float:
    """One iperf3 run of SECONDS from `client` to `server` (Mininet nodes), in Mbit/s."""
    server.cmd(f"iperf3 -s -1 -D -p {PORT} --logfile /dev/null")
    wait_until(lambda: f":{PORT} " in server.cmd("ss -ltnH"), 10, f"iperf3 to listen in {server.name}")
    out = client.cmd(f"iperf3 -c {address} -p {PORT} -t {SECONDS} -J")
    try:
        return float(json.loads(out)["end"]["sum_received"]["bits_per_second"]) / 1e6
    except (ValueError, KeyError) as exc:
        raise LabError(f"iperf3 from {client.name} to {address} gave no result ({exc}): {out[-200:]}") from None


@contextmanager
def bare_net(lab: LabId) -> Iterator[Mininet]:
    """A Mininet of hosts only (no switch, no controller); its namespaces take their veths with them."""
    net = Mininet(topo=None, build=False, controller=None, autoSetMacs=False, waitConnected=False)
    try:
        yield net
    finally:
        daemons.stop_all(lab)
        for node in net.values():
            node.terminate()


def raw_veth(lab: LabId) -> float:
    with bare_net(lab) as net:
        a = net.addHost("rawa", cls=PhysicalServer, ip="10.0.0.2/24")
        b = net.addHost("rawb", cls=PhysicalServer, ip="10.0.0.3/24")
        net.addLink(a, b)
        net.build()
        return tcp_mbps(b, a, "10.0.0.3")


def direct_vswitches(lab: LabId) -> float:
    """Two servers cabled back to back, each running its own virtual switch with the compiled tables."""
    scenario = parse(DIRECT, "direct")
    with bare_net(lab) as net:
        for s in scenario.fabric.servers[:2]:
            net.addHost(s.name, cls=PhysicalServer, ip=f"{s.ip}/24", mac=s.mac)
        net.addLink("p0e0h0", "p0e0h1", port1=0, port2=0)
        for vm in scenario.vms:
            net.addHost(vm.name, cls=VirtualMachine, ip=str(vm.ip), mac=vm.mac, mtu=1450)
            net.addLink(vm.name, vm.server.name, port1=0, port2=1)
        net.build()
        for s, tables in zip(scenario.fabric.servers[:2], compile_overlay(scenario).values(), strict=True):
            ovs = _start_vswitch(lab, net, s)
            flows = ovs.rundir / "flows.txt"
            flows.write_text("".join(ofctl_flow(f) + "\n" for f in tables.flows))
            run(*OFCTL, "add-flows", ovs.br_int, str(flows))
        return tcp_mbps(net["c"], net["a"], "192.0.2.12")


def _start_vswitch(lab: LabId, net: Mininet, server: Server) -> OvsInstance:
    plan = VswitchPlan(server=server, rundir=server_ovs(lab, server).rundir, uplink=uplink(server),
                       vm_ports=((vm_interface(server, 1), 1),), controller=None, dpid=vswitch_dpid(server), mgmt=None,
                       mgmt_link="", mgmt_intf="")
    run_guarded(net, {server.name: (start_script(plan), plan.ovs)})
    return plan.ovs


def in_lab(name: str | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="overlaylab-bench-") as folder:
        path = Path(folder) / "throughput.yaml"
        path.write_text(json.dumps(LAB))
        with open("/dev/null", "w") as quiet, running_lab(load(path), Phases(quiet), "bench", name) as lab:
            vm, net = lab.nodes.vm, lab.nodes.net
            assert net is not None
            return {"same server": tcp_mbps(vm("bench/b"), vm("bench/a"), "192.0.2.11"),
                    "same rack": tcp_mbps(vm("bench/c"), vm("bench/a"), "192.0.2.12"),
                    "across pods": tcp_mbps(vm("bench/d"), vm("bench/a"), "192.0.2.13"),
                    "servers across pods": tcp_mbps(net["p3e1h1"], net["p0e0h0"], "10.3.1.3")}


def bench_throughput(out: IO[str], name: str | None = None) -> dict[str, float]:
    """Every figure, then a table with ratios to the raw veth and to the directly wired vswitches; the bare
    networks run under the lab's name too, so their daemons are the lab's."""
    with claimed(name) as lab:
        figures = {"raw veth": raw_veth(lab), "direct vswitches": direct_vswitches(lab)}
    figures.update(in_lab(name))
    raw, direct = figures["raw veth"], figures["direct vswitches"]
    out.write("| path | TCP Mbit/s | / raw veth | / direct vswitches |\n|---|---|---|---|\n")
    for name, mbps in figures.items():
        out.write(f"| {name} | {mbps:,.0f} | {mbps / raw:.3f} | {mbps / direct:.2f} |\n")
    return figures
