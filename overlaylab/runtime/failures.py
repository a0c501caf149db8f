"""Failure events on a running lab, each measured: a probe stream between two VMs of one tenant in
different pods runs across the fabric during the event, and the controller's repairs (the tables
changed, where, how many flow-mods) are read back from its API once the switches hold them.

  link A B down|up     a cable between two nodes (switch-switch: the controller reroutes)
  switch S down|up     every cable of an underlay switch
  vswitch SERVER down  the server's ovs-vswitchd killed (its VMs are cut off); up: started again, and
                       the controller reconciles it
  controller down|up   the controller killed (SIGKILL); up: started again on its port, reconciling
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from controller.desired import link_name
from controller.planner import layered
from controller.underlay import links_of
from overlaylab.errors import LabError
from overlaylab.runtime import vswitches
from overlaylab.runtime.running import RunningLab
from overlaylab.system import wait_until
from topologies.names import vswitch_dpid, vswitch_name
from topologies.scenario import VM

REPAIR_TIMEOUT = 30.0


def cross_pod_pair(lab: RunningLab) -> tuple[VM, VM] | None:
    """Two VMs of one tenant in different pods: their stream crosses the core."""
    vms = [vm for vm in lab.scenario.vms if not vm.bare_metal]
    return next(((a, b) for a in vms for b in vms if a.tenant == b.tenant and a.server.pod != b.server.pod), None)


def merged(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Several repairs' changes as one: per layer and per datapath."""
    per_datapath: dict[str, int] = {}
    for s in summaries:
        for name, n in s["datapaths"].items():
            per_datapath[name] = per_datapath.get(name, 0) + n
    return layered(per_datapath)


@contextmanager
def measured(lab: RunningLab, event: str) -> Iterator[dict[str, Any]]:
    """Run the block under a probe stream; the dict it yields gets the stream's figures and the time."""
    record: dict[str, Any] = {"event": event, "stream": None}
    pair = cross_pod_pair(lab)
    start = time.monotonic()
    if pair is None:
        yield record
    else:
        with lab.nodes.stream(*pair) as stream:
            yield record
        assert stream.result is not None
        record["stream"] = {"from": pair[0].label, "to": pair[1].label, "sent": stream.result.sent,
                            "lost": stream.result.lost, "longest_gap": round(stream.result.longest_gap, 3)}
    record["seconds"] = round(time.monotonic() - start, 3)


def _repaired(lab: RunningLab, change: Callable[[], None]) -> dict[str, Any]:
    """Make a change to the underlay's links, then wait until the controller knows exactly the links the
    lab took down, has recorded its repair for them, and the switches hold what it now wants."""
    before, down = len(lab.controller.request("GET", path="/underlay")["reroutes"]), set(lab.nodes.down)
    change()
    failed = sorted(link_name(link) for link in lab.nodes.down)

    def done() -> bool:
        """(It records each repair after its barriers, so the tables can match a moment earlier.)"""
        lab.desired.refresh()
        reroutes = lab.controller.request("GET", path="/underlay")["reroutes"][before:]
        recorded = lab.nodes.down == down or (bool(reroutes) and reroutes[-1]["down"] == failed)
        return lab.desired.known_down == failed and recorded and not lab.underlay_problems()
    wait_until(done, REPAIR_TIMEOUT, "the underlay's repair", lambda: "; ".join(lab.underlay_problems()[:3]))
    return merged([r["changes"] for r in lab.controller.request("GET", path="/underlay")["reroutes"][before:]])


def link(lab: RunningLab, a: str, b: str, up: bool) -> dict[str, Any]:
    with measured(lab, f"link {a} {b} {'up' if up else 'down'}") as record:
        record["changes"] = _repaired(lab, lambda: _set_links(lab, [(a, b)], up))
    return record


def switch(lab: RunningLab, name: str, up: bool) -> dict[str, Any]:
    if lab.scenario.fabric.switch(name) is None:
        raise LabError(f"no underlay switch {name}; name one such as p0a0, p0e1 or c0")
    cables = [tuple(sorted(pair)) for pair in links_of(lab.scenario.fabric, name)]
    with measured(lab, f"switch {name} {'up' if up else 'down'}") as record:
        record["changes"] = _repaired(lab, lambda: _set_links(lab, cables, up))
    return record


def _set_links(lab: RunningLab, cables: list[tuple[str, ...]], up: bool) -> None:
    net, fabric = lab.nodes.net, lab.scenario.fabric
    assert net is not None
    for a, b in cables:
        if a not in net or b not in net or not net.linksBetween(net[a], net[b]):
            raise LabError(f"no cable between {a} and {b}")
        net.configLinkStatus(a, b, "up" if up else "down")
        (lab.nodes.cut.discard if up else lab.nodes.cut.add)(frozenset((a, b)))
        if fabric.switch(a) and fabric.switch(b):
            (lab.nodes.down.discard if up else lab.nodes.down.add)(frozenset((a, b)))


def vswitch(lab: RunningLab, server: str, up: bool) -> dict[str, Any]:
    """Kill a server's ovs-vswitchd, or start it again (its database kept the bridges and ports; the
    controller finds it empty and pushes its tables)."""
    found = lab.scenario.fabric.server(server)
    if found is None or found not in {vm.server for vm in lab.scenario.vms if not vm.bare_metal}:
        raise LabError(f"{server} has no virtual switch; name a server that hosts VMs")
    dpid = vswitch_dpid(found)
    assert lab.nodes.net is not None
    with measured(lab, f"vswitch {server} {'up' if up else 'down'}") as record:
        if up:
            before = lab.controller.status().syncs.get(dpid, 0)
            vswitches.restart(lab.nodes.lab, lab.nodes.net, lab.scenario, lab.controller.port, found)
            wait_until(lambda: lab.controller.status().syncs.get(dpid, 0) > before, REPAIR_TIMEOUT,
                       f"{server}'s virtual switch to be reconciled")
            changes = lab.controller.status().changes[dpid]
            record["changes"] = layered({vswitch_name(found): changes})
        else:
            pid = lab.nodes.vswitchd(found)
            if pid is None:
                raise LabError(f"{server}'s virtual switch is down already; restore it: `restore vswitch {server}`")
            lab.nodes.node(server).cmd(f"kill -9 {pid}")  # by the server's shell, on its machine
            wait_until(lambda: lab.nodes.vswitchd(found) is None, 10, f"{server}'s ovs-vswitchd to die")
            record["changes"] = layered({})
    return record


def controller(lab: RunningLab, up: bool) -> dict[str, Any]:
    with measured(lab, f"controller {'up' if up else 'down'}") as record:
        if up:
            record["changes"] = layered(lab.start_controller())
        else:
            lab.kill_controller()
            record["changes"] = layered({})
    return record
