"""What a lab will cost this machine, estimated before anything is built, so a lab too large for it is
refused up front (with the estimate) instead of swapping, or failing half built after minutes.

The coefficients are fitted to labs measured on a 2-core, 24 GiB machine (see BENCHMARKS.md): an
underlay switch's bridge, a shell per Mininet node (servers, VMs, pods), an ovsdb-server +
ovs-vswitchd pair per virtualized server and per pod.
"""
from __future__ import annotations

from dataclasses import dataclass

from controller.overlay import virtualized
from overlaylab.errors import LabError
from topologies.scenario import Scenario

# Fitted to `bench --scale` (k=4, 6, 8 with 2 VMs per server; at k=8 the machine's available memory
# dropped by 2.79 GiB and bring-up took 27 s); the smaller labs come out overestimated, never under.
BASE_MIB, SWITCH_MIB, NODE_MIB, VSWITCH_MIB = 100.0, 2.0, 2.0, 14.0
BASE_S, SWITCH_S, NODE_S, VSWITCH_S = 1.0, 0.12, 0.03, 0.07
MEMORY_SHARE = 0.8  # of what the machine has available now
MAX_BRING_UP_S = 600.0


@dataclass(frozen=True)
class Estimate:
    memory_mib: float
    bring_up_s: float

    def __str__(self) -> str:
        return f"about {self.memory_mib / 1024:.1f} GiB and {self.bring_up_s:.0f} s to bring up"


def estimate(scenario: Scenario) -> Estimate:
    fabric = scenario.fabric
    switches = len(fabric.switches)
    nodes = len(fabric.servers) + sum(not vm.bare_metal for vm in scenario.vms) + fabric.k
    vswitches = len(virtualized(scenario)) + fabric.k
    return Estimate(BASE_MIB + SWITCH_MIB * switches + NODE_MIB * nodes + VSWITCH_MIB * vswitches,
                    BASE_S + SWITCH_S * switches + NODE_S * nodes + VSWITCH_S * vswitches)


def available_mib() -> float:
    with open("/proc/meminfo") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:"))
    return kib / 1024


def require_capacity(scenario: Scenario, available: float | None = None) -> Estimate:
    """The estimate, if this machine can hold the lab; otherwise a LabError that says why and what fits."""
    cost = estimate(scenario)
    free = available_mib() if available is None else available
    what = f"a k={scenario.fabric.k} lab with {len(scenario.vms)} VMs needs {cost}"
    if cost.memory_mib > free * MEMORY_SHARE:
        raise LabError(f"{what}, but this machine has {free / 1024:.1f} GiB available; use a smaller k "
                       f"or fewer VMs (or a machine with more memory)")
    if cost.bring_up_s > MAX_BRING_UP_S:
        raise LabError(f"{what}, more than the {MAX_BRING_UP_S:.0f} s a lab may take to come up here; "
                       f"use a smaller k or fewer VMs")
    return cost
