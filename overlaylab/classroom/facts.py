"""What the question exercises are judged on: facts measured on the student's variant of the lab (on the wire,
in the switches' counters, in the controller's answer to a migration), never copied from a file.

Each measure builds the lab(s) it needs and returns the right answer of every non-choice question, by key.
"""
from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from scapy.layers.inet import IP
from scapy.layers.l2 import Ether

from controller.trace import trace_vm, vm_packet
from overlaylab.classroom.catalog import Exercise, lab_of
from overlaylab.classroom.variant import Variant
from overlaylab.errors import LabError
from overlaylab.runtime.running import RunningLab
from overlaylab.verify import evidence
from overlaylab.verify.observe import observe
from probes.fastparse import dissect
from topologies.changes import vm_named
from topologies.fattree import CORE
from topologies.scenario import VM, Mode

Measure = Callable[[Exercise, Variant, str | None, dict[str, Any]], dict[str, Any]]
PING_SIZES = range(1300, 1473)  # ICMP payloads: 1472 fills a 1500-byte IP packet
FLOWS = 16  # UDP flows per tenant for the entropy exercise


def _vms(lab: RunningLab, *labels: str) -> list[VM]:
    return [vm_named(lab.scenario, label) for label in labels]


def _frame(lab: RunningLab, src: VM, dst: VM) -> bytes:
    """One frame of a ping from src to dst, as its server's cable carried it."""
    frames = evidence.on_uplink(lab, src, dst, evidence.ping(lab, src, dst))
    if not frames:
        raise LabError(f"no packet of {src.label} to {dst.label} was seen on {src.server.name}'s cable: the lab "
                       f"itself is not working; run `overlaylab check` on the exercise's scenario.yaml")
    return frames[0]


def read(_exercise: Exercise, variant: Variant, name: str | None, _given: dict[str, Any]) -> dict[str, Any]:
    """What the wire shows of pepsi/web's packet to pepsi/db, and where the lab put the VMs."""
    with lab_of(variant, name) as lab:
        web, db = _vms(lab, "pepsi/web", "pepsi/db")
        wire = dissect(_frame(lab, web, db))
        twin = next(vm for vm in lab.scenario.vms if vm.tenant == "coke" and vm.v4.ip == web.v4.ip)
        return {"pepsi_vni": wire.vni, "outer_dst": str(wire.dst), "udp_port": wire.encap and wire.encap.udp_port,
                "db_server": db.server.name, "same_address": twin.label}


def mtu(_exercise: Exercise, variant: Variant, name: str | None, _given: dict[str, Any]) -> dict[str, Any]:
    """With both VMs' interfaces at 1500: the largest ping that crosses (pings of every size at once, with
    Don't Fragment, three tries each), the variant's sizes up to it, and the bytes the tunnel adds on the wire."""
    with lab_of(variant, name) as lab:
        web, db = _vms(lab, "pepsi/web", "pepsi/db")
        for vm in (web, db):
            node = lab.nodes.vm(vm.label)
            node.cmd(f"ip link set dev {node.defaultIntf()} mtu 1500")
        pings = (f"for s in $(seq {PING_SIZES.start} {PING_SIZES.stop - 1}); do "
                 f"(ping -n -c3 -i0.2 -W2 -M do -s $s {db.v4.ip} >/dev/null 2>&1 && echo $s) & done; wait")
        said = lab.nodes.vm(web.label).cmd(f"bash -c {shlex.quote(pings)}")  # one short line: the node's tty
        crossed = [int(s) for s in said.split() if s.isdigit()]
        outer = Ether(_frame(lab, web, db))
        inner = [layer for layer in outer.iterpayloads() if isinstance(layer, IP)]
        largest = max(crossed, default=0)  # one reply of three is enough: a loaded machine loses a few
        while largest + 1 < PING_SIZES.stop and _crosses(lab.nodes.vm(web.label), db, largest + 1):
            largest += 1  # 173 sizes at once on a loaded machine can lose every try of the largest: ask again, calmly
        return {"mtu": largest + 28, "overhead": inner[0].len - inner[-1].len,
                "crossing": [s for s in variant.facts["sizes"] if s <= largest]}


def _crosses(node: Any, dst: VM, size: int) -> bool:
    """One ping of `size` bytes with Don't Fragment, tried for up to 3 s: does any reply come back?"""
    return "crossed" in node.cmd(f"ping -n -c1 -i0.2 -w3 -M do -s {size} {dst.v4.ip} >/dev/null 2>&1 && echo crossed")


def migration(_exercise: Exercise, variant: Variant, name: str | None, _given: dict[str, Any]) -> dict[str, Any]:
    """pepsi/web moved from S to E: underlay flow-mods with the overlay and in flat mode (pepsi alone: flat
    mode cannot route two tenants' same addresses), and the servers whose virtual switches changed."""
    to = variant.facts["E"]
    with lab_of(variant, name) as lab:
        overlay = lab.members.migrate("pepsi/web", to)["changes"]
    alone = {**variant.scenario, "tenants": {"pepsi": variant.scenario["tenants"]["pepsi"]}}
    with lab_of(variant, name, Mode.FLAT, data=alone) as lab:
        flat = lab.members.migrate("pepsi/web", to)["changes"]
    return {"overlay_underlay": overlay["underlay"], "flat_underlay": flat["underlay"],
            "vswitches": sorted(d.split("/")[0] for d, n in overlay["datapaths"].items() if "/" in d and n)}


def ecmp(_exercise: Exercise, variant: Variant, name: str | None, _given: dict[str, Any]) -> dict[str, Any]:
    """pepsi/web's UDP packet to pepsi/db: the paths the tables allow, their cores, and the core it took."""
    with lab_of(variant, name) as lab:
        src, dst = _vms(lab, "pepsi/web", "pepsi/db")
        paths = trace_vm(lab.scenario, lab.compiled, src, vm_packet(src, dst))
        fabric = lab.scenario.fabric
        cores = sorted({h.node for p in paths for h in p.hops if (s := fabric.switch(h.node)) and s.role == CORE})
        seen = observe(lab, src, dst, "udp", paths)
        crossed = sorted({node for s in seen.sightings for node in s.cable if node in cores})
    first = next(h.node for h in paths[0].hops if fabric.switch(h.node))
    return {"paths": len(paths), "cores": cores, "taken": crossed[0] if len(crossed) == 1 else crossed,
            "first_switch": first}


def entropy(_exercise: Exercise, variant: Variant, name: str | None, _given: dict[str, Any]) -> dict[str, Any]:
    """16 UDP flows (16 source ports) from each tenant's db to its web, across the core: does each tenant's
    traffic use more than one core switch?"""
    with lab_of(variant, name) as lab:
        db, web = _vms(lab, "coke/db", "coke/web")
        return {**{f"{tenant}_spread": _cores_used(lab, tenant) > 1 for tenant in ("pepsi", "coke")},
                "coke_outer_src": str(dissect(_frame(lab, db, web)).src)}


def _cores_used(lab: RunningLab, tenant: str) -> int:
    """The core switches whose routes towards web's pod counted the FLOWS datagrams the tenant's db sent (web's
    kernel answers some with ICMP port unreachable, the other way: those are not counted)."""
    src, dst = _vms(lab, f"{tenant}/db", f"{tenant}/web")
    send = " ".join(f"echo {i} > /dev/udp/{dst.v4.ip}/{40000 + i};" for i in range(FLOWS))
    towards = f"pod {dst.server.pod}"  # the core's route to the pod (controller.underlay's note)

    def forward(found: list[evidence.Counted]) -> list[evidence.Counted]:
        return [c for c in found if c.note == towards]
    moved = evidence.counted(lab, [s.name for s in lab.scenario.fabric.cores],
                             lambda: lab.nodes.vm(src.label).cmd(send),
                             until=lambda found: sum(c.packets for c in forward(found)) >= FLOWS)
    return len({c.datapath for c in forward(moved)})

MEASURES: dict[str, Measure] = {"read": read, "mtu": mtu, "migration": migration, "ecmp": ecmp, "entropy": entropy}
