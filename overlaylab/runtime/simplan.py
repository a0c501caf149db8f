"""The plan of a simulated cluster (`overlaylab cluster simulate N`): its machines' names and addresses, and
each machine's sshd configuration. Pure; overlaylab.runtime.simcluster builds it.

The machines sit on 198.51.100.0/24 (RFC 5737's TEST-NET-2: documentation only, never anyone's network, and
apart from the labs' 198.18.0.0/15); this machine is .1 on it, machine i is .(i+1). Each is a network
namespace of the cluster's own (`olcl-m1` ...), joined by a bridge in one more (`olcl-net`)."""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path

NETWORK = IPv4Network("198.51.100.0/24")
MAX_MACHINES = 16
MTU = 9000  # the machines' network: a stitched cable's 1500-byte frames plus its 50 bytes of VXLAN fit
PREFIX = "olcl"  # every namespace and interface the cluster makes starts with it
BRIDGE_NS, HOST_LINK = f"{PREFIX}-net", f"{PREFIX}0"
DIR = Path("/run/overlaylab/cluster")
SSHD = "/usr/sbin/sshd"


@dataclass(frozen=True)
class Machine:
    """One simulated machine: its namespace, its address, and where its own files live."""

    index: int  # 1..N

    @property
    def name(self) -> str:
        return f"m{self.index}"

    @property
    def namespace(self) -> str:
        return f"{PREFIX}-{self.name}"

    @property
    def port(self) -> str:
        """Its cable's end on the cluster's bridge."""
        return f"{PREFIX}-{self.name}"

    @property
    def address(self) -> IPv4Interface:
        return IPv4Interface((int(NETWORK.network_address) + 1 + self.index, NETWORK.prefixlen))

    @property
    def home(self) -> Path:
        return DIR / self.name

    @property
    def pidfile(self) -> Path:
        return self.home / "sshd.pid"

    @property
    def config(self) -> Path:
        return self.home / "sshd_config"


def host_address() -> IPv4Interface:
    """This machine's end of the cluster's network: where the machines reach the lab's controller."""
    return IPv4Interface((int(NETWORK.network_address) + 1, NETWORK.prefixlen))


def machines(count: int) -> list[Machine]:
    """The machines of a cluster of `count`, or a one-line refusal."""
    if not 1 <= count <= MAX_MACHINES:
        raise ValueError(f"{count} simulated machines: give 1 to {MAX_MACHINES} (each runs an sshd and, in a "
                         f"lab, part of the fabric on this one machine)")
    return [Machine(i) for i in range(1, count + 1)]


def hosts_value(cluster: list[Machine]) -> str:
    """What `--hosts` takes to run a lab over them."""
    return ",".join(str(m.address.ip) for m in cluster)


def sshd_config(machine: Machine) -> str:
    """Its sshd: on its own address only, root by the cluster's key alone, its own host key and pid file,
    and every session told where the machine's own Open vSwitch lives (a namespace shares the file system,
    so `ovs-vsctl` would otherwise reach this machine's)."""
    ovs = machine.home / "ovs"
    return "\n".join([
        f"ListenAddress {machine.address.ip}", "Port 22", f"HostKey {DIR / 'host_key'}",
        f"PidFile {machine.pidfile}", f"AuthorizedKeysFile {DIR / 'key.pub'}", "PermitRootLogin prohibit-password",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
        "PrintMotd no", "AcceptEnv no", "MaxStartups 200", "MaxSessions 2000",
        f"SetEnv OVS_RUNDIR={ovs} OVS_DBDIR={ovs} OVS_LOGDIR={ovs} OVERLAYLAB_MACHINE={machine.name}", ""])
