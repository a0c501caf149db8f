"""The Python API does what the lab CLI does, on a real lab, and returns values a script can use."""
import pytest

from overlaylab import Lab
from overlaylab.errors import LabError
from probes.pcap import MAGIC
from topologies.scenario import BUNDLED, ScenarioError


def test_every_verb_of_the_lab_cli_is_a_method_that_returns_values(clean_machine, tmp_path):
    with Lab(BUNDLED / "lecture.yaml") as lab:
        traced = lab.trace("coke/web", "coke/db")
        assert len(traced.paths) == 4 and traced.observed.delivered and traced.taken is not None
        assert lab.trace("p0e0h0", "p3e1h1").observed is None  # between servers: predicted only

        flows = lab.tables("p0e0")
        assert set(flows.flows) == {"door", "ARP responder", "underlay route", "ECMP", "drop"}
        assert all(f["packets"] is not None for group in flows.flows.values() for f in group)
        assert flows.held.count("priority=") >= sum(map(len, flows.flows.values()))

        frames = lab.wire("p0e0-eth1", lambda: lab.node("coke/web").cmd("ping -c2 -W1 192.0.2.3"),
                          pcap=tmp_path / "web.pcap")
        assert len(frames) >= 4  # two requests out, two replies back, in GENEVE
        assert int.from_bytes((tmp_path / "web.pcap").read_bytes()[:4], "little") == MAGIC

        cut = lab.fail("link", "p0a0", "c0")
        assert cut["changes"]["underlay"] > 0 and cut["changes"]["vswitches"] == 0
        drawn = lab.draw(tmp_path / "fabric.svg", "coke/web", "coke/db")
        assert drawn.file.read_text().startswith("<?xml") and len(drawn.paths) == 3  # c0 is cut off
        assert lab.restore("link", "p0a0", "c0")["changes"]["underlay"] > 0

        assert lab.fail("vswitch", "p3e1h1")["event"] == "vswitch p3e1h1 down"
        assert lab.restore("vswitch", "p3e1h1")["changes"]["vswitches"] >= 0
        with pytest.raises(LabError, match="no failure 'router'"):
            lab.fail("router", "r1")
        assert lab.check().ok


def test_the_changes_of_the_lab_cli_are_methods_too_and_all_or_nothing(clean_machine, tmp_path):
    with Lab(BUNDLED / "lecture.yaml") as lab:
        assert {vm.label for vm in lab.vms} >= {"pepsi/web", "coke/web"} and len(lab.servers) == 16
        moved = lab.migrate("pepsi/web", "p3e1h0")
        assert moved["changes"]["underlay"] == 0 and moved["stream"]["lost"] < moved["stream"]["sent"]
        assert lab.node("pepsi/web").cmd("ping -c1 -W2 192.0.2.3").count(" 0% packet loss") == 1

        added = lab.add_vm("pepsi/api", "192.0.2.9/24", "p1e1h1")
        assert added["changes"]["underlay"] == 0 and added["changes"]["vswitches"] > 0
        assert "pepsi/api" in lab.words.vms and lab.node("pepsi/api").cmd("ip -4 -o addr").count("192.0.2.9/24")
        assert lab.add_tenant("fanta", 7001, "gre")["changes"]["underlay"] == 0
        with pytest.raises(ScenarioError, match="7001 is already the VNI of tenant fanta"):
            lab.add_tenant("sprite", 7001)
        assert lab.remove("pepsi/api")["changes"]["vswitches"] > 0 and "pepsi/api" not in lab.words.vms
        assert lab.remove("fanta")["changes"]["underlay"] == 0
        assert {t.name for t in lab.scenario.tenants} == {"pepsi", "coke"}

        saved = lab.save(tmp_path / "now.yaml")
        assert "p3e1h0" in saved.read_text()
        with pytest.raises(LabError, match="cannot save to"):
            lab.save(tmp_path / "no" / "such" / "dir.yaml")
        with pytest.raises(LabError, match="no VM, server or switch named 'pepsi/nope'"):
            lab.node("pepsi/nope")
        assert lab.check().ok
    with pytest.raises(LabError, match="the lab is not running"):
        lab.check()
