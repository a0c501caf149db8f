"""The per-server Open vSwitch start-up script: private sockets, the right bridges and ports."""
import subprocess
from dataclasses import replace
from pathlib import Path

from topologies.fattree import FatTree
from vswitch.ovs import START_OK, VswitchPlan, ip_batch, restart_script, start_script

SERVER = FatTree(4).server("p1e0h1")
PLAN = VswitchPlan(server=SERVER, rundir=Path("/run/overlaylab/servers/p1e0h1"), uplink="p1e0h1-eth0",
                   vm_ports=(("p1e0h1-eth1", 1), ("p1e0h1-eth2", 2)), controller="tcp:198.18.0.1:6653",
                   dpid=0x4010001, mgmt="198.18.0.23/16", mgmt_link="olm7", mgmt_intf="mgmt0", rack_peers=(FatTree(4).server("p1e0h0").ip,))
SCRIPT = start_script(PLAN)


def test_every_daemon_uses_its_own_directory_and_sockets():
    for daemon in ("ovsdb-server", "ovs-vswitchd"):
        assert f"--pidfile=/run/overlaylab/servers/p1e0h1/{daemon}.pid" in SCRIPT
        assert f"--unixctl=/run/overlaylab/servers/p1e0h1/{daemon}.ctl" in SCRIPT
    assert "OVS_RUNDIR=/run/overlaylab/servers/p1e0h1" in SCRIPT
    assert "/var/run/openvswitch" not in SCRIPT


def test_bridges_ports_and_controller():
    assert "add-br br-phy" in SCRIPT and "add-port br-phy p1e0h1-eth0" in SCRIPT
    assert "other_config:hwaddr=02:00:0a:01:00:03" in SCRIPT
    assert "set-controller br-int tcp:198.18.0.1:6653 -- set controller br-int inactivity_probe=120000" in SCRIPT
    assert "other_config:datapath-id=0000000004010001" in SCRIPT
    for encap, port in (("vxlan", 100), ("geneve", 101), ("gre", 102)):
        assert f"type={encap} options:remote_ip=flow options:key=flow ofport_request={port}" in SCRIPT
    assert "add-port br-int p1e0h1-eth2 -- set interface p1e0h1-eth2 ofport_request=2" in SCRIPT
    assert SCRIPT.count("datapath_type=netdev") == 2


def test_underlay_address_moves_to_br_phy_and_next_hops_are_seeded():
    assert "<<< $'addr add 10.1.0.3/24 dev br-phy\\nlink set br-phy up" in SCRIPT
    assert "\\nroute replace default via 10.1.0.1 dev br-phy'" in SCRIPT
    assert SCRIPT.index("addr flush dev p1e0h1-eth0") < SCRIPT.index("addr add 10.1.0.3/24 dev br-phy")
    assert "tnl/neigh/set br-phy 10.1.0.1 02:00:0a:01:00:01" in SCRIPT
    assert "tnl/neigh/set br-phy 10.1.0.2 02:00:0a:01:00:01" in SCRIPT
    assert "ethtool -K p1e0h1-eth1 tx off" in SCRIPT


def test_the_servers_own_stack_ignores_what_ovs_reads():
    for intf in ("p1e0h1-eth0", "p1e0h1-eth1", "p1e0h1-eth2"):
        assert f"rule add pref 10 iif {intf} blackhole" in SCRIPT
        assert f"echo 8 > /proc/sys/net/ipv4/conf/{intf}/arp_ignore" in SCRIPT


def test_the_bridges_are_in_the_database_before_ovs_vswitchd_starts_so_it_starts_with_them():
    assert SCRIPT.index("--no-wait init -- add-br br-phy") < SCRIPT.index("ovs-vswitchd unix:")


def test_ip_commands_are_one_ip_each_time_and_bash_reads_them_as_lines():
    batch = ip_batch(["addr add 10.1.0.3/24 dev br-phy", "link set br-phy up"])
    said = subprocess.run(["bash", "-c", batch.replace("ip -batch -", "cat")], capture_output=True, text=True)
    assert said.stdout == "addr add 10.1.0.3/24 dev br-phy\nlink set br-phy up\n"
    assert SCRIPT.count("ip -batch -") == 2  # before Open vSwitch starts, and once br-phy exists


def test_success_is_reported_only_when_every_step_worked():
    assert SCRIPT.startswith("( set -e;") and ">/run/overlaylab/servers/p1e0h1/start.log 2>&1" in SCRIPT
    assert SCRIPT.endswith(f"&& echo {START_OK} || echo START-FAILED")


def test_a_restarted_vswitchd_gets_its_tunnel_neighbours_again():
    again = restart_script(PLAN)
    assert "ovs-vswitchd unix:/run/overlaylab/servers/p1e0h1/db.sock" in again
    assert "ovsdb-tool create" not in again and "add-br" not in again  # the database kept its bridges
    assert again.index("ovs-vswitchd unix:") < again.index("tnl/neigh/set br-phy 10.1.0.1 02:00:0a:01:00:01")
    assert "tnl/neigh/set br-phy 10.1.0.2 02:00:0a:01:00:01" in again


def test_a_flat_virtual_switch_reaches_br_phy_by_a_patch_port_and_an_overlay_one_has_none():
    flat = start_script(replace(PLAN, flat=True))
    assert "add-port br-int patch-phy -- set interface patch-phy type=patch options:peer=patch-int ofport_request=103" in flat
    assert "add-port br-phy patch-int -- set interface patch-int type=patch options:peer=patch-phy" in flat
    assert "patch" not in SCRIPT
