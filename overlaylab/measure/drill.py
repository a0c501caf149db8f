"""`overlaylab drill`: a fixed set of failures and changes on a running lab, under probe streams
between VMs of every tenant and across every pod pair. Per event: probes lost, the longest gap, the
time until the network is whole again, flow-mods per layer, and probes delivered across tenants
(which must be 0 throughout). Then `check` must be green.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from overlaylab.runtime import failures
from overlaylab.runtime.running import RunningLab
from overlaylab.verify.check import Report, run_checks
from probes.stream import INTERVAL, Stream
from topologies.scenario import VM

Event = tuple[str, Callable[[RunningLab], dict[str, Any]]]
CONTROLLER_AWAY = 10.0  # seconds the controller stays dead: traffic must not notice
MAX_RATE = 2000  # probes per second over all streams: at k=8, 36 streams at 200/s each starved the
                 # controller of CPU on 2 cores (a restart took 58 s) and lost probes to the load alone


def pairs(lab: RunningLab) -> list[tuple[VM, VM]]:
    """One stream per tenant (across pods where it can) and one per pod pair that a tenant spans."""
    vms = [vm for vm in lab.scenario.vms if not vm.bare_metal]
    chosen: dict[object, tuple[VM, VM]] = {}
    for a in vms:
        for b in vms:
            if a.tenant == b.tenant and a is not b:
                chosen.setdefault(a.tenant, (a, b))
                if a.server.pod < b.server.pod:
                    chosen.setdefault((a.server.pod, b.server.pod), (a, b))
    return list(dict.fromkeys(chosen.values()))


def events(lab: RunningLab) -> list[Event]:
    """The drill's fixed events, named after this lab's own switches, servers and VMs."""
    fabric = lab.scenario.fabric
    core, agg = fabric.cores[-1].name, fabric.aggs[fabric.half].name  # c3 and p1a0 at k=4
    hosted = [vm for vm in lab.scenario.vms if not vm.bare_metal]
    vm = hosted[0]
    away = next(s.name for s in fabric.servers if s.pod != vm.server.pod
                and all(v.server != s or not v.bare_metal for v in lab.scenario.vms))
    edge = fabric.peer(vm.server.name, 0)
    assert edge is not None
    return [
        ("core link down", lambda lab: failures.link(lab, "p0a0", fabric.cores[0].name, False)),
        ("core link up", lambda lab: failures.link(lab, "p0a0", fabric.cores[0].name, True)),
        ("aggregation switch down", lambda lab: failures.switch(lab, agg, False)),
        ("aggregation switch up", lambda lab: failures.switch(lab, agg, True)),
        ("core switch down", lambda lab: failures.switch(lab, core, False)),
        ("core switch up", lambda lab: failures.switch(lab, core, True)),
        ("server uplink down", lambda lab: failures.link(lab, vm.server.name, edge[0], False)),
        ("server uplink up", lambda lab: failures.link(lab, vm.server.name, edge[0], True)),
        ("virtual switch killed", lambda lab: failures.vswitch(lab, vm.server.name, False)),
        ("virtual switch restarted", lambda lab: failures.vswitch(lab, vm.server.name, True)),
        ("controller killed for 10 s", lambda lab: _away(failures.controller(lab, False))),
        ("controller restarted", lambda lab: failures.controller(lab, True)),
        ("VM migrated away", lambda lab: _moved(lab.members.migrate(vm.label, away))),
        ("VM migrated back", lambda lab: _moved(lab.members.migrate(vm.label, vm.server.name))),
    ]


def _away(record: dict[str, Any]) -> dict[str, Any]:
    """Hold the controller's absence (under the streams: a deliberate duration, not a wait)."""
    time.sleep(CONTROLLER_AWAY)
    return record


def _moved(answer: dict[str, Any]) -> dict[str, Any]:
    return {"changes": answer["changes"]}


def interval(streams: int) -> float:
    """Each stream's probe interval: 5 ms, or longer when that many streams would pass MAX_RATE."""
    return max(INTERVAL, streams / MAX_RATE)


@contextmanager
def streams(lab: RunningLab, chosen: list[tuple[VM, VM]]) -> Iterator[list[Stream]]:
    every = interval(len(chosen))
    with ExitStack() as stack:
        yield [stack.enter_context(lab.nodes.stream(a, b, interval=every, run=i.to_bytes(2, "big")))
               for i, (a, b) in enumerate(chosen)]


def run_event(lab: RunningLab, name: str, event: Callable[[RunningLab], dict[str, Any]],
              chosen: list[tuple[VM, VM]]) -> dict[str, Any]:
    """One event under every stream: its record for the report."""
    start = time.monotonic()
    with streams(lab, chosen) as running:
        done = event(lab)
        recovered = time.monotonic() - start
    tenant_of = {i.to_bytes(2, "big"): a.tenant for i, (a, _) in enumerate(chosen)}
    crossed = sum(1 for s, (_, b) in zip(running, chosen, strict=True) for run in s.foreign
                  if tenant_of.get(run, b.tenant) != b.tenant)
    results = [s.result for s in running if s.result]
    return {"event": name, "lost": sum(r.lost for r in results), "sent": sum(r.sent for r in results),
            "longest_gap": round(max((r.longest_gap for r in results), default=0.0), 3),
            "recovery": round(recovered, 3), "changes": done["changes"], "cross_tenant": crossed}


def drill(lab: RunningLab) -> dict[str, Any]:
    """Every event on the running lab under every stream, then every check: `ok` only with no probe
    delivered across tenants and a green check; `events` a record each; `check` the report's JSON."""
    chosen = pairs(lab)
    records = [run_event(lab, name, event, chosen) for name, event in events(lab)]
    report = Report()
    run_checks(lab, report)
    return {"ok": report.ok and not any(r["cross_tenant"] for r in records), "scenario": lab.scenario.source,
            "streams": len(chosen),
            "interval": interval(len(chosen)), "events": records, "check": report.as_json()}


HEADER = (("", "probes", "longest", "recovery", "flow-mods", "", "cross-"),
          ("event", "lost", "gap s", "s", "underlay", "vswitch", "tenant"))
WIDTHS = (27, 9, 8, 9, 10, 8, 7)  # 80 columns in all


def table(records: list[dict[str, Any]]) -> list[str]:
    """One screen, 80 columns wide: an event a line."""
    rows = [(r["event"], f"{r['lost']}/{r['sent']}", f"{r['longest_gap']:.2f}", f"{r['recovery']:.2f}",
             str(r["changes"]["underlay"]), str(r["changes"]["vswitches"]), str(r["cross_tenant"])) for r in records]
    return ["  " + f"{row[0]:<{WIDTHS[0]}}" + "".join(f"{cell:>{width}}" for cell, width in zip(row[1:], WIDTHS[1:],
                                                                                                 strict=True))
            for row in [*HEADER, *rows]]
