"""The Python API does what the lab CLI does, on a real lab, and returns values a script can use."""
import pytest

from overlaylab import Lab
from overlaylab.errors import LabError
from probes.pcap import MAGIC
from topologies.scenario import BUNDLED


def test_every_verb_of_the_lab_cli_is_a_method_that_returns_values(clean_machine, tmp_path):
    with Lab(BUNDLED / "lecture.yaml") as lab:
        traced = lab.trace("coke/web", "coke/db")
        assert len(traced.paths) == 4 and traced.observed.delivered and traced.taken is not None
        assert lab.trace("p0e0h0", "p3e1h1").observed is None  # between servers: predicted only

        flows = lab.tables("p0e0")
        assert set(flows) == {"door", "ARP responder", "underlay route", "ECMP", "drop"}
        assert all(f["packets"] is not None for group in flows.values() for f in group)

        frames = lab.wire("p0e0-eth1", lambda: lab.vm("coke/web").cmd("ping -c2 -W1 192.0.2.3"),
                          pcap=tmp_path / "web.pcap")
        assert len(frames) >= 4  # two requests out, two replies back, in GENEVE
        assert int.from_bytes((tmp_path / "web.pcap").read_bytes()[:4], "little") == MAGIC

        cut = lab.link("p0a0", "c0", up=False)
        assert cut["changes"]["underlay"] > 0 and cut["changes"]["vswitches"] == 0
        assert lab.draw(tmp_path / "fabric.svg", "coke/web", "coke/db").read_text().startswith("<?xml")
        assert lab.link("p0a0", "c0", up=True)["changes"]["underlay"] > 0

        assert lab.fail("vswitch", "p3e1h1")["event"] == "vswitch p3e1h1 down"
        assert lab.restore("vswitch", "p3e1h1")["changes"]["vswitches"] >= 0
        with pytest.raises(LabError, match="no failure 'router'"):
            lab.fail("router", "r1")
        assert lab.check().ok
