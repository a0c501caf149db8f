"""Server-to-server reachability across the underlay: every server pings every other, all at once."""
from __future__ import annotations

from typing import Any, Sequence

FPING = ("fping", "--alive", "--retry=1", "--timeout=500")


def reachability(servers: Sequence[Any], timeout: float = 60) -> dict[tuple[str, str], bool]:
    """{(src, dst): reached} for every ordered pair of Mininet hosts, probing from inside each source."""
    ip_of = {s.name: s.IP() for s in servers}
    procs = {src.name: src.popen([*FPING, *(ip for name, ip in ip_of.items() if name != src.name)])
             for src in servers}
    result: dict[tuple[str, str], bool] = {}
    for src, proc in procs.items():
        out, _ = proc.communicate(timeout=timeout)
        alive = set(out.decode().split())
        result.update({(src, dst): ip in alive for dst, ip in ip_of.items() if dst != src})
    return result
