"""The walkthrough's routed hop, the lecture's own lookup: a tenant added for the occasion with `routing:
distributed`, one VM on each of two servers in different pods and different subnets. A real ping from one
to the other answers with TTL 63 (one routed hop each way, at each sender's first virtual switch; the
underlay's hops are inside the tunnel, unseen), and the entry that routed it is read from the switch with
its counter. Then the tenant goes."""
from __future__ import annotations

import re
from typing import Any

from controller.flows import ofctl_match
from controller.purpose import ROUTE
from overlaylab.classroom.shown import Shown, across
from overlaylab.runtime import tables
from overlaylab.runtime.running import RunningLab
from overlaylab.system import wait_until
from overlaylab.verify.evidence import COUNTER_TIMEOUT
from topologies import changes
from topologies.changes import vm_named
from topologies.names import vswitch_name

TENANT = "acme"
ADDRESSES = ("172.31.1.10/24", "172.31.2.10/24")  # two subnets: each VM's default route is its own gateway


def routed_hop(lab: RunningLab, shown: Shown) -> dict[str, Any]:
    """Add the routed tenant, ping across its subnets, show the route entry that matched; remove it."""
    ends = across(lab)
    vni = max(t.vni for t in lab.scenario.tenants) + 1
    lab.members.apply(changes.add_tenant(lab.scenario, TENANT, vni, "vxlan", "distributed"))
    try:
        for name, address, vm in zip("ab", ADDRESSES, ends, strict=True):
            lab.members.add_vm(f"{TENANT}/{name}", address, vm.server.name)
        a, b = vm_named(lab.scenario, f"{TENANT}/a"), vm_named(lab.scenario, f"{TENANT}/b")
        switch = vswitch_name(a.server)
        route = next(f for f in lab.compiled[switch].flows if f.purpose == ROUTE and b.label in f.note)
        key = tables.flow_key(ofctl_match(route))
        before = tables.counters(lab.nodes.targets[switch]).get(key, 0)
        reply = str(lab.nodes.vm(a.label).cmd(f"ping -c1 -W2 {b.v4.ip}"))
        ttl = int(found.group(1)) if (found := re.search(r"ttl=(\d+)", reply)) else None
        routed = _moved(lab, switch, key, before) if ttl else 0
        shown.say(f"  a routed tenant added for the occasion ({TENANT}: {a.label} {a.ip} on {a.server.name}, {b.label} "
                  f"{b.ip} on {b.server.name}): {a.label} pings {b.v4.ip} through its default route "
                  f"{a.gateway}: {f'answered with TTL {ttl}' if ttl else 'NO ANSWER'}")
        shown.say(f"    {switch} routed it (+{routed}): {route.note}")
        return {"ttl": ttl, "routed": routed}
    finally:
        lab.members.remove_tenant(TENANT)


def _moved(lab: RunningLab, switch: str, key: tables.FlowKey, before: int) -> int:
    """How far the entry's counter moved, once it has (Open vSwitch publishes counters every half second)."""
    return wait_until(lambda: tables.counters(lab.nodes.targets[switch]).get(key, 0) - before, COUNTER_TIMEOUT,
                      f"the route entry's counter on {switch} to move")
