"""Compare what each switch really holds with what the compiler says it should (OVS itself compares)."""
from __future__ import annotations

import re
import shlex
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from subprocess import CompletedProcess
from typing import TypeVar

from controller.flows import Tables, ofctl_flow, ofctl_group
from overlaylab.runtime.remote import ssh
from overlaylab.system import run

OFCTL = ("ovs-ofctl", "-O", "OpenFlow13")
FAR = "ssh:"  # a bridge on another machine (see `far`)
SEPARATOR = "--overlaylab--"  # between the answers of one ssh command
T = TypeVar("T")
_BUCKET_EXTRAS = re.compile(r"(bucket_id:\d+,|weight:\d+,)")


def parse_flows(dump: str) -> list[str]:
    """The flows of `ovs-ofctl dump-flows --no-stats`, one line each (no reply header, no blanks)."""
    return [line.strip() for line in dump.splitlines() if line.strip() and "reply" not in line]


def parse_groups(dump: str) -> set[str]:
    """The groups of `ovs-ofctl dump-groups`, written as controller.flows.ofctl_group writes them
    (OVS adds bucket ids and weights of its own)."""
    return {_BUCKET_EXTRAS.sub("", line.strip()) for line in dump.splitlines() if "group_id=" in line}


_METER = re.compile(r"meter=(\d+)\b.*?type=drop\s+rate=(\d+)\s+burst_size=(\d+)", re.S)


def parse_meters(dump: str) -> set[tuple[int, int, int]]:
    """(id, packets/s, burst) of each meter in `ovs-ofctl dump-meters` (one meter over two lines there)."""
    return {(int(i), int(rate), int(burst)) for i, rate, burst in _METER.findall(dump)}


def parse_bucket_packets(dump: str) -> list[int]:
    """Packets per bucket, in bucket order, from `ovs-ofctl dump-group-stats` of one group."""
    return [int(n) for n in re.findall(r"bucket\d+:packet_count=(\d+)", dump)]


def parse_diff(diff: str) -> tuple[int, int]:
    """(flows missing, flows unexpected) from `ovs-ofctl diff-flows SWITCH FILE`: `+` lines are in the
    file only, `-` lines on the switch only."""
    lines = diff.splitlines()
    return sum(line.startswith("+") for line in lines), sum(line.startswith("-") for line in lines)


FlowKey = tuple[int, int, frozenset[str]]
_SAME_FIELD = {"dl_dst": "eth_dst", "dl_src": "eth_src"}  # what OVS prints, what the compiler writes


def _token(token: str) -> str:
    name, eq, value = token.partition("=")
    try:
        value = str(int(value, 0))
    except ValueError:
        pass
    return f"{_SAME_FIELD.get(name, name)}{eq}{value}"


def flow_key(text: str) -> FlowKey:
    """A flow's identity (table, priority, match) from ovs-ofctl text, spelled the same whether OVS
    printed it (`table=0, ... priority=100,ip,dl_src=..,metadata=0x1389`) or ofctl_match wrote it."""
    fields = [t.strip() for t in text.split(",") if t.strip()]
    named = dict(t.split("=", 1) for t in fields if t.split("=", 1)[0] in ("table", "priority"))
    rest = frozenset(_token(t) for t in fields if t.split("=", 1)[0] not in ("table", "priority"))
    return int(named.get("table", 0)), int(named.get("priority", 32768)), rest


_STATS = re.compile(r"\b(cookie|duration|n_packets|n_bytes|idle_age|hard_age|reset_counts)=[^,]*,?\s*")


def parse_counters(dump: str) -> dict[FlowKey, int]:
    """Packets per flow from `ovs-ofctl dump-flows` (with its statistics)."""
    counted = {}
    for line in dump.splitlines():
        packets = re.search(r"n_packets=(\d+)", line)
        if packets and " actions=" in line:
            counted[flow_key(_STATS.sub("", line.split(" actions=")[0]))] = int(packets.group(1))
    return counted


def far(host: str, bridge: str) -> str:
    """Where ovs-ofctl finds a bridge on another machine: over ssh, there."""
    return f"{FAR}{host} {bridge}"


def ofctl(command: str, bridge: str, *args: str, check: bool = True) -> CompletedProcess[str]:
    """ovs-ofctl COMMAND on a bridge, here or (`far`) on its machine."""
    if not bridge.startswith(FAR):
        return run(*OFCTL, command, bridge, *args, check=check)
    host, _, there = bridge.removeprefix(FAR).partition(" ")
    return run(*ssh(host, shlex.join([*OFCTL, command, there, *args])), check=check)


def dump(bridge: str) -> str:
    """The bridge's flows as ovs-ofctl prints them, with their counters."""
    return ofctl("dump-flows", bridge).stdout


def counters(bridge: str) -> dict[FlowKey, int]:
    return parse_counters(dump(bridge))


def flow_lines(bridge: str) -> list[str]:
    """The bridge's flows as ovs-ofctl prints them, without counters."""
    return parse_flows(ofctl("dump-flows", bridge, "--no-stats").stdout)


def bucket_packets(bridge: str) -> list[int]:
    """Packets each bucket of the bridge's ECMP group has carried so far."""
    return parse_bucket_packets(ofctl("dump-group-stats", bridge).stdout)


def mismatch(name: str, bridge: str, tables: Tables) -> str | None:
    """None when the bridge holds exactly the compiled flows, groups and meters; else what differs. What it
    holds is fetched first (a far bridge's in one ssh command) and compared here, file to file, by OVS."""
    held = _held(bridge, bool(tables.meters))
    if isinstance(held, str):
        return f"{name}: cannot read its tables ({held})"
    flows, held_groups, held_meters = held
    with tempfile.TemporaryDirectory(prefix="overlaylab-flows-") as folder:
        compiled, holds = Path(folder) / "compiled", Path(folder) / "held"
        compiled.write_text("".join(ofctl_flow(flow) + "\n" for flow in tables.flows))
        holds.write_text("".join(line + "\n" for line in parse_flows(flows)))
        diff = run(*OFCTL, "diff-flows", str(holds), str(compiled), check=False)
    if diff.returncode not in (0, 2):
        return f"{name}: cannot compare its flows ({diff.stderr.strip()})"
    missing, unexpected = parse_diff(diff.stdout)
    groups = {ofctl_group(g) for g in tables.groups} ^ parse_groups(held_groups)
    meters = {(m.meter_id, m.rate, m.burst) for m in tables.meters} ^ parse_meters(held_meters)
    if missing or unexpected or groups or meters:
        return (f"{name}: {missing} flows missing, {unexpected} unexpected, {len(groups)} group lines differ"
                + (f", {len(meters)} meters differ" if meters else ""))
    return None


def _held(bridge: str, meters: bool) -> tuple[str, str, str] | str:
    """The bridge's flows (without counters), groups and meters as ovs-ofctl prints them (or what ovs-ofctl
    said when it could not). Meters are only asked of a bridge that should have some: the underlay has none,
    and one more round trip to each of its 80 switches at k=8 is one more chance to meet a busy socket."""
    asks = [("dump-flows", "--no-stats"), ("dump-groups",), *([("dump-meters",)] if meters else [])]
    if bridge.startswith(FAR):
        host, _, there = bridge.removeprefix(FAR).partition(" ")
        script = f"; echo {SEPARATOR}; ".join(shlex.join([*OFCTL, ask[0], there, *ask[1:]]) for ask in asks)
        said = [run(*ssh(host, f"set -e; {script}"), check=False)]
        answers = said[0].stdout.split(f"{SEPARATOR}\n")
    else:
        said = [ofctl(ask[0], bridge, *ask[1:], check=False) for ask in asks]
        answers = [d.stdout for d in said]
    failed = next((d for d in said if d.returncode), None)
    if failed is not None or len(answers) != len(asks):
        return failed.stderr.strip() if failed else "its answers did not come back whole"
    return answers[0], answers[1], answers[2] if meters else ""


def each(ask: Callable[[str], T], names: Iterable[str]) -> dict[str, T]:
    """Ask every datapath at once (each answer is an ovs-ofctl round trip)."""
    names = list(names)
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(names, pool.map(ask, names), strict=True))


def mismatches(compiled: dict[str, Tables], targets: dict[str, str]) -> list[str]:
    """Every datapath whose tables differ from the compiled ones. `targets` says where ovs-ofctl
    finds each one: a bridge name, or a vswitch's unix socket."""
    found = each(lambda name: mismatch(name, targets[name], compiled[name]), compiled)
    return [m for m in found.values() if m]


def flow_counts(targets: dict[str, str]) -> dict[str, int]:
    """How many flows each datapath holds right now (the report's `tables`)."""
    return each(lambda name: len(flow_lines(targets[name])), targets)
