"""The shell commands that give one physical server its own Open vSwitch (pure: strings, no side effects).

Each server runs its own ovsdb-server and ovs-vswitchd inside its namespace, with its own run, db and
log directory and its own control sockets (so the instances never clobber each other's, nor the host's).
Two bridges, both on the userspace datapath:

  br-phy  the uplink port, with the server's underlay address on the bridge's internal port: OVS's
          native tunneling routes and resolves outer headers from here;
  br-int  the VM ports and one tunnel port per encapsulation (remote_ip=flow, key=flow), managed by
          the lab's controller over the management network.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from topologies.encap import Encap
from topologies.fattree import Server, mac_of
from topologies.names import BRIDGE, PATCH, PHY

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
# A busy 2-core lab can keep its controller from answering an echo request for longer than OVS's
# default 5 s inactivity probe (seen at k=8: switches dropped their connection mid bring-up and
# waited out the reconnect backoff). The controller is local: probe it rarely, and when it is gone
# (restarted, or crashed and started again) try again every second rather than OVS's default 8 s. At
# k=12 with 864 VMs (286,000 flows to push at once, load 20 on 2 cores) 30 s was not enough: 277 of 612
# switches dropped their connection mid push. A controller that dies closes its sockets, which OVS notices
# at once; the probe only finds a silent one, so 2 minutes costs nothing.
CONTROLLER_OPTIONS = ("inactivity_probe=120000", "max_backoff=1000")
PATCH_INT, PATCH_PHY = "patch-phy", "patch-int"  # each end is named for the bridge it leads to
START_OK = "START-OK"


@dataclass(frozen=True)
class OvsInstance:
    """One private Open vSwitch: an ovsdb-server and an ovs-vswitchd with their own directory, database,
    sockets, pidfiles and logs, started in whatever namespace runs its commands."""

    rundir: Path

    @property
    def db(self) -> str:
        return f"unix:{self.rundir}/db.sock"

    def ctl(self, daemon: str) -> str:
        """The daemon's own unixctl socket, for ovs-appctl -t."""
        return f"{self.rundir}/{daemon}.ctl"

    def pidfile(self, daemon: str) -> Path:
        return self.rundir / f"{daemon}.pid"

    def bridge(self, name: str) -> str:
        """Where ovs-ofctl reaches one of its bridges."""
        return f"unix:{self.rundir}/{name}.mgmt"

    @property
    def br_int(self) -> str:
        """Where ovs-ofctl reaches the server's virtual switch."""
        return self.bridge(BRIDGE)

    def vsctl(self, *args: str) -> str:
        return f"ovs-vsctl --db={self.db} --timeout=30 " + " ".join(args)

    def daemon(self, daemon: str, target: str) -> str:
        """The command that starts one of the two daemons, detached, with its own files."""
        d = self.rundir
        env = f"OVS_RUNDIR={d} OVS_DBDIR={d} OVS_LOGDIR={d} OVS_SYSCONFDIR={d}"
        return (f"{env} {daemon} {target} --pidfile={self.pidfile(daemon)} --unixctl={self.ctl(daemon)} "
                f"--log-file={d}/{daemon}.log --detach --no-chdir")

    @property
    def start_log(self) -> Path:
        return self.rundir / "start.log"

    def guarded(self, steps: list[str]) -> str:
        """One shell line running `steps` with their output in start.log; it prints START-OK only if
        every step worked. (Its directory exists: the line is run from a file there.)"""
        return f"( set -e; {'; '.join(steps)} ) >{self.start_log} 2>&1 && echo {START_OK} || echo START-FAILED"

    def start_steps(self, *config: str) -> list[str]:
        """Create the database, start ovsdb-server, write `config` (ovs-vsctl's words) as the database is
        initialised, and start ovs-vswitchd: it detaches once it has applied that configuration."""
        d = self.rundir
        return [f"ovsdb-tool create {d}/conf.db {SCHEMA}",
                self.daemon("ovsdb-server", f"{d}/conf.db --remote=punix:{d}/db.sock"),
                self.vsctl("--no-wait", "init", *config),
                self.daemon("ovs-vswitchd", self.db)]


@dataclass(frozen=True)
class VswitchPlan:
    """Everything needed to bring one server's virtual switch up."""

    server: Server
    rundir: Path
    uplink: str  # the server's interface towards its edge switch
    vm_ports: tuple[tuple[str, int], ...]  # (interface, OpenFlow port) of each local VM
    controller: str | None  # e.g. tcp:198.18.0.1:6653; None: flows are installed by hand (benchmarks)
    dpid: int
    mgmt: str | None  # the server's management address, e.g. 198.18.0.17/16; None: no management network
    mgmt_link: str  # the management namespace's end of its management veth
    mgmt_intf: str  # the server's end of it
    rack_peers: tuple[IPv4Address, ...] = ()  # the other servers under the same edge switch
    flat: bool = False  # flat mode: br-int reaches br-phy by a patch port (no tunnels carry the VMs)

    @property
    def ovs(self) -> OvsInstance:
        return OvsInstance(self.rundir)


def _bridges(plan: VswitchPlan) -> list[str]:
    s = plan.server
    args = ["--", "add-br", PHY, "--", "set", "bridge", PHY, "datapath_type=netdev", "fail_mode=standalone",
            f"other_config:hwaddr={s.mac}",
            "--", "add-port", PHY, plan.uplink,
            "--", "add-br", BRIDGE, "--", "set", "bridge", BRIDGE, "datapath_type=netdev", "fail_mode=secure",
            "protocols=OpenFlow13", f"other_config:datapath-id={plan.dpid:016x}",
            "other_config:disable-in-band=true"]
    if plan.controller:
        args += ["--", "set-controller", BRIDGE, plan.controller,
                 "--", "set", "controller", BRIDGE, *CONTROLLER_OPTIONS]
    for encap in Encap:
        args += ["--", "add-port", BRIDGE, f"{encap}0", "--", "set", "interface", f"{encap}0", f"type={encap}",
                 "options:remote_ip=flow", "options:key=flow", f"ofport_request={encap.ofport}"]
    for intf, port in plan.vm_ports:
        args += _add_port(intf, port)
    if plan.flat:
        args += ["--", "add-port", BRIDGE, PATCH_INT, "--", "set", "interface", PATCH_INT, "type=patch",
                 f"options:peer={PATCH_PHY}", f"ofport_request={PATCH}",
                 "--", "add-port", PHY, PATCH_PHY, "--", "set", "interface", PATCH_PHY, "type=patch",
                 f"options:peer={PATCH_INT}"]
    return args


def _add_port(intf: str, port: int) -> list[str]:
    return ["--", "add-port", BRIDGE, intf, "--", "set", "interface", intf, f"ofport_request={port}"]


def ip_batch(lines: list[str]) -> str:
    """Many `ip` commands run by one `ip` (a fork each is what a server's start costs most, 128 at once)."""
    return "ip -batch - <<< $'" + "\\n".join(lines) + "'"


def _ignored(intf: str) -> str:
    """`ip` words: OVS reads the interface through a packet socket, but the server's own kernel sees every
    frame too: its IP stack ignores them (and ARP, see _arp_ignored)."""
    return f"rule add pref 10 iif {intf} blackhole"


def _arp_ignored(intf: str) -> str:
    """The server's ARP ignores the interface too (or it answers a VM's ARP for the server's address)."""
    return f"echo 8 > /proc/sys/net/ipv4/conf/{intf}/arp_ignore"


def plug_script(ovs: OvsInstance, intf: str, port: int) -> str:
    """One shell line, in the server's namespace: a VM's veth end (moved or made here) becomes br-int
    port `port`, checksummed in software and ignored by the server's own stack."""
    return ovs.guarded([f"ethtool -K {intf} tx off", ip_batch([_ignored(intf), f"link set {intf} up"]),
                        _arp_ignored(intf), ovs.vsctl(*(shlex.quote(a) for a in _add_port(intf, port)))])


def unplug_script(ovs: OvsInstance, intf: str) -> str:
    """One shell line, in the server's namespace: a VM's port leaves br-int (the VM is moving away)."""
    return ovs.guarded([ovs.vsctl("--if-exists", "del-port", BRIDGE, intf), f"ip rule del pref 10 iif {intf}"])


def start_script(plan: VswitchPlan) -> str:
    """One shell line, run inside the server's namespace; prints START-OK only if every step worked."""
    s = plan.server
    ignored = (plan.uplink, *(intf for intf, _ in plan.vm_ports))
    before = [*(management_lines(plan.mgmt, plan.mgmt_intf) if plan.mgmt else []),
              # The underlay address moves from the uplink to br-phy, where OVS's tunnels look for it.
              f"addr flush dev {plan.uplink}",
              # The uplink's tunnel packets and the VMs' frames are OVS's: the server's own stack ignores them
              # (it would answer tunnel packets with ICMP port-unreachable).
              "rule add pref 100 lookup local", "rule del pref 0", *map(_ignored, ignored)]
    after = [f"addr add {s.ip}/{s.rack.prefixlen} dev {PHY}", f"link set {PHY} up",
             f"route replace default via {s.gateway} dev {PHY}"]
    return plan.ovs.guarded([
        ip_batch(before), *map(_arp_ignored, ignored), *(f"ethtool -K {intf} tx off" for intf, _ in plan.vm_ports),
        *plan.ovs.start_steps(*(shlex.quote(a) for a in _bridges(plan))), ip_batch(after), *neighbour_steps(plan)])


def neighbour_steps(plan: VswitchPlan) -> list[str]:
    """Every next hop answers with the edge switch's MAC (its proxy ARP): seed OVS's tunnel neighbour
    table with it, so no first packet is lost while OVS resolves one."""
    s = plan.server
    return [f"ovs-appctl -t {plan.ovs.ctl('ovs-vswitchd')} tnl/neigh/set {PHY} {hop} {mac_of(s.gateway)}"
            for hop in (s.gateway, *plan.rack_peers)]


def restart_script(plan: VswitchPlan) -> str:
    """One shell line, in the server's namespace: a killed ovs-vswitchd started again. Its database kept
    the bridges and ports; its tunnel neighbours died with it and are seeded again."""
    return plan.ovs.guarded([plan.ovs.daemon("ovs-vswitchd", plan.ovs.db), *neighbour_steps(plan)])


def management_lines(address: object, intf: str) -> list[str]:
    """`ip` words: the management address on the namespace's end of its management veth."""
    return [f"addr add {address} dev {intf}", f"link set {intf} up"]
