"""The check report, for people (plain tables that read well piped) and for programs (JSON)."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import IO, Any

from overlaylab.system import columns, wrapped
from overlaylab.verify.check import Report
from probes.packets import PROTOS, PROTOS6
from probes.verdicts import Status

KINDS = ("deliver", "isolate")
LABELS = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.NOT_APPLICABLE: "N/A "}


def write_json(report: Report, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report.as_json(), indent=2) + "\n")
    tmp.replace(path)


def tenant_table(pairs: list[dict[str, Any]]) -> list[str]:
    """Per source tenant and protocol: probes to deliver and to isolate that behaved (ok/total); a dual-stack
    tenant's IPv6 probes on a row of their own. Two header rows keep it within 80 columns at k=8."""
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for pair in pairs:
        v6 = pair["proto"] in PROTOS6
        row = pair["src"].split("/")[0] + (" IPv6" if v6 else "")
        cell = counts[(row, pair["proto"].removesuffix("6") if v6 else pair["proto"], pair["expected"])]
        cell[0] += pair["ok"]
        cell[1] += 1
    tenants = sorted({t for t, _, _ in counts})
    rows = {t: [f"{c[0]}/{c[1]}" for proto in PROTOS for kind in KINDS for c in [counts.get((t, proto, kind), [0, 0])]]
            for t in tenants}
    name = max(len("tenant"), *(len(t) for t in tenants)) if tenants else 6
    size = max(len("isolate"), *(len(v) for row in rows.values() for v in row)) if rows else 7
    return [f"  {'':<{name}}  " + " ".join(f"{proto:^{2 * size + 1}}" for proto in PROTOS).rstrip(),
            f"  {'tenant':<{name}}  " + " ".join(f"{kind:>{size}}" for _ in PROTOS for kind in KINDS),
            *(f"  {t:<{name}}  " + " ".join(f"{v:>{size}}" for v in row) for t, row in rows.items())]


def failures(report: Report) -> list[str]:
    """Every pair and attack that did not behave, one line each, in full."""
    lines = [f"  FAIL  {p['src']} -> {p['dst']} {p['proto']}: expected {p['expected']}, "
             f"observed {p.get('detail', p['observed'])}"
             + (f" (also reached {', '.join(p['elsewhere'])})" if p.get("elsewhere") else "")
             for p in report.pairs or [] if not p["ok"]]
    lines += [f"  FAIL  attack {a['name']}: {a['detail']}: {a['observed']}" for a in report.attacks if not a["ok"]]
    return lines


def print_summary(report: Report, out: IO[str]) -> None:
    """The report for people, fitted to the terminal when there is one (a check's detail under its name
    when both do not fit on one line)."""
    width, terminal = max((len(c.name) for c in report.checks), default=0), columns(out)
    for c in report.checks:
        line = f"  {LABELS[c.status]}  {c.name:<{width}}  {c.detail}"
        if terminal and len(line) > terminal:
            line = f"  {LABELS[c.status]}  {c.name}\n" + wrapped(f"        {c.detail}", terminal, " " * 8)
        out.write(line + "\n")
    if report.pairs:
        out.write("\n  probes per source tenant (as expected / sent):\n")
        out.writelines(line + "\n" for line in tenant_table(report.pairs))
    wrong = failures(report)
    if wrong:
        out.write(f"\n  {len(wrong)} unexpected results:\n")
        out.writelines(line + "\n" for line in wrong)
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items())
    out.write(f"\n{wrapped(f'  timings: {phases}', terminal)}\n")
    out.write("overlaylab: all checks passed\n" if report.ok else "overlaylab: some checks FAILED\n")
