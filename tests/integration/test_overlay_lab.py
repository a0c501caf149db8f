"""Tenant overlays on real per-server Open vSwitches: the bundled scenarios checked end to end, an
underlay that never changes, a deliberate break that is caught, and a teardown that leaves nothing."""
import json
import subprocess
import sys
import threading
from xml.etree import ElementTree

from scapy.contrib.geneve import GENEVE
from scapy.utils import rdpcap

from overlaylab.runtime import tables
from overlaylab.system import wait_until
from overlaylab.verify.probing import probe_tenants
from probes.matrix import DELIVER, ISOLATE
from tests.integration.conftest import REPO, lab_of, leftovers, overlaylab, write_scenario
from topologies.scenario import BUNDLED, load


def test_lecture_check_reports_every_pair(tmp_path):
    assert leftovers() == []
    report = tmp_path / "r.json"
    done = overlaylab("check", str(BUNDLED / "lecture.yaml"), "--json", str(report))
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(report.read_text())
    assert data["ok"] and len(data["pairs"]) == 5 * 4 * 3
    assert all(set(p) >= {"src", "dst", "expected", "observed", "proto"} for p in data["pairs"])
    observed = {(p["src"], p["dst"], p["proto"]): p["observed"] for p in data["pairs"]}
    assert {observed[("pepsi/db", "coke/web", proto)] for proto in ("icmp", "udp", "tcp")} == {ISOLATE}
    assert {observed[("pepsi/db", "pepsi/web", proto)] for proto in ("icmp", "udp", "tcp")} == {DELIVER}
    assert len(data["attacks"]) == 9 and all(a["ok"] for a in data["attacks"])
    assert {c["name"] for c in data["checks"]} >= {"wire: encapsulation", "attacks", "ARP answered by the virtual switch"}
    assert {"p0e0h0/br-int", "p0e0h1/br-int", "p3e1h1/br-int"} <= set(data["tables"])
    assert leftovers() == []


def test_two_tenants_alike_but_for_the_vni_are_kept_apart(tmp_path):
    """One encapsulation, the same addresses and MACs on the same servers: only the VNI separates them."""
    report = tmp_path / "r.json"
    done = overlaylab("check", str(BUNDLED / "one-encapsulation.yaml"), "--json", str(report))
    assert done.returncode == 0, done.stdout + done.stderr
    pairs = json.loads(report.read_text())["pairs"]
    assert {p["observed"] for p in pairs if p["src"].split("/")[0] != p["dst"].split("/")[0]} == {ISOLATE}
    assert {p["observed"] for p in pairs if p["src"].split("/")[0] == p["dst"].split("/")[0]} == {DELIVER}


def snapshot(lab):
    return {name: tables.flow_lines(lab.nodes.targets[name]) for name in lab.underlay}


def test_underlay_is_identical_with_0_and_32_vms():
    with lab_of(BUNDLED / "underlay.yaml") as bare:
        empty = snapshot(bare)
    with lab_of(BUNDLED / "datacenter.yaml") as busy:
        assert len(busy.scenario.vms) == 32
        assert snapshot(busy) == empty
        pairs = probe_tenants(busy).pairs
        assert len(pairs) == 992 * 3 and [p for p in pairs if not p["ok"]] == []


def test_piped_vm_commands_use_tenant_names(tmp_path):
    pcap = tmp_path / "uplink.pcap"
    done = overlaylab("up", str(BUNDLED / "lecture.yaml"),
                      stdin="pepsi/web ping -c1 -W2 pepsi/db\ncoke/db ping -c1 -W2 coke/web\nvms\n"
                            "wire p0e0-eth1 pepsi/web ping -c1 -W2 pepsi/db\n"
                            f"wire p0e0-eth1 --pcap {pcap} coke/web ping -c1 -W2 coke/db\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("1 received") == 4
    tunnels = [p for p in rdpcap(str(pcap)) if p.haslayer(GENEVE)]  # what Wireshark will decode too
    assert tunnels and all(p[GENEVE].vni == 5002 for p in tunnels)
    assert "10.0.0.2 -> 10.0.0.3 VXLAN sport" in done.stdout
    assert "VNI 5001 | inside: Ether / IP / ICMP 192.0.2.2 > 192.0.2.3 echo-request" in done.stdout
    assert "coke/web                 5002 geneve  192.0.2.2/24" in done.stdout
    assert leftovers() == []


def test_a_bare_metal_member_interoperates_with_its_tenant_only():
    """pepsi/legacy: p2e0h0 is not virtualized; the Linux kernel's VXLAN device is its VTEP."""
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        legacy = lab.nodes.vm("pepsi/legacy")
        assert "vxlan id 5001" in legacy.cmd("ip -d link show vx5001")
        assert "tx-checksumming: off" in legacy.cmd("ethtool -k p2e0h0-eth0")
        assert not lab.nodes.ovs(lab.scenario.fabric.server("p2e0h0")).rundir.exists()  # no OVS on bare metal
        assert "1 received" in legacy.cmd("ping -c1 -W2 192.0.2.2")  # pepsi/web, through OVS
        assert "1 received" in lab.nodes.vm("pepsi/db").cmd("ping -c1 -W2 192.0.2.4")
        verdicts = probe_tenants(lab)
    mine = [p for p in verdicts.pairs if "pepsi/legacy" in (p["src"], p["dst"])]
    assert len(mine) == 2 * 4 * 3 and all(p["ok"] for p in mine)
    assert {p["dst"] for p in mine if p["src"] == "pepsi/legacy" and p["observed"] == DELIVER} == {"pepsi/web", "pepsi/db"}
    assert all(c.ok for c in verdicts.checks), verdicts.checks



def echoes_received(node):
    """The kernel's count of ICMP echo requests it has received (Icmp InEchos in /proc/net/snmp)."""
    header, values = [line.split() for line in node.cmd("grep ^Icmp: /proc/net/snmp").splitlines()[:2]]
    return int(values[header.index("InEchos")])


def test_a_vm_cannot_reach_the_server_it_runs_on():
    """Even knowing the MAC of its port's far end, a VM gets nothing into its server's own IP stack."""
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        server, web = lab.nodes.net["p0e0h0"], lab.nodes.vm("pepsi/web")  # the server's address is 10.0.0.2
        intf = web.defaultIntf()
        web.cmd(f"ip route add 10.0.0.2/32 dev {intf}; ip neigh replace 10.0.0.2 "
                f"lladdr {server.intf('p0e0h0-eth1').MAC()} dev {intf}")
        before = echoes_received(server)
        web.cmd("ping -c3 -i0.2 -W1 10.0.0.2")
        assert echoes_received(server) == before
        assert "1 received" in web.cmd("ping -c1 -W2 192.0.2.3")  # its tenant still works


ODD = """
description: odd but valid
fabric: {k: 4}
tenants:
  solo: {vni: 1, encap: gre, vms: {only: {ip: 10.0.0.2/8, server: p3e1h1}}}
  empty: {vni: 2, encap: geneve, vms: {}}
  crowd:
    vni: 16777215
    encap: vxlan
    vms:
      a: {ip: 172.31.255.1/30, server: p0e0h0}
      b: {ip: 172.31.255.2/30, server: p0e0h0, mac: "0a:bc:de:f0:12:34"}
  same-ip.as-servers:
    vni: 77
    encap: gre
    vms:
      x: {ip: 10.0.0.2/24, server: p0e0h0}
      y: {ip: 10.0.0.3/24, server: p2e1h0}
      z_2: {ip: 10.0.0.4/24, server: p2e1h0}
"""


def test_an_odd_but_valid_scenario_checks_clean(tmp_path):
    """A lone VM, an empty tenant, /8 and /30 subnets, the largest VNI, a MAC given by hand, two VMs of
    one tenant on one server, and VM addresses equal to servers' underlay addresses."""
    assert leftovers() == []
    scenario = tmp_path / "odd.yaml"
    scenario.write_text(ODD)
    done = overlaylab("check", str(scenario), "--json", str(tmp_path / "r.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((tmp_path / "r.json").read_text())["ok"]
    assert leftovers() == []


def test_lines_piped_while_a_command_runs_are_the_scripts_not_the_commands(tmp_path):
    """Mininet's CLI forwards what arrives on stdin to a node while its command runs: the rest of a
    script went into a VM's shell. Here the next lines arrive while a ping runs inside a VM."""
    lines: list[str] = []
    with open(tmp_path / "stderr", "w") as err:
        up = subprocess.Popen([sys.executable, "-m", "overlaylab.faces.cli", "up", str(BUNDLED / "lecture.yaml")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, cwd=REPO)
        assert up.stdin and up.stdout
        reader = threading.Thread(target=lambda: lines.extend(up.stdout or ()), daemon=True)
        reader.start()
        up.stdin.write("pepsi/web ping -c5 -i0.5 pepsi/db\n")
        up.stdin.flush()
        wait_until(lambda: any(line.startswith("PING 192.0.2.3") for line in lines), 120, "the ping to start")
        up.stdin.write("vms\npepsi/web echo after-the-ping\n")
        up.stdin.close()
        assert up.wait(timeout=120) == 0, (tmp_path / "stderr").read_text()[-2000:]
        reader.join(timeout=10)
    text = "".join(lines)
    assert "5 received" in text
    assert "coke/web                 5002 geneve  192.0.2.2/24" in text
    assert "after-the-ping" in text.split("overlaylab> pepsi/web echo after-the-ping", 1)[1]
    assert leftovers() == []


def test_a_server_with_many_vms_comes_up(tmp_path):
    """24 VMs on one server make its start script longer than the 4095 characters a terminal line holds
    (a node's shell reads its commands from one): it used to wait for the rest of the line forever."""
    vms = "".join(f"      v{i}: {{ip: 192.168.0.{10 + i}/24, server: p0e0h0}}\n" for i in range(24))
    path = write_scenario(tmp_path, f"fabric: {{k: 4}}\ntenants:\n  many:\n    vni: 9\n    vms:\n{vms}"
                                    "      far: {ip: 192.168.0.99/24, server: p3e1h1}\n")
    with lab_of(path) as lab:
        assert tables.mismatches(lab.compiled, lab.nodes.targets) == []
        assert " 0% packet loss" in lab.nodes.vm("many/v23").cmd("ping -c1 -W2 192.168.0.99")


def test_draw_writes_an_svg_naming_every_switch_and_a_png(tmp_path):
    svg, png = tmp_path / "fabric.svg", tmp_path / "fabric.png"
    done = overlaylab("up", str(BUNDLED / "lecture.yaml"),
                      stdin=f"link p0a0 c0 down\ndraw {svg} coke/web coke/db\ndraw {png}\ndraw x.pdf\n")
    assert done.returncode == 0, done.stderr
    assert f"drew the fabric, with 3 paths from coke/web to coke/db to {svg}" in done.stdout  # not by p0a0-c0
    assert "refused: cannot draw x.pdf: name a .svg or .png file" in done.stdout
    texts = {t.text for t in ElementTree.parse(svg).iter("{http://www.w3.org/2000/svg}text")}
    lab = load(BUNDLED / "lecture.yaml")
    assert {s.name for s in lab.fabric.switches} <= texts and "down" in texts
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
