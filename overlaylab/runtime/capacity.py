"""What a lab will cost this machine, estimated before anything is built, so a lab too large for it is
refused up front (with the estimate) instead of swapping, or failing half built after minutes.

The coefficients are fitted to labs measured on a 2-core, 24 GiB machine (see BENCHMARKS.md): an
underlay switch's bridge, a shell per Mininet node (servers, VMs, pods), an ovsdb-server +
ovs-vswitchd pair per virtualized server and per pod.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from controller.overlay import virtualized
from overlaylab.errors import LabError
from overlaylab.runtime import registry
from topologies.placement import Placement
from topologies.scenario import Scenario

# Memory fitted to `bench --scale` (k=4, 6, 8 with 2 VMs per server; at k=8 the machine's available memory
# dropped by 2.79 GiB); the smaller labs come out overestimated, never under. Bring-up refitted once nodes,
# cables and virtual switches started side by side (k=8 with 256 VMs: 13.3-14.4 s to the prompt, predicted
# 15.7; the lecture's lab 2.3 s, predicted 2.7). Larger labs push flows that grow with the square of their
# VMs, which this does not count: k=12 with 864 VMs took 223 s before that work, when it predicted 93.
# A virtual switch's pair of daemons: 14 MiB fitted then; 13.5 MiB of PSS measured once the lab read the
# controller's tables only when asked (ovs-vswitchd 11.5, ovsdb-server 2.0, at k=8 on 2026-12-06).
BASE_MIB, SWITCH_MIB, NODE_MIB, VSWITCH_MIB = 100.0, 2.0, 2.0, 13.5
BASE_S, SWITCH_S, NODE_S, VSWITCH_S = 1.5, 0.02, 0.006, 0.075
PROBE_KIB = 1.8  # the probing session's memory per matrix probe: k=12's 2.2 million took 4.1 GiB
# A node on another machine is a shell over ssh (Mininet's Cluster Edition), its session one of many on one
# connection per machine: measured at k=8 over 2 simulated machines, 474 of them, an ssh client of 1.05 MiB
# (PSS) each here and 0.05 MiB each in their machines' sshds; this 2-core machine started them at about 4.5
# a second (9 at a time).
SSHD_MIB, SSH_MIB, SSH_S = 0.1, 1.1, 0.22
MEMORY_SHARE = 0.8  # of what the machine has available now
MAX_BRING_UP_S = 600.0
HERE = "this machine"  # in a placement's estimate: where the lab's process runs


@dataclass(frozen=True)
class Estimate:
    memory_mib: float
    bring_up_s: float

    def __str__(self) -> str:
        return f"about {self.memory_mib / 1024:.1f} GiB and {self.bring_up_s:.0f} s to bring up"


def estimate(scenario: Scenario) -> Estimate:
    fabric = scenario.fabric
    homes = fabric.k + 1  # each pod's Open vSwitch and the core's
    nodes = len(fabric.servers) + sum(not vm.bare_metal for vm in scenario.vms) + homes
    cost = _cost(len(fabric.switches), nodes, len(virtualized(scenario)) + homes)
    return Estimate(cost.memory_mib + probing_mib(scenario), cost.bring_up_s)


def probing_mib(scenario: Scenario) -> float:
    """What `check`'s probing session holds, in the lab's own process: it grows with the square of the VMs
    (3 probes per ordered pair and address family), and at k=12 with 864 VMs it is 4 GiB."""
    v4, v6 = sum(vm.ip is not None for vm in scenario.vms), sum(vm.ip6 is not None for vm in scenario.vms)
    return 3 * (v4 * (v4 - 1) + v6 * (v6 - 1)) * PROBE_KIB / 1024


def estimate_on(scenario: Scenario, placement: Placement) -> dict[str, Estimate]:
    """The same per machine of a placement (issue 21's model): each machine pays for its own pods' switches,
    servers, VMs and homes, the core's where it has it (one more home), an sshd session per node there, and a
    base of its own; and this one (HERE, where the lab's own process and its controller run, with the probing
    session's probes: the machines' agents hold sockets only) a base, the probing session, and an ssh client
    per node, whose handshakes it also makes one after another (PARALLEL_STARTS at once). Bring-up on each
    machine is its own, so the lab's is the slowest machine's, or this one's handshakes if longer."""
    fabric, hosting = scenario.fabric, set(virtualized(scenario))
    count = {host: [0, 0, 0] for host in placement.hosts}  # switches, nodes, vswitches
    for switch in fabric.switches:
        count[placement.machine_of(fabric, switch.name)][0] += 1
    for server in fabric.servers:
        machine = count[placement.pods[server.pod]]
        machine[1] += 1 + sum(vm.server == server and not vm.bare_metal for vm in scenario.vms)
        machine[2] += server in hosting
    for host in placement.hosts:  # a home per pod, and one for the core switches it has
        homes = len(placement.pods_of(host)) + (host in placement.cores.values())
        count[host][1] += homes
        count[host][2] += homes
    costs = {host: _cost(*counted) for host, counted in count.items()}
    nodes = {host: switches + others for host, (switches, others, _) in count.items()}
    costs = {host: Estimate(cost.memory_mib + SSHD_MIB * nodes[host], cost.bring_up_s) for host, cost in costs.items()}
    shells = sum(nodes.values())
    return {**costs, HERE: Estimate(BASE_MIB + probing_mib(scenario) + SSH_MIB * shells, BASE_S + SSH_S * shells)}


def share_here(scenario: Scenario, placement: Placement, simulated: bool) -> Estimate:
    """What this machine holds of a spread lab: its own part, or all of it when the machines are simulated here."""
    costs = estimate_on(scenario, placement)
    if not simulated:
        return costs[HERE]
    return Estimate(sum(c.memory_mib for c in costs.values()), max(c.bring_up_s for c in costs.values()))


def _cost(switches: int, nodes: int, vswitches: int) -> Estimate:
    return Estimate(BASE_MIB + SWITCH_MIB * switches + NODE_MIB * nodes + VSWITCH_MIB * vswitches,
                    BASE_S + SWITCH_S * switches + NODE_S * nodes + VSWITCH_S * vswitches)


def available_mib() -> float:
    with open("/proc/meminfo") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:"))
    return kib / 1024


@dataclass(frozen=True)
class Holder:
    """A running lab, as admission counts it: what it was estimated to need, and what it holds now."""

    name: str
    estimate_mib: float
    used_mib: float


def require_capacity(scenario: Scenario, holders: Sequence[Holder] = (), available: float | None = None,
                     cost: Estimate | None = None) -> Estimate:
    """The estimate (`cost`: this machine's share of a spread lab), if this machine can hold the lab beside the
    labs running; otherwise a LabError that says why, which labs hold the memory, and what fits. The running
    labs' own memory is already out of what is available: what they hold counts back in, what they were
    estimated to need counts against."""
    cost = cost or estimate(scenario)
    free = available_mib() if available is None else available
    budget = (free + sum(h.used_mib for h in holders)) * MEMORY_SHARE
    demand = cost.memory_mib + sum(h.estimate_mib for h in holders)
    what = f"a k={scenario.fabric.k} lab with {len(scenario.vms)} VMs needs {cost}"
    if demand > budget and holders:
        held = ", ".join(f"{h.name} {h.estimate_mib / 1024:.1f} GiB"
                         for h in sorted(holders, key=lambda h: -h.estimate_mib))
        raise LabError(f"{what}, but the {len(holders)} labs running need {_gib(demand - cost.memory_mib)} "
                       f"({held}) of the {_gib(budget)} this machine can give labs: stop one "
                       f"(`overlaylab down NAME`) or use a smaller k or fewer VMs")
    if demand > budget:
        raise LabError(f"{what}, but this machine has {_gib(free)} available; use a smaller k "
                       f"or fewer VMs, or spread it over machines with --hosts A,B,... (docs/cluster.md)")
    if cost.bring_up_s > MAX_BRING_UP_S:
        raise LabError(f"{what}, more than the {MAX_BRING_UP_S:.0f} s a lab may take to come up here; "
                       f"use a smaller k or fewer VMs")
    return cost


def _gib(mib: float) -> str:
    return f"{mib / 1024:.1f} GiB"


def busy(load: float, cores: int, labs: int) -> str | None:
    """A note when the machine's cores are already busy: the lab will come up, and probe, slower."""
    if load <= cores:
        return None
    return (f"overlaylab: note: this machine is busy (load {load:.1f} on {cores} cores, {labs} labs running): "
            f"this lab will come up and answer slower\n")


def admit(scenario: Scenario, out: IO[str], share: Estimate | None = None) -> Estimate:
    """Admission, before anything is built: refuse a lab the machine cannot hold beside the running ones
    (`share`: what this machine holds of a lab spread over several); note a busy machine."""
    running = [(listed.name, listed.state) for listed in registry.labs() if listed.running and listed.state]
    held = registry.marked()
    holders = [Holder(name, state.estimate_mib, registry.memory_mib([*held.get(name, []), state.pid]))
               for name, state in running]
    cost = require_capacity(scenario, holders, cost=share)
    note = busy(os.getloadavg()[0], os.cpu_count() or 1, len(running))
    if note:
        out.write(note)
    return cost
