"""What `overlaylab check` verifies on a running lab, each as a named check that can fail."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controller.purpose import VM_ROUTE
from overlaylab.runtime import tables
from overlaylab.runtime.remote import agent_command
from overlaylab.runtime.running import RunningLab
from overlaylab.verify.probing import probe_tenants
from probes.reach import reachability
from probes.session import DEFAULT_PACING, Progress
from probes.verdicts import Check, Status
from topologies.fattree import CORE
from topologies.names import vswitch_name


@dataclass(frozen=True)
class Found:
    """What one check concluded, and the measurements the report keeps beside the verdicts."""

    checks: tuple[Check, ...]
    facts: dict[str, Any] = field(default_factory=dict)  # Report field -> value (dicts are merged)


@dataclass
class Report:
    """The JSON report of the command contract (plus the server pair summary)."""

    checks: list[Check] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    server_pairs: dict[str, Any] = field(default_factory=dict)
    pairs: list[dict[str, Any]] | None = None
    attacks: list[dict[str, Any]] = field(default_factory=list)
    probes: int = 0
    stitches: dict[str, int] = field(default_factory=dict)  # cable between machines: frames of the tenant probes

    @property
    def ok(self) -> bool:
        """Some check passed and none failed."""
        return any(c.status is Status.PASS for c in self.checks) and all(c.ok for c in self.checks)

    def __getitem__(self, key: str) -> Any:
        """The JSON report's fields, as scripts read them: report["ok"], report["pairs"]."""
        return self.as_json()[key]

    def add(self, found: Found) -> None:
        self.checks += found.checks
        for key, value in found.facts.items():
            mine = getattr(self, key)
            if isinstance(mine, dict):
                mine.update(value)
            else:
                setattr(self, key, value)

    def as_json(self) -> dict[str, Any]:
        report = {"ok": self.ok, "checks": [c.as_json() for c in self.checks], "tables": self.tables,
                  "timings": self.timings, "server_pairs": self.server_pairs,
                  **({"stitches": self.stitches} if self.stitches else {})}
        if self.pairs is None:
            return report
        return {**report, "pairs": self.pairs, "attacks": self.attacks, "probes_sent": self.probes}


def underlay_tables(lab: RunningLab, _progress: Progress) -> Found:
    """Every underlay switch holds exactly what the compiler gives: in overlay mode what the fabric alone
    compiles to (so no tenant changed it), never more than 2k+10 flows; in flat mode, also a route per VM."""
    problems = tables.mismatches(lab.underlay, lab.nodes.targets)
    counts = tables.flow_counts({name: lab.nodes.targets[name] for name in lab.underlay})
    k = lab.scenario.fabric.k
    biggest = max(counts, key=counts.__getitem__)
    largest = f"largest table {counts[biggest]} flows ({biggest})"
    if problems:
        check = Check.judged("underlay tables", False, "; ".join(problems))
    elif lab.scenario.flat:
        routes = sum(f.purpose == VM_ROUTE for t in lab.underlay.values() for f in t.flows)
        check = Check.judged("underlay tables", True,
                             f"{len(counts)} switches hold exactly their compiled {sum(counts.values())} flows, "
                             f"{routes} of them VM routes (flat mode: the underlay routes every VM); {largest}, "
                             f"where the overlay needs at most 2k+10 = {2 * k + 10}")
    elif counts[biggest] > 2 * k + 10:
        check = Check.judged("underlay tables", False,
                             f"{biggest} holds {counts[biggest]} flows, more than 2k+10 = {2 * k + 10}")
    else:
        check = Check.judged("underlay tables", True,
                             f"{len(counts)} switches hold exactly the {sum(counts.values())} flows compiled from "
                             f"the fabric alone, whatever the tenants; {largest}, bound 2k+10 = {2 * k + 10}")
    return Found((check,), {"tables": counts})


def vswitch_tables(lab: RunningLab, _progress: Progress) -> Found:
    """Every virtual switch holds exactly its compiled encap, decap, ARP and port-security flows (a dead
    one cannot be read: the servers check names it)."""
    down = lab.server_problems()
    dead = {vswitch_name(s) for s in lab.scenario.fabric.servers if s.name in down}
    overlay = {name: t for name, t in lab.compiled.items() if name not in lab.underlay and name not in dead}
    if not overlay:
        return Found((Check.not_applicable("virtual switch tables", "no virtual switch to read"),))
    problems = tables.mismatches(overlay, lab.nodes.targets)
    counts = tables.flow_counts({name: lab.nodes.targets[name] for name in overlay})
    if problems:
        return Found((Check.judged("virtual switch tables", False, "; ".join(problems)),), {"tables": counts})
    sizes = counts.values()
    return Found((Check.judged("virtual switch tables", True,
                               f"{len(overlay)} virtual switches hold exactly their compiled {sum(sizes)} flows "
                               f"({min(sizes)}..{max(sizes)} each)"),), {"tables": counts})


def server_health(lab: RunningLab, _progress: Progress) -> Found:
    """Every server's uplink is up and every virtual switch is connected to the controller: when not,
    the checks after this one say which of their failures that explains."""
    problems = lab.server_problems()
    hosting = len({vm.server for vm in lab.scenario.vms if not vm.bare_metal})
    if problems:
        return Found((Check.judged("servers", False, "; ".join(problems.values())),))
    return Found((Check.judged("servers", True, f"{len(lab.scenario.fabric.servers)} servers with their uplink up, "
                                                f"{hosting} virtual switches connected to the controller"),))


def server_reachability(lab: RunningLab, progress: Progress) -> Found:
    """Every physical server reaches every other across the fabric (a probe from inside each server
    to every other, re-sent until it arrives or is lost); pairs with a server known down are told by
    cause."""
    reached = reachability(lab.nodes.stations(lab.scenario.fabric), progress=progress, launch=agent_command)
    down = lab.server_problems()
    failed = sorted(f"{src}->{dst}" for (src, dst), ok in reached.pairs.items()
                    if not ok and src not in down and dst not in down)
    explained = sum(1 for (src, dst), ok in reached.pairs.items() if not ok and (src in down or dst in down))
    total = len(reached.pairs)
    unreachable = sorted(f"{src}->{dst}" for (src, dst), ok in reached.pairs.items() if not ok)
    summary = {"total": total, "reachable": total - len(unreachable), "unreachable": unreachable,
               "resent": reached.outcome.resent}
    detail = (f"{total - len(failed) - explained}/{total} ordered server pairs reachable "
              f"({reached.outcome.sent} probes, {reached.outcome.resent} re-sent)")
    if explained:
        detail += f"; {explained} unreachable because " + "; ".join(down.values())
    if failed:
        more = " ..." if len(failed) > 10 else ""
        detail += f"; unreachable after {DEFAULT_PACING.tries} tries: {', '.join(failed[:10])}{more}"
    return Found((Check.judged("server reachability", not failed and not explained, detail),),
                 {"server_pairs": summary})


ECMP_MIN_PACKETS = 20


def ecmp_spread(lab: RunningLab, _progress: Progress) -> Found:
    """Every edge and aggregation switch that sent enough traffic up spread it over all its uplinks
    (OVS hashes addresses and ports, with a different basis on each switch; see controller.ofp)."""
    uplinked = [s.name for s in lab.scenario.fabric.switches if s.role != CORE]
    counts = tables.each(lambda name: tables.bucket_packets(lab.nodes.targets[name]), uplinked)
    return Found((ecmp_check(counts),))


def ecmp_check(counts: dict[str, list[int]]) -> Check:
    """Packets per uplink of each switch's ECMP group: did every busy switch use every uplink?"""
    busy = {name: c for name, c in counts.items() if sum(c) >= ECMP_MIN_PACKETS}
    if not busy:
        return Check.not_applicable("ECMP spread", f"no edge or aggregation switch sent {ECMP_MIN_PACKETS}+ "
                                                   f"packets up")
    narrow = [f"{name} {'/'.join(map(str, c))}" for name, c in busy.items() if min(c) == 0]
    shown = ", ".join(f"{name} {'/'.join(map(str, c))}" for name, c in list(busy.items())[:4])
    detail = (f"{len(busy) - len(narrow)}/{len(busy)} switches that sent {ECMP_MIN_PACKETS}+ packets up used "
              f"every uplink (packets per uplink: {shown}{', ...' if len(busy) > 4 else ''})")
    if narrow:
        detail += f"; idle uplinks on: {', '.join(narrow)}"
    return Check.judged("ECMP spread", not narrow, detail)


def tenant_probes(lab: RunningLab, progress: Progress) -> Found:
    """The probing session: delivery/isolation matrix, ARP, attacks, and what the underlay carried."""
    machines = lab.nodes.machines()  # empty: the whole lab on this machine
    before = lab.nodes.stitch_frames() if machines else {}
    verdicts = probe_tenants(lab, progress)
    carried = {cable: sent - before[cable] for cable, sent in lab.nodes.stitch_frames().items()} if machines else {}
    spans = bool(machines) and any(len({machines[vm.server.name] for vm in t.vms}) > 1 for t in lab.scenario.tenants)
    return Found((*verdicts.checks, *([stitched(carried, spans)] if machines else [])),
                 {"pairs": verdicts.pairs, "attacks": verdicts.attacks, "probes": verdicts.probes_sent,
                  "timings": {f"probes: {k}": v for k, v in verdicts.timings.items()}, "stitches": carried})


def stitched(carried: dict[str, int], spans: bool) -> Check:
    """Did the tenants' probes cross between machines, on the stitched cables (a lab over `--hosts` with a
    tenant on two machines or more)?"""
    if not spans:
        return Check.not_applicable("cables between machines", "no tenant has VMs on two machines")
    used = {cable: frames for cable, frames in carried.items() if frames}
    busiest = sorted(used, key=used.__getitem__, reverse=True)[:3]
    detail = (f"{len(used)}/{len(carried)} cables between machines carried the tenant probes, "
              f"{sum(used.values())} frames in all (busiest: {', '.join(f'{c} {used[c]}' for c in busiest)})")
    return Check.judged("cables between machines", bool(used), detail if used else
                        f"none of the {len(carried)} cables between machines carried a tenant probe")


CHECKS = (("checking servers' uplinks and virtual switches", "servers", server_health),
          ("checking underlay tables against the compiler", "tables", underlay_tables),
          ("probing every ordered server pair", "reachability", server_reachability))
LAST_CHECKS = (("reading the ECMP groups' counters", "ecmp", ecmp_spread),)
TENANT_CHECKS = (("checking virtual switch tables against the compiler", "vswitch tables", vswitch_tables),
                 ("probing every VM pair (ICMP, UDP, TCP), ARP and attacks, tapping the underlay", "probes",
                  tenant_probes))


def run_checks(lab: RunningLab, report: Report) -> None:
    """Every check that applies, each a timed phase; each yields its verdicts and what it measured."""
    for message, key, check in (*CHECKS, *(TENANT_CHECKS if lab.scenario.vms else ()), *LAST_CHECKS):
        with lab.phases.phase(key, message) as progress:
            report.add(check(lab, progress))
