"""The probing session of `overlaylab check`, told as an exercise's verdicts: each pair of VMs that failed
(with every protocol it failed on, and where its packets went instead), each wrong ARP answer, each attack
that got through; or one line for all that held."""
from __future__ import annotations

import re
from typing import Any

from overlaylab.classroom.catalog import Verdict
from overlaylab.runtime.running import RunningLab
from overlaylab.verify.probing import probe_tenants

JUDGED = ("ARP answered by the virtual switch", "attacks")
EXPECTED = re.compile(r" \(expected [^)]*\)")


def probed(lab: RunningLab, hints: dict[str, str], only: set[str] | None = None) -> list[Verdict]:
    """One probing session; `only`: the pairs that involve these tenants (every other check still counts)."""
    session = probe_tenants(lab)
    pairs = [p for p in session.pairs
             if only is None or {p["src"].split("/")[0], p["dst"].split("/")[0]} & only]
    failed: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for pair in (p for p in pairs if not p["ok"]):
        failed.setdefault((pair["src"], pair["dst"]), []).append(pair)
    verdicts = [Verdict(False, _failure(src, dst, found, hints)) for (src, dst), found in failed.items()]
    verdicts += [Verdict(False, f"{c.name}: {_unanswered(c.detail)}. {hints.get(c.name, '')}".strip())
                 for c in session.checks if c.name in JUDGED and not c.ok]
    held = len(pairs) - sum(len(f) for f in failed.values())
    return verdicts or [Verdict(True, f"all {held} probes between VMs were delivered inside their tenant and "
                                      f"isolated across tenants; ARP answered right; every attack isolated")]


def _unanswered(detail: str) -> str:
    """What went wrong, without what was expected: an exercise names the mistake, never the right value."""
    return EXPECTED.sub("", detail.split("; ", 1)[-1])


def _failure(src: str, dst: str, found: list[dict[str, Any]], hints: dict[str, str]) -> str:
    protos = "/".join(p["proto"] for p in found)
    astray = sorted({vm for p in found for vm in p.get("elsewhere", ())})
    instead = f", and reached {', '.join(astray)} instead" if astray else ""
    if found[0]["expected"] == "deliver":
        return f"{src} cannot reach {dst} ({protos} lost{instead}). {hints.get('lost', '')}".strip()
    return (f"{src} reaches {dst} ({protos}): tenant {src.split('/')[0]}'s packets leak into tenant "
            f"{dst.split('/')[0]}. {hints.get('leak', '')}").strip()
