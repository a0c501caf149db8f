"""Each student's own variant of an exercise: VNIs, addresses, servers and MACs drawn from the student's ID.

The draw is deterministic (the same ID always gets the same variant, so the instructor's grader can
regenerate it) and different enough between IDs that a neighbour's answer fails. Every variant has the
lecture's shape: two tenants, pepsi and coke, with the same private subnet; on one shared server S each
has two VMs, and the MACs are the same in both tenants while the addresses are crossed (pepsi/web and
coke/app own one address, with different MACs; pepsi/web and coke/web one MAC, with different addresses).
So only the virtual network ID tells a packet's tenant: any entry that forgets it is caught by a probe.
The MACs are random and never embed the VNI, as the lab's derived MACs do.
"""
from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import Any

from overlaylab.errors import LabError
from topologies.model import FABRIC_MACS

STUDENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
EXAMPLE = "example"  # the variant of the repository's own exercises/NN-name/ folders
K = 4
TENANTS = ("pepsi", "coke")


def check_student(student: str) -> str:
    """A student ID usable in a folder's name: letters, digits, `_.-`, up to 40."""
    if not STUDENT_RE.fullmatch(student):
        raise LabError(f"--student {student[:40]!r}: use letters, digits, `_`, `.` and `-` (up to 40), "
                       f"starting with a letter or digit, e.g. --student s1234567")
    return student


def draw(number: str, student: str) -> random.Random:
    """The student's random source for one exercise (a hash, not Python's salted hash())."""
    digest = hashlib.sha256(f"overlaylab exercise {number} for {student}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass(frozen=True)
class Variant:
    """The scenario a student's exercise runs on, and its facts by name (for the README and the checks)."""

    student: str
    number: str
    scenario: dict[str, Any]
    facts: dict[str, Any]


def _server(pod: int, edge: int, host: int) -> str:
    return f"p{pod}e{edge}h{host}"


def _mac(rng: random.Random, taken: set[str]) -> str:
    """A locally administered unicast MAC, outside the fabric's own and unlike any drawn before."""
    while True:
        octets = [0x02 | (rng.randrange(256) & 0xFC), *(rng.randrange(256) for _ in range(5))]
        mac = ":".join(f"{o:02x}" for o in octets)
        if not mac.startswith(FABRIC_MACS) and mac not in taken:
            taken.add(mac)
            return mac


def _places(rng: random.Random) -> dict[str, str]:
    """S (both tenants' web and app), B (both dbs, another pod), C (coke/cache: S's pod, another edge),
    E (empty, a third pod) and F (empty, B's pod)."""
    pods = rng.sample(range(K), 3)
    s_edge, b_edge, b_host = (rng.randrange(2) for _ in range(3))
    f_edge, f_host = rng.choice([(e, h) for e in range(2) for h in range(2) if (e, h) != (b_edge, b_host)])
    return {"S": _server(pods[0], s_edge, rng.randrange(2)), "B": _server(pods[1], b_edge, b_host),
            "C": _server(pods[0], 1 - s_edge, rng.randrange(2)),
            "E": _server(pods[2], rng.randrange(2), rng.randrange(2)), "F": _server(pods[1], f_edge, f_host)}


def variant(number: str, student: str, encaps: tuple[str, str] = ("vxlan", "geneve")) -> Variant:
    """The lecture-shaped scenario of exercise `number` for `student`. `encaps`: pepsi's and coke's; `any`
    draws one."""
    rng = draw(number, student)
    where = _places(rng)
    subnet = f"172.{rng.randrange(16, 32)}.{rng.randrange(256)}"
    hosts = rng.sample(range(2, 254), 4)
    ip = {n: f"{subnet}.{h}" for n, h in zip(("h1", "h2", "h3", "h4"), hosts, strict=True)}
    taken: set[str] = set()
    mac = {n: _mac(rng, taken) for n in ("m1", "m2", "m3", "m4")}
    vnis = rng.sample(range(1000, 100_000), 2)
    chosen = [rng.choice(("vxlan", "geneve", "gre")) if e == "any" else e for e in encaps]
    sizes = sorted(rng.sample(range(1380, 1473), 5))  # ping payloads to ask about (exercise 08)
    vms = {"pepsi": {"web": ("h1", "m1", "S"), "app": ("h2", "m2", "S"), "db": ("h3", "m3", "B")},
           "coke": {"web": ("h2", "m1", "S"), "app": ("h1", "m2", "S"), "db": ("h3", "m3", "B"),
                    "cache": ("h4", "m4", "C")}}
    tenants = {t: {"vni": vni, "encap": encap,
                   "vms": {vm: {"ip": f"{ip[h]}/24", "server": where[s], "mac": mac[m]}
                           for vm, (h, m, s) in vms[t].items()}}
               for t, vni, encap in zip(TENANTS, vnis, chosen, strict=True)}
    scenario = {"fabric": {"type": "fattree", "k": K}, "tenants": tenants}
    pod, edge, host = (int(c) for c in re.findall(r"\d", where["S"]))
    facts = {**where, **ip, **mac, "S_cable": f"p{pod}e{edge}-eth{host + 1}", "subnet": f"{subnet}.0/24",
             "pepsi_vni": vnis[0], "coke_vni": vnis[1], "sizes": sizes,
             "pepsi_encap": chosen[0], "coke_encap": chosen[1], "student": student}
    return Variant(student, number, scenario, facts)
