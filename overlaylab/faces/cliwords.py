"""The lab CLI's words: its verbs' arguments parsed, and the API's answers described in one line each; and
the machine's labs as `overlaylab ls` lists them. Pure, so every case is unit-tested."""
from __future__ import annotations

from typing import Any

from overlaylab.runtime.machine import Row
from probes.packets import PROTOS, PROTOS6


def describe_changes(answer: dict[str, Any]) -> str:
    """The controller's answer to a change, as one line: flow changes per layer, then per datapath."""
    changes = answer["changes"]
    where = _datapaths(changes["datapaths"])
    return (f"flow changes: underlay {changes['underlay']}, virtual switches {changes['vswitches']} ({where}); "
            f"confirmed by every switch in {answer['seconds']:.2f} s")


SHOWN_DATAPATHS = 8  # a change at k=8 can touch a hundred virtual switches: name the busiest


def _datapaths(changed: dict[str, int]) -> str:
    """Flow changes per datapath, by name; past SHOWN_DATAPATHS, the busiest and how many more."""
    if len(changed) <= SHOWN_DATAPATHS:
        return ", ".join(f"{name} {n}" for name, n in sorted(changed.items())) or "none"
    busiest = sorted(changed.items(), key=lambda item: (-item[1], item[0]))[:SHOWN_DATAPATHS - 2]
    rest = {name: n for name, n in changed.items() if (name, n) not in busiest}
    return (", ".join(f"{name} {n}" for name, n in sorted(busiest)) +
            f" and {len(rest)} more with {sum(rest.values())} in all")


def describe_move(answer: dict[str, Any]) -> str:
    """A migration's answer as the first half of its line: where, how long, what the peer's stream lost."""
    stream = answer["stream"]
    measured = (f"; peer {answer['peer']} lost {stream['lost']} of {stream['sent']} probes "
                f"(longest gap {stream['longest_gap']:.2f} s)" if stream else "; no peer to measure with")
    return f"moved {answer['from']} -> {answer['to']} in {answer['moved_in']:.2f} s{measured}"


def describe_event(record: dict[str, Any]) -> str:
    """A failure event's record as one line: what the network changed, and what the probe stream saw."""
    changes, stream = record["changes"], record["stream"]
    where = ", ".join(f"{name} {n}" for name, n in sorted(changes["datapaths"].items()) if n) or "no table changed"
    seen = (f"stream {stream['from']} -> {stream['to']}: {stream['lost']} of {stream['sent']} probes lost, "
            f"longest gap {stream['longest_gap']:.2f} s" if stream else "no VMs across pods to stream between")
    return (f"{record['event']}: flow-mods underlay {changes['underlay']}, virtual switches {changes['vswitches']} "
            f"({where}); {seen}; {record['seconds']:.2f} s")


def wire_args(line: str) -> tuple[str, str | None, str]:
    """`wire LINK [--pcap FILE] CMD` as (link, pcap file or None, command)."""
    link, _, rest = line.strip().partition(" ")
    words = rest.split(" ", 2)
    if words[0] == "--pcap" and len(words) == 3:
        return link, words[1], words[2].strip()
    return link, None, rest.strip()


def tenant_add_args(words: list[str]) -> tuple[str, int, str, str] | None:
    """`tenant add NAME --vni N [--encap E] [--routing R]` as (name, vni, encap, routing), or None when it
    is not that."""
    if not words or len(words) % 2 == 0:
        return None
    options = dict(zip(words[1::2], words[2::2], strict=True))
    vni = options.get("--vni", "")
    if not set(options) <= {"--vni", "--encap", "--routing"} or not (vni.isascii() and vni.isdigit()):  # not `²`
        return None
    return words[0], int(vni), options.get("--encap", "vxlan"), options.get("--routing", "l2")


def draw_args(words: list[str]) -> tuple[str, list[str]] | None:
    """`draw [FILE] [SRC DST]` as (file, the trace's two ends or none), or None: one or three words
    start with the file."""
    if len(words) not in (0, 1, 2, 3):
        return None
    return (words[0], words[1:]) if len(words) % 2 else (DEFAULT_PICTURE, words)


DEFAULT_PICTURE = "fabric.svg"


def trace_args(words: list[str]) -> tuple[list[str], str]:
    """`trace SRC DST [icmp|udp|tcp|icmp6|udp6|tcp6]` as (the two ends, the protocol to send: udp unless
    named)."""
    if len(words) == 3 and words[2] in PROTOS + PROTOS6:
        return words[:2], words[2]
    return words, "udp"


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m{int(seconds % 60):02d}s"


def lab_table(rows: list[Row]) -> list[str]:
    """`overlaylab ls`: one lab a line, in columns that fit 80 characters."""
    if not rows:
        return ["no labs on this machine (start one: sudo overlaylab up [SCENARIO] [--name NAME])"]
    lines = [f"{'NAME':<16} {'OWNER':<10} {'SCENARIO':<18} {'K':>2} {'VMS':>4} {'AGE':>6} {'MEMORY':>8}  STATE"]
    for r in rows:
        memory = f"{r.memory_mib / 1024:.2f}G" if r.state == "running" else "-"
        lines.append(f"{r.name[:16]:<16} {r.owner[:10]:<10} {r.scenario[:18]:<18} {r.k:>2} {r.vms:>4} "
                     f"{_age(r.age_s):>6} {memory:>8}  {r.state}")
    return lines
