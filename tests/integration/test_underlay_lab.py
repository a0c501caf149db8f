"""A real k=4 fat-tree lab: Mininet + userspace OVS + the os-ken controller, verified and torn down."""
import json
import subprocess

import pytest

from overlaylab.runtime import tables
from overlaylab.runtime.phases import Phases
from overlaylab.runtime.running import running_lab
from overlaylab.system import run
from probes.reach import reachability
from tests.integration.conftest import REPO, leftovers, overlaylab
from topologies.scenario import BUNDLED, load

UNDERLAY = BUNDLED / "underlay.yaml"


def test_k4_lab_routes_every_pair_and_leaves_nothing(clean_machine, tmp_path):
    scenario = load(UNDERLAY, k=4)
    with running_lab(scenario, Phases(open(tmp_path / "progress", "w")), "check") as lab:
        assert tables.mismatches(lab.compiled, lab.nodes.targets) == []
        counts = tables.flow_counts(lab.nodes.targets)
        assert counts == {name: len(t.flows) for name, t in lab.compiled.items()}
        assert max(counts.values()) <= 2 * 4 + 10
        reached = reachability(lab.nodes.stations(lab.scenario.fabric)).pairs
        assert len(reached) == 240 and all(reached.values())
        edge = lab.compiled["p0e0"]
        installed = tables.flow_lines(lab.nodes.targets["p0e0"])
        assert len(installed) == len(edge.flows)
        assert any(line.startswith("table=1, priority=200,ip,nw_dst=10.0.0.2") for line in installed)
        assert any(line.startswith("priority=100,ip,in_port=1,nw_src=10.0.0.2") for line in installed)
        groups = run("ovs-ofctl", "-O", "OpenFlow15", "dump-groups", lab.nodes.targets["p0a1"]).stdout
        assert "selection_method=hash,selection_method_param=131073,fields(ip_src,ip_dst,tcp_src,tcp_dst," \
               "udp_src,udp_dst)" in groups  # basis: the DPID 0x20001, so each switch hashes differently
        assert leftovers() != []  # the lab really is there while it runs
    assert leftovers() == []


def test_a_missing_flow_is_noticed(clean_machine, tmp_path):
    with running_lab(load(UNDERLAY, k=2), Phases(open(tmp_path / "progress", "w")), "check") as lab:
        run("ovs-ofctl", "-O", "OpenFlow13", "del-flows", lab.nodes.targets["p1e0"], "--strict", "table=1,ip,nw_dst=10.1.0.2,priority=200")
        assert tables.mismatches(lab.compiled, lab.nodes.targets) == ["p1e0: 1 flows missing, 0 unexpected, 0 group lines differ"]
        reached = reachability(lab.nodes.stations(lab.scenario.fabric))
        assert reached.pairs == {("p0e0h0", "p1e0h0"): False, ("p1e0h0", "p0e0h0"): True}
        assert reached.outcome.lost == 1 and reached.outcome.resent == 3  # tried 4 times before it is lost


def test_check_command_writes_the_contract_report(clean_machine, tmp_path):
    report = tmp_path / "r.json"
    done = overlaylab("check", str(UNDERLAY), "--k", "2", "--json", str(report))
    assert done.returncode == 0, done.stderr
    data = json.loads(report.read_text())
    assert data["ok"] is True
    assert {c["name"] for c in data["checks"]} == {"servers", "underlay tables", "server reachability", "ECMP spread"}
    assert all(set(c) == {"name", "ok", "status", "detail"} for c in data["checks"])
    assert data["tables"] == {"c0": 3, "p0a0": 4, "p1a0": 4, "p0e0": 8, "p1e0": 8}
    assert set(data["timings"]) >= {"controller", "network", "flows", "teardown"}
    assert data["server_pairs"] == {"total": 2, "reachable": 2, "unreachable": [], "resent": 0}
    assert "PASS  server reachability  2/2 ordered server pairs reachable" in done.stdout


def test_up_runs_piped_commands_then_tears_down(clean_machine):
    done = overlaylab("up", str(UNDERLAY), "--k", "2", stdin="p0e0h0 ping -c1 -W2 p1e0h0\ntrace p0e0h0 p1e0h0\naddresses\n")
    assert done.returncode == 0, done.stderr
    assert "1 received" in done.stdout
    assert "=> delivered to p1e0h0" in done.stdout
    assert "p1e0h0     10.1.0.2" in done.stdout
    assert "tearing the lab down" in done.stderr


@pytest.mark.parametrize("k", [4, 6])
def test_check_proves_every_server_pair_at_k(clean_machine, tmp_path, k):
    report = tmp_path / "r.json"
    done = overlaylab("check", str(UNDERLAY), "--k", str(k), "--json", str(report))
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(report.read_text())
    servers = k ** 3 // 4
    assert data["server_pairs"]["reachable"] == data["server_pairs"]["total"] == servers * (servers - 1)
    assert len(data["tables"]) == 5 * k * k // 4
    assert max(data["tables"].values()) <= 2 * k + 10


def test_fattree_loads_in_plain_mininet(clean_machine):
    """`mn --custom topologies/mininet_topo.py --topo fattree,K` builds the same shape without the lab."""
    done = subprocess.run(["mn", "--custom", "topologies/mininet_topo.py", "--topo", "fattree,2",
                           "--switch", "ovs,datapath=user", "--controller", "none", "--test", "none"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "*** Adding switches:\nc0 p0a0 p0e0 p1a0 p1e0" in done.stderr
    assert "p0e0h0 p1e0h0" in done.stderr
