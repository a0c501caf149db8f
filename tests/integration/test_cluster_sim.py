"""`overlaylab cluster simulate N` and `cluster clean`, as a user runs them: N machines that answer ssh as
root, each in its own namespace with its own Open vSwitch run directory, reaching each other and this
machine; a second cluster refused in one line; clean removes every namespace, process, interface and file
it made, and says so, and a second clean finds nothing."""
import fcntl
import json

import pytest

from overlaylab.runtime.identity import RUN_DIR
from overlaylab.runtime.remote import ssh
from overlaylab.runtime.simcluster import clean, namespaces
from overlaylab.runtime.simplan import DIR, HOST_LINK
from overlaylab.system import pid_alive, run
from tests.integration.conftest import NAME, leftovers, overlaylab


@pytest.fixture
def no_cluster():
    """One simulated cluster on the machine at a time: the tests that make one take turns (pytest-xdist runs
    them on several workers)."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with open(RUN_DIR / "cluster-tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert namespaces() == [], "a simulated cluster is already here"
        try:
            yield
        finally:
            clean()


def on(address: str, command: str) -> str:
    return run(*ssh(address, command)).stdout


def test_simulated_machines_answer_ssh_and_clean_leaves_nothing(no_cluster):
    made = overlaylab("cluster", "simulate", "2")
    assert made.returncode == 0, made.stderr
    hosts = made.stdout.strip().splitlines()[-1].split(",")
    assert hosts == ["198.51.100.2", "198.51.100.3"]
    assert sorted(namespaces()) == ["olcl-m1", "olcl-m2", "olcl-net"]
    first = on(hosts[0], "echo $OVS_RUNDIR $OVERLAYLAB_MACHINE; readlink /proc/self/ns/net; ip -o -4 addr show eth0")
    assert first.startswith("/run/overlaylab/cluster/m1/ovs m1") and "198.51.100.2/24" in first
    assert first.split()[2] != on(hosts[1], "readlink /proc/self/ns/net").strip()  # a namespace each
    assert " 0% packet loss" in on(hosts[0], f"ping -c1 -W2 {hosts[1]}; ping -c1 -W2 198.51.100.1")
    again = overlaylab("cluster", "simulate", "3")
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "cluster clean" in again.stderr
    sshds = [int((DIR / m / "sshd.pid").read_text()) for m in ("m1", "m2")]
    assert all(pid_alive(pid) for pid in sshds)
    gone = overlaylab("cluster", "clean")
    assert gone.returncode == 0 and "3 namespaces" in gone.stdout and "processes" in gone.stdout
    assert namespaces() == [] and not DIR.exists() and not any(pid_alive(pid) for pid in sshds)
    assert run("ip", "link", "show", HOST_LINK, check=False).returncode != 0
    assert "nothing to remove" in overlaylab("cluster", "clean").stdout


def test_mininet_cluster_nodes_on_two_machines_talk_over_a_vxlan_stitch(no_cluster):
    """Cluster Edition's remote nodes, started over the real ssh hop into two simulated machines, cabled by
    a StitchLink: kernel VXLAN on UDP 8472, a VNI of its own, 1500-byte frames across (the machines'
    network carries the 50 bytes more); two nodes on one machine get a plain veth."""
    from overlaylab.runtime.remote import STITCH_PORT, MachineHost, StitchLink
    from overlaylab.runtime.simcluster import simulate
    one, two = (str(m.address.ip) for m in simulate(2))
    nodes = [MachineHost("h1", server=one), MachineHost("h2", server=two), MachineHost("h3", server=one)]
    h1, h2, h3 = nodes
    try:
        assert h1.cmd("echo $OVERLAYLAB_MACHINE").strip() == "m1" and h2.cmd("echo $OVERLAYLAB_MACHINE").strip() == "m2"
        across, near = StitchLink(h1, h2, vni=4242, intfName1="h1-eth0", intfName2="h2-eth0"), StitchLink(
            h1, h3, intfName1="h1-eth1", intfName2="h3-eth0")
        for node, intf, ip in ((h1, "h1-eth0", "10.9.0.1/24"), (h2, "h2-eth0", "10.9.0.2/24"),
                               (h1, "h1-eth1", "10.9.1.1/24"), (h3, "h3-eth0", "10.9.1.3/24")):
            node.setIP(ip, intf=intf)
        assert f"dstport {STITCH_PORT}" in h1.cmd("ip -d link show h1-eth0") and across.tunnel
        assert "veth" in h1.cmd("ip -d link show h1-eth1") and not near.tunnel
        assert " 0% packet loss" in h1.cmd("ping -c2 -W2 -M do -s 1472 10.9.0.2")  # a full 1500-byte frame
        assert " 0% packet loss" in h1.cmd("ping -c2 -W2 10.9.1.3")
    finally:
        for node in nodes:
            node.terminate()


def test_machines_are_checked_before_a_lab_is_placed_on_them(no_cluster):
    """Two simulated machines pass (root, every tool, 1550-byte frames between them); one that does not
    answer, and a network that carries 1500-byte frames only, are each refused in one line."""
    from overlaylab.errors import LabError
    from overlaylab.runtime.machines import preflight
    from overlaylab.runtime.simcluster import simulate
    one, two = (str(m.address.ip) for m in simulate(2))
    assert [seen.root and not seen.missing for seen in preflight([one, two])] == [True, True]
    with pytest.raises(LabError, match=r"^198\.51\.100\.9 does not answer ssh as root by key .*docs/cluster\.md\)$"):
        preflight([one, "198.51.100.9"])
    on(two, "ip link set eth0 mtu 1500")
    with pytest.raises(LabError, match=f"the network from {one} to {two} does not carry 1550-byte frames whole"):
        preflight([one, two])


def test_a_lab_over_two_simulated_machines_checks_green_and_crosses_between_them(no_cluster, tmp_path):
    """The lecture's lab (k=4) over 2 simulated machines through the real command: pods 0-1 and core switches
    c0-c1 on the first, pods 2-3 and c2-c3 on the second, the 8 cables between them stitched; `check` green, the
    tenants' probes counted on those cables; torn down, nothing of the lab is left here or on either machine."""
    hosts = overlaylab("cluster", "simulate", "2").stdout.strip().splitlines()[-1]
    done = overlaylab("check", "topologies/lecture.yaml", "--hosts", hosts, "--json", str(tmp_path / "r.json"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["ok"] and len(report["stitches"]) == 8 and sum(report["stitches"].values()) > 0
    crossed = next(c for c in report["checks"] if c["name"] == "cables between machines")
    assert crossed["status"] == "pass", crossed["detail"]
    assert leftovers(NAME) == []
    for host, machine in zip(hosts.split(","), ("m1", "m2"), strict=True):
        assert "vxlan" not in on(host, "ip -d -o link")
        assert descendants(int((DIR / machine / "sshd.pid").read_text())) <= {"sshd"}  # no node shell, no daemon


def descendants(pid: int) -> set[str]:
    """The command names of every process descended from `pid`."""
    table = [line.split(None, 2) for line in run("ps", "-e", "-o", "pid=,ppid=,comm=").stdout.splitlines()]
    found, names = {pid}, set()
    for _ in range(10):
        for child, parent, name in table:
            if int(parent) in found and int(child) not in found:
                found.add(int(child))
                names.add(name)
    return names


def test_a_lab_over_machines_moves_a_vm_within_and_across_machines_and_draws_where_nodes_run(no_cluster, tmp_path):
    """Through the Python API: coke/web moves to an empty server of its machine, still reaching coke/db on the
    other machine; then to an empty server of that other machine (made again there: a new namespace, on that
    machine, with the VM's MAC and address), and back; a VM added on the second machine lives there; a cable there
    is tapped through its agent; a virtual switch there is killed and restored by its server's shell; the
    picture names each node's machine; the check stays green."""
    from overlaylab import Lab
    from overlaylab.runtime.simcluster import simulate
    one, two = (str(m.address.ip) for m in simulate(2))
    with Lab("topologies/lecture.yaml", name=NAME, hosts=f"{one},{two}") as lab:
        within = lab.migrate("coke/web", "p1e1h1")  # an empty server, on the first machine
        assert within["to"] == "p1e1h1" and within["peer"] == "coke/db"  # its stream from the second machine
        assert within["stream"]["sent"] > within["stream"]["lost"]  # probes sent and counted through the agents
        assert " 0% packet loss" in lab.vm("coke/web").cmd("ping -c2 -W2 192.0.2.3")  # coke/db, on the second
        first = lab.vm("coke/web")
        across = lab.migrate("coke/web", "p2e1h1")  # an empty server, on the second machine
        assert across["to"] == "p2e1h1" and across["stream"] is None  # its old socket would go with the old VM
        moved = lab.vm("coke/web")
        assert moved is not first and moved.serverIP == two
        assert moved.cmd(f"ip -4 -br addr show {moved.defaultIntf()}").split()[1:] == ["UP", "192.0.2.2/24"]
        assert lab.vm("coke/web").MAC() == next(v.mac for v in lab.scenario.vms if v.label == "coke/web")
        assert " 0% packet loss" in moved.cmd("ping -c2 -W2 192.0.2.3")  # coke/db, on the same machine now
        lab.add_vm("pepsi/cache", "192.0.2.9/24", "p3e0h1")
        assert lab.vm("pepsi/cache").serverIP == two
        assert " 0% packet loss" in lab.vm("pepsi/cache").cmd("ping -c2 -W2 192.0.2.2")  # pepsi/web, on the first
        lab.migrate("coke/web", "p0e0h0")
        assert lab.vm("coke/web").serverIP == one
        crossed = lab.wire("p3e1-eth2", lambda: lab.vm("coke/web").cmd("ping -c2 -W2 192.0.2.3"))  # tapped there
        assert len(crossed) >= 4  # two echo requests, encapsulated, to coke/db's server, and their replies
        assert len(lab.live.counters()) == len(lab.scenario.fabric.links)  # the live view's, read on the machines
        lab.fail("vswitch", "p3e1h1")  # coke/db's server, on the second machine: its ovs-vswitchd killed there
        assert " 0 received" in lab.vm("coke/web").cmd("ping -c1 -W1 192.0.2.3")
        lab.restore("vswitch", "p3e1h1")
        assert " 0% packet loss" in lab.vm("coke/web").cmd("ping -c2 -W2 192.0.2.3")
        assert lab.check().ok
        source = lab.draw(tmp_path / "fabric.svg").file.read_text()
        assert f"on {one}" in source and f"on {two}" in source
    assert leftovers(NAME) == []
