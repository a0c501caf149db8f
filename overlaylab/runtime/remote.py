"""Mininet nodes on other machines, and the cable between two of them (issue 21's building blocks, on
Mininet's Cluster Edition, `mininet.examples.cluster`).

  MachineHost   a node whose shell runs on another machine, reached over ssh as root: Cluster Edition's
                RemoteMixin, without its `sudo` (these machines may have none; root needs none) and with the
                simulated cluster's ssh settings when the machine is one of it
  StitchLink    a cable between nodes on two machines: a kernel VXLAN device at each end (Cluster Edition
                offers GRE, whose `ip_gre` these kernels lack), its own VNI per cable, on UDP STITCH_PORT, never
                4789 or 6081, so it never mixes with the tenants' VXLAN and GENEVE; between nodes on one
                machine, a veth as ever
"""
from __future__ import annotations

import itertools
from ipaddress import ip_address
from typing import Any

from mininet.examples.cluster import RemoteGRELink, RemoteLink, RemoteMixin
from mininet.link import Link
from mininet.node import Node

from overlaylab.runtime.simplan import DIR, NETWORK

STITCH_PORT = 8472  # Linux's VXLAN port of old: not IANA's 4789 (the tenants' VXLAN), not GENEVE's 6081
_vnis = itertools.count(1)


class MachineMixin(RemoteMixin):  # type: ignore[misc]
    """Cluster Edition's remote node, as root, without sudo on either side."""

    def __init__(self, name: str, server: str, **params: Any) -> None:
        super().__init__(name, server=server, user="root", **params)

    def startShell(self, *args: Any, **params: Any) -> None:
        """Cluster Edition's shell, over an ssh without its local `sudo -u` (Node.__init__ calls this after
        RemoteMixin has put it in)."""
        if self.isRemote:
            self.sshcmd = [*self.sshbase, *_ssh_options(self.serverIP), self.dest]
        super().startShell(*args, **params)

    def _popen(self, cmd: Any, sudo: bool = True, tt: bool = True, **params: Any) -> Any:
        return super()._popen(cmd, sudo=False, tt=tt, **params)


class MachineHost(MachineMixin, Node):  # type: ignore[misc]
    """A host (its own network namespace) on another machine."""


def ssh(host: str, command: str) -> list[str]:
    """Run `command` as root on a machine, in its own namespace, as the lab's nodes are run there."""
    return ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", *_ssh_options(host), f"root@{host}", command]


def _ssh_options(address: str) -> list[str]:
    """The simulated cluster's key and host-key policy, for one of its machines; a real machine's ssh
    settings are the user's own."""
    try:
        simulated = ip_address(address) in NETWORK
    except ValueError:  # a host name: a real machine
        simulated = False
    if not simulated or not (DIR / "key").exists():
        return []
    return ["-i", str(DIR / "key"), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR"]


class StitchLink(RemoteGRELink):  # type: ignore[misc]
    """A cable that may cross machines: a kernel VXLAN device at each end, with a VNI of its own (Cluster
    Edition's GRE link, made of VXLAN instead; its stop() deletes both ends)."""

    tunnel: int | None

    def makeIntfPair(self, intfname1: str, intfname2: str, addr1: str | None = None, addr2: str | None = None,
                     node1: Any = None, node2: Any = None, deleteIntfs: bool = True) -> Any:
        node1, node2 = node1 or self.node1, node2 or self.node2
        if getattr(node1, "serverIP", None) == getattr(node2, "serverIP", None):
            return Link.makeIntfPair(intfname1, intfname2, addr1, addr2, node1, node2, deleteIntfs=deleteIntfs)
        vni = next(_vnis)
        for node, name, addr, local, remote in ((node1, intfname1, addr1, node1, node2),
                                                (node2, intfname2, addr2, node2, node1)):
            _stitch_end(node, name, addr, vni, local.serverIP, remote.serverIP)
        self.tunnel = vni  # Cluster Edition's field: anything but None means "a tunnel, not a veth"
        return None


def _stitch_end(node: Any, name: str, mac: str | None, vni: int, local: str, remote: str) -> None:
    """One end: the VXLAN device made in its machine's own namespace (where its socket stays), then moved
    into the node's."""
    made = node.rcmd(f"ip link add name {name} type vxlan id {vni} local {local} remote {remote} "
                     f"dstport {STITCH_PORT} nolearning")
    if made.strip():
        raise RuntimeError(f"cannot stitch {name} on {node.server}: {made.strip()}")
    if mac:
        node.rcmd(f"ip link set {name} address {mac}")
    node.rcmd(f"ip link set {name} up")
    RemoteLink.moveIntf(name, node)
