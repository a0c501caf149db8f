"""The demo's evidence is real: each step's facts come from the live lab (captured packets, counters that
moved, tables read from the switches), and `overlaylab demo` runs unattended from piped stdin, every
step and then every piped line."""
import io

from scapy.utils import rdpcap

from overlaylab.classroom.walkthrough import STEPS
from overlaylab.faces.demo import walk
from probes.fastparse import dissect
from tests.integration.conftest import lab_of, overlaylab
from topologies.encap import Encap
from topologies.scenario import BUNDLED


def test_every_step_shows_evidence_from_the_live_lab(tmp_path):
    out = io.StringIO()
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        shown = walk(lab, 1, False, tmp_path, out)
    assert len(shown) == len(STEPS) == 12 and all(shown), out.getvalue()
    facts = [s.facts for s in shown]
    assert facts[0]["core_routes"] == 4  # one route per pod
    assert facts[1] == {"pepsi/web": "192.0.2.2/24", "coke/web": "192.0.2.2/24", "server": "10.0.0.2/24"}
    assert {"p0e0h0-eth1", "p0e0h0-eth2", "vxlan0", "geneve0", "gre0"} <= set(facts[2]["ports"])
    assert facts[3]["vm_addresses_in_underlay"] == 0 and "192.0.2.2 is also pepsi/web's" in facts[3]["flat_refused"]
    encapsulation = facts[4]
    assert [bool(encapsulation[stage]) for stage in "1234"] == [True] * 4
    assert dissect(encapsulation["1"][0]).encap is None and dissect(encapsulation["4"][0]).encap is None
    for stage in "23":
        tunnel = dissect(encapsulation[stage][0])
        assert (tunnel.encap, tunnel.vni, str(tunnel.src), str(tunnel.dst)) == (Encap.GENEVE, 5002, "10.0.0.2", "10.3.1.3")
    assert len(rdpcap(str(tmp_path / "encapsulation.pcap"))) == 4
    path, counted = facts[5]["path"], facts[5]["counted"]
    assert facts[5]["routed"]["ttl"] == 63 and facts[5]["routed"]["routed"] >= 1  # the routed tenant's hop
    assert path[0] == "p0e0h0/br-int" and path[-1] == "p3e1h1/br-int" and len(path) == 7
    assert {c.datapath for c in counted} >= set(path)  # every switch on the way counted it
    notes = {c.note for c in counted}
    assert "to coke/db on p3e1h1: geneve VNI 5002 to 10.3.1.3" in notes and "decapsulated for coke/db" in notes
    for asker in ("pepsi/db", "coke/db"):
        assert facts[6][asker]["answered"] and facts[6][asker]["mac"] == facts[6][asker]["owner_mac"]
    assert facts[6]["pepsi/db"]["mac"] != facts[6]["coke/db"]["mac"]
    assert facts[6]["broadcast"] == {"copies": [("10.0.0.3", 5001), ("10.2.0.2", 5001)], "twin_got": 0}  # pepsi's S-1
    assert facts[7] == {"vnis": [("geneve", 5002), ("vxlan", 5001)], "cross_tenant": "arrived nowhere",
                        "same_encapsulation": [("vxlan", 5001), ("vxlan", 5003)]}
    assert facts[8]["layers"] == ["Ethernet", "IP", "UDP", "GENEVE", "Ethernet", "IP", "ICMP"]
    assert facts[9]["outer_ports"] >= 6 and len(facts[9]["cores"]) >= 2
    assert {k: facts[10][k] for k in ("vxlan", "geneve", "gre", "mpls", "ip_in_gre", "ipip")} == {
        "vxlan": True, "geneve": True, "gre": True, "mpls": True, "ip_in_gre": True, "ipip": False}
    assert facts[11]["underlay"] == [0, 0]


def test_the_demo_runs_unattended_from_piped_stdin_then_runs_the_piped_lines(clean_machine, tmp_path):
    done = overlaylab("demo", "--out", str(tmp_path), stdin="vms\npepsi/web ping -c1 -W2 pepsi/db\n", timeout=400)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert all(f"== {n}/12" in done.stdout for n in range(1, 13))
    assert "could not show" not in done.stdout
    assert "coke/web                 5002 geneve  192.0.2.2/24" in done.stdout and " 0% packet loss" in done.stdout
    assert {p.name for p in tmp_path.iterdir()} == {"encapsulation.pcap", "protocols.pcap"}


ANOTHER = """
description: two tenants of other names, one sharing an address with the other on p1e1h0
fabric: {k: 4}
tenants:
  red:  {vni: 70, encap: gre, vms: {a: {ip: 10.9.0.5/24, server: p1e1h0}, b: {ip: 10.9.0.6/24, server: p1e1h1}}}
  blue: {vni: 71, vms: {x: {ip: 10.9.0.5/24, server: p1e1h0}, y: {ip: 10.9.0.7/24, server: p3e0h0}}}
"""


def test_the_demo_shows_its_evidence_on_another_scenario_with_its_roles(tmp_path):
    (tmp_path / "class.yaml").write_text(ANOTHER)
    out = io.StringIO()
    with lab_of(tmp_path / "class.yaml") as lab:
        shown = walk(lab, 1, False, tmp_path, out)
    assert all(shown), out.getvalue()
    facts = [s.facts for s in shown]
    assert facts[1] == {"red/a": "10.9.0.5/24", "blue/x": "10.9.0.5/24", "server": "10.1.1.2/24"}
    assert facts[5]["path"][0] == "p1e1h0/br-int" and facts[5]["path"][-1] == "p3e0h0/br-int"
    assert all(facts[6][asker]["answered"] for asker in ("red/b", "blue/y"))
    assert facts[7]["cross_tenant"] == "arrived nowhere" and facts[11]["underlay"] == [0, 0]
    assert "blue/x p1e1h0 -> p3e1h1" not in out.getvalue() and "red/a p1e1h0 -> p3e1h1" in out.getvalue()


def test_a_scenario_without_the_demos_roles_is_refused_in_one_line_before_anything_is_built(clean_machine):
    done = overlaylab("demo", "--no-pause", "topologies/datacenter.yaml")
    assert done.returncode != 0 and "the demo needs two tenants' VMs with one address on one server" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
