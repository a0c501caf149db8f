"""The machines a lab spreads over (`--hosts A,B,...`, issue 21), checked before anything is built: each
answers ssh as root, has the tools the lab runs there (Mininet's mnexec, Open vSwitch, iproute2), and the
network between them carries a stitched cable's frames whole. Each problem is one line that names the
machine and the fix; nothing is built until there is none."""
from __future__ import annotations

import re
from dataclasses import dataclass

from overlaylab.errors import LabError
from overlaylab.runtime.remote import ssh
from overlaylab.system import run
from topologies.placement import Placement, PlacementError, machine_mtu, place
from topologies.scenario import Scenario

TOOLS = ("mnexec", "ovs-vsctl", "ovsdb-server", "ovs-vswitchd", "ip", "ethtool")
HOST_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:-]{0,252}")  # an address or a host name, as ssh takes it
PING_HEADERS = 28  # IPv4 and ICMP: what `ping -s` does not count


@dataclass(frozen=True)
class Seen:
    """What one machine said about itself over ssh."""

    host: str
    root: bool
    missing: tuple[str, ...]


def parse_hosts(value: str) -> list[str]:
    """`--hosts A,B,...` as a list, or a one-line refusal."""
    hosts = [h.strip() for h in value.split(",")]
    bad = next((h for h in hosts if not HOST_RE.fullmatch(h)), None)
    if bad is not None:
        raise LabError(f"--hosts {value!r}: {bad!r} is not a machine's address or name; write --hosts A,B,... "
                       f"(comma-separated, no spaces)")
    twice = next((h for i, h in enumerate(hosts) if h in hosts[:i]), None)
    if twice is not None:
        raise LabError(f"--hosts {value!r}: {twice} is named twice; name each machine once")
    return hosts


def look(host: str) -> Seen:
    """Ask a machine who logs in and which of the lab's tools it lacks; a LabError if it does not answer."""
    probe = "id -u; for t in " + " ".join(TOOLS) + "; do command -v $t >/dev/null || echo missing $t; done"
    done = run(*ssh(host, probe), check=False, timeout=20)
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        raise LabError(f"{host} does not answer ssh as root by key ({said}): make `ssh root@{host} true` work "
                       f"without a password (docs/cluster.md)")
    lines = done.stdout.split("\n")
    return Seen(host, lines[0].strip() == "0", tuple(line.split()[1] for line in lines if line.startswith("missing ")))


def carries(host: str, other: str, size: int) -> bool:
    """Does a `size`-byte frame go whole (never fragmented) from `host` to `other`?"""
    return run(*ssh(host, f"ping -c1 -W2 -M do -s {size - PING_HEADERS} {other}"), check=False,
               timeout=20).returncode == 0


def preflight(hosts: list[str]) -> list[Seen]:
    """Every machine answers as root with every tool, and each reaches the next with stitched frames whole;
    the first problem found, as a LabError."""
    seen = [look(host) for host in hosts]
    for machine in seen:
        if not machine.root:
            raise LabError(f"{machine.host}: ssh logs in as someone else than root; log in as root by key (the "
                           f"lab makes namespaces and devices there)")
        if machine.missing:
            raise LabError(f"{machine.host} lacks {', '.join(machine.missing)}: run `sudo make install` there")
    for host, other in zip(hosts, hosts[1:] + hosts[:1], strict=True):
        if len(hosts) > 1 and not carries(host, other, machine_mtu()):
            raise LabError(f"the network from {host} to {other} does not carry {machine_mtu()}-byte frames whole: a "
                           f"stitched cable needs them (1500 and its 50 bytes of VXLAN); raise that network's MTU")
    return seen


def placed(scenario: Scenario, hosts: list[str]) -> Placement:
    """The lab's placement over `hosts`, once every machine has passed the preflight; or a one-line refusal."""
    try:
        placement = place(scenario.fabric, hosts)
    except PlacementError as exc:
        raise LabError(str(exc)) from None
    preflight(hosts)
    return placement
