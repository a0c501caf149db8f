"""A lab's identity: its name, which users see, and its slot, a small number the machine gives it while it
lives. Everything a lab creates outside its own namespaces is derived from the two, so two labs of the same
scenario (same switch names, same tenant addresses) never collide: its run directory, the name of its one
interface in the machine's namespace and its interface group, and its management subnet, one /21 of
198.18.0.0/15 (RFC 2544's benchmarking range, never anyone's real network). Pure."""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path

from overlaylab.errors import LabError

RUN_DIR = Path(os.environ.get("OVERLAYLAB_RUN_DIR", "/run/overlaylab"))
LABS_DIR = RUN_DIR / "labs"  # one folder per lab, named after it
MGMT_SPACE = IPv4Network("198.18.0.0/15")
SLOT_PREFIX = 21  # 2,048 management addresses a lab: a k=16 fabric has 1,024 servers and 17 switch homes
SLOTS = 2 ** (SLOT_PREFIX - MGMT_SPACE.prefixlen)  # 64 labs on one machine at most
STITCH_VNIS = 8192  # a k=16 fabric has 3,072 cables, 1,024 servers and 17 switch homes to stitch at most
STITCH_VNI_BASE = 1 << 20  # the labs' stitches: VNIs 1,048,576 to 1,572,863, away from the small ones tenants pick
LINK_GROUP_BASE = 0x0A1B00  # a lab's interfaces in the machine's namespace are in group base + slot
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def check_name(name: str) -> str:
    """The name, if a lab may have it; otherwise a LabError that says what a name may be."""
    if not NAME.fullmatch(name):
        raise LabError(f"{name!r} cannot name a lab: use 1 to 32 lowercase letters, digits, '-' or '_', "
                       f"starting with a letter or digit (e.g. --name alice-1)")
    return name


def default_name(environ: Mapping[str, str] | None = None) -> str:
    """$OVERLAYLAB_NAME if set; otherwise one lab per user, named after who ran sudo (or who is logged in)."""
    env = os.environ if environ is None else environ
    if env.get("OVERLAYLAB_NAME"):
        return check_name(env["OVERLAYLAB_NAME"])
    user = env.get("SUDO_USER") or env.get("USER") or "root"
    return re.sub(r"[^a-z0-9_-]", "-", user.lower()).lstrip("-_")[:32] or "lab"


@dataclass(frozen=True)
class LabId:
    """A lab's name and slot, and every name and address derived from them."""

    name: str
    slot: int

    def __post_init__(self) -> None:
        check_name(self.name)
        if not 0 <= self.slot < SLOTS:
            raise LabError(f"slot {self.slot} is outside 0..{SLOTS - 1}")

    @property
    def rundir(self) -> Path:
        """Where the lab keeps its state, lock, logs, API secret and private Open vSwitch instances."""
        return LABS_DIR / self.name

    @property
    def tag(self) -> str:
        """The prefix of every interface name the lab has in the machine's namespace (`ol07`)."""
        return f"ol{self.slot:02d}"

    @property
    def link_group(self) -> int:
        """The Linux interface group of those interfaces, so one request deletes them all."""
        return LINK_GROUP_BASE + self.slot

    @property
    def mgmt_network(self) -> IPv4Network:
        return IPv4Network((int(MGMT_SPACE.network_address) + self.slot * 2 ** (32 - SLOT_PREFIX), SLOT_PREFIX))

    @property
    def controller(self) -> IPv4Interface:
        """The controller's address: the first of the lab's management subnet, on its bridge."""
        return self._address(1)

    def server_address(self, index: int) -> IPv4Interface:
        """The management address of the index-th server of the fabric (counting up from the bottom)."""
        return self._address(16 + index)

    def home_address(self, index: int) -> IPv4Interface:
        """The management address of the index-th switch home (a pod's Open vSwitch, then the core's),
        counting down from the top of the subnet."""
        return self._address(self.mgmt_network.num_addresses - 2 - index)

    def _address(self, offset: int) -> IPv4Interface:
        return IPv4Interface((int(self.mgmt_network.network_address) + offset, SLOT_PREFIX))

    def stitch_vni(self, offset: int) -> int:
        """The VNI of the lab's offset-th stitched cable between machines (`--hosts`): each lab has a range of
        its own, so two labs stitching between the same two machines never pick the same one."""
        if not 0 <= offset < STITCH_VNIS:
            raise LabError(f"stitch {offset} is outside the lab's {STITCH_VNIS} VNIs")
        return STITCH_VNI_BASE + self.slot * STITCH_VNIS + offset

    @property
    def mgmt_end(self) -> str:
        """The lab's one interface in the machine's namespace (`ol07mgmt`): the controller's address, at the
        end of a veth into the lab's management namespace."""
        return f"{self.tag}mgmt"

    @property
    def interfaces(self) -> re.Pattern[str]:
        """That name as a pattern: how `clean` finds it should a crashed lab have left it outside its group."""
        return re.compile(rf"{self.tag}mgmt")
