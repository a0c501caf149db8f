"""A bare-metal member's kernel VTEP, as shell lines for a server on another machine: the device, its MAC and
address, a forwarding entry and a neighbour per peer, and one broadcast entry per peer server."""
import subprocess
from ipaddress import ip_address

from topologies.scenario import load
from vswitch.kernel import ALL_ZEROS, Peer, vtep_script

LEGACY = next(vm for vm in load().vms if vm.label == "pepsi/legacy")
PEERS = [Peer("02:00:13:89:02:02", ip_address("192.0.2.2"), ip_address("10.0.0.2")),
         Peer("02:00:13:89:02:03", ip_address("192.0.2.3"), ip_address("10.0.0.3")),
         Peer("02:00:13:89:02:09", ip_address("192.0.2.9"), ip_address("10.0.0.3"))]


def test_the_device_is_made_addressed_and_up_before_its_entries():
    lines = vtep_script(LEGACY, PEERS).splitlines()
    assert lines[0] == f"ip link add vx5001 type vxlan id 5001 local {LEGACY.server.ip} dstport 4789 nolearning"
    assert lines[1:4] == [f"ip link set vx5001 address {LEGACY.mac} mtu 1450", "ip addr add 192.0.2.4/24 dev vx5001",
                          "ip link set vx5001 up"]
    assert "ip neigh replace 192.0.2.9 lladdr 02:00:13:89:02:09 dev vx5001 nud permanent" in lines
    assert [line for line in lines if ALL_ZEROS in line] == [f"bridge fdb append {ALL_ZEROS} dev vx5001 dst 10.0.0.2",
                                                             f"bridge fdb append {ALL_ZEROS} dev vx5001 dst 10.0.0.3"]
    assert subprocess.run(["sh", "-n"], input=vtep_script(LEGACY, PEERS), text=True).returncode == 0
