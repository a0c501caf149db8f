"""The lab's management links, over netlink (pyroute2): its bridge and veths in its management namespace,
its one veth into the machine's namespace, the interface group that marks that one as the lab's, and
deletion.

Every failure is a LabError naming the interface and what the kernel said.
"""
from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import IPv4Interface

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from overlaylab.errors import LabError
from probes.netns import netlink


@contextmanager
def _netlink(action: str, name: str) -> Iterator[None]:
    """Turn the kernel's refusal into one line: what the lab tried, on which interface, and why not."""
    try:
        yield
    except NetlinkError as exc:
        raise LabError(f"cannot {action} {name}: {exc.args[1] if len(exc.args) > 1 else exc}") from None


def _index(ipr: IPRoute, name: str) -> int:
    """One RTM_GETLINK by name (link_lookup would dump every interface of the namespace, ~800 at k=8)."""
    with _netlink("find", name):
        return int(ipr.link("get", ifname=name)[0]["index"])


def create_bridge(pid: int, name: str) -> None:
    """A Linux bridge, up, in the namespace of process `pid`."""
    with netlink(pid) as ipr:
        with _netlink("create the bridge", name):
            ipr.link("add", ifname=name, kind="bridge")
            ipr.link("set", index=_index(ipr, name), state="up")


def cable(pid: int, ends: dict[str, int], far_name: str, bridge: str) -> None:
    """One veth per entry {near end: a pid in the far namespace}, made in the namespace of process `pid`:
    the near end enslaved to `bridge` there and up, the far end (`far_name`) in the far namespace."""
    with netlink(pid) as ipr:
        master = _index(ipr, bridge)
        for end, far in ends.items():  # one request each: made, enslaved and up together
            with _netlink(f"create the veth to {far_name} in the namespace of {far}:", end):
                ipr.link("add", ifname=end, kind="veth", peer={"ifname": far_name, "net_ns_pid": far},
                         master=master, state="up")


def uplink(pid: int, name: str, group: int, far_name: str, bridge: str) -> None:
    """A veth from the machine's namespace (`name`, in interface group `group`, still down) to the namespace
    of `pid`, whose end (`far_name`) is enslaved to `bridge` there and up."""
    with IPRoute() as ipr:
        with _netlink(f"create the veth to the namespace of {pid}:", name):
            ipr.link("add", ifname=name, kind="veth", peer={"ifname": far_name, "net_ns_pid": pid}, group=group)
    with netlink(pid) as ipr, _netlink(f"enslave to {bridge}:", far_name):
        ipr.link("set", index=_index(ipr, far_name), master=_index(ipr, bridge), state="up")


def stitch(pid: int, name: str, vxlan: dict[str, object], group: int, new_name: str, bridge: str) -> None:
    """A VXLAN device (`vxlan`: pyroute2's vxlan_* attributes) made in the machine's namespace, where its
    socket stays, in interface group `group` until it moves into the namespace of `pid` as `new_name`,
    enslaved to `bridge` there and up."""
    with IPRoute() as ipr, _netlink("make the stitch", name):
        ipr.link("add", ifname=name, kind="vxlan", group=group, **vxlan)
        ipr.link("set", index=_index(ipr, name), net_ns_pid=pid)
    with netlink(pid) as ipr, _netlink(f"name {new_name} and enslave to {bridge}:", name):
        index = _index(ipr, name)
        ipr.link("set", index=index, ifname=new_name)
        ipr.link("set", index=index, master=_index(ipr, bridge), state="up")


def address_up(name: str, address: IPv4Interface) -> None:
    """An interface of the machine's namespace gets `address` and comes up."""
    with IPRoute() as ipr, _netlink("bring up", name):
        index = _index(ipr, name)
        ipr.addr("add", index=index, address=str(address.ip), prefixlen=address.network.prefixlen)
        ipr.link("set", index=index, state="up")


def delete_group(group: int) -> int:
    """Every interface in the lab's group, in one request: the kernel tears the veth pairs down together
    (0.07 s for 270 ports, where one deletion each, as Mininet's stop() does, takes 3 s). Returns how
    many there were."""
    with IPRoute() as ipr:
        count = len(ipr.link("dump", group=group))
        if count:
            with _netlink("delete the interfaces of group", str(group)):
                ipr.link("del", group=group)
        return count


def delete_matching(pattern: re.Pattern[str]) -> int:
    """Root-namespace interfaces whose whole name matches `pattern` (what an older lab left outside its
    group). Returns how many it deleted."""
    with IPRoute() as ipr:
        doomed = [(link["index"], name) for link in ipr.get_links()
                  if (name := link.get("ifname")) and pattern.fullmatch(name)]
        deleted = 0
        for index, name in doomed:
            try:
                ipr.link("del", index=index)
                deleted += 1
            except NetlinkError as exc:
                if exc.code != errno.ENODEV:  # gone already: the other end of a veth deleted before it
                    raise LabError(f"cannot delete {name}: {exc.args[1]}") from None
        return deleted


def move(name: str, src_pid: int, dst_pid: int, new_name: str) -> None:
    """An interface from the namespace of `src_pid` into that of `dst_pid`, renamed there (a VM's
    veth end, moving with the VM from one server to another)."""
    with netlink(src_pid) as ipr, _netlink(f"move into the namespace of {dst_pid}:", name):
        ipr.link("set", index=_index(ipr, name), net_ns_pid=dst_pid)
    with netlink(dst_pid) as ipr, _netlink(f"rename to {new_name} and bring up:", name):
        index = _index(ipr, name)
        ipr.link("set", index=index, ifname=new_name)
        ipr.link("set", index=index, state="up")

