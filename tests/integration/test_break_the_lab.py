"""Proof the probes can fail: break a running lab on purpose, and `check` must fail and name exactly
what broke (the pairs, or the attack)."""
from overlaylab.system import run
from overlaylab.verify.check import Report, run_checks
from tests.integration.conftest import lab_of
from topologies.scenario import BUNDLED

PROTOS = ("icmp", "udp", "tcp")


def vm(lab, label):
    return next(v for v in lab.scenario.vms if v.label == label)


def ofctl(lab, action, *args):
    run("ovs-ofctl", "-O", "OpenFlow13", action, lab.nodes.targets["p0e0h0/br-int"], *args)


def broken_check(breakage):
    """Bring the lecture lab up, break it, run every check; the failed checks and failed items."""
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        breakage(lab)
        report = Report()
        run_checks(lab, report)
    failed = {c.name for c in report.checks if not c.ok}
    pairs = sorted((p["src"], p["dst"], p["proto"]) for p in report.pairs if not p["ok"])
    attacks = sorted(a["name"] for a in report.attacks if not a["ok"])
    return report, failed, pairs, attacks


def test_a_missing_decapsulation_flow_fails_exactly_its_pairs():
    def remove_decap(lab):
        web = vm(lab, "coke/web")
        ofctl(lab, "del-flows", "--strict", f"table=3,priority=100,metadata={web.vni},dl_dst={web.mac}")
    report, failed, pairs, attacks = broken_check(remove_decap)
    assert not report.ok
    assert failed == {"virtual switch tables", "tenant delivery and isolation"}
    assert next(c.detail for c in report.checks if c.name == "virtual switch tables") == \
        "p0e0h0/br-int: 1 flows missing, 0 unexpected, 0 group lines differ"
    assert pairs == [("coke/db", "coke/web", proto) for proto in sorted(PROTOS)]
    assert attacks == []


def test_a_flow_leaking_one_tenant_into_another_fails_exactly_the_leaking_pairs():
    def leak(lab):
        pepsi, coke = vm(lab, "pepsi/web"), vm(lab, "coke/web")
        ofctl(lab, "add-flow", f"table=2,priority=200,metadata={pepsi.vni},dl_dst={coke.mac},actions=output:2")
    report, failed, pairs, attacks = broken_check(leak)
    assert failed == {"virtual switch tables", "tenant delivery and isolation"}
    assert pairs == [("pepsi/web", "coke/web", proto) for proto in sorted(PROTOS)]
    leaked = [p for p in report.pairs if not p["ok"]]
    assert all(p["expected"] == "isolate" and p["observed"] == "deliver" for p in leaked)


def test_disabled_port_security_fails_exactly_the_spoofing_attacks():
    def open_port(lab):
        web = vm(lab, "pepsi/web")
        ofctl(lab, "del-flows", "table=0,in_port=1")
        ofctl(lab, "add-flow", f"table=0,priority=100,in_port=1,ip,actions=write_metadata:{web.vni:#x},goto_table:2")
        ofctl(lab, "add-flow", f"table=0,priority=100,in_port=1,arp,actions=write_metadata:{web.vni:#x},goto_table:1")
    report, failed, pairs, attacks = broken_check(open_port)
    # the wire checks see the forged frames too: tunnel frames carrying no known VM's MAC and IP; and the
    # door's meter went with it, so pepsi/web's broadcast storm reaches its peer unbounded
    assert failed == {"virtual switch tables", "attacks", "wire: encapsulation", "broadcast storm bounded"}
    assert "carries a frame from no known VM" in next(c.detail for c in report.checks if c.name == "wire: encapsulation")
    assert pairs == []
    assert attacks == ["IP spoofing", "MAC spoofing"]
    assert all("pepsi/web" in a["detail"] and a["observed"] == "reached pepsi/db"
               for a in report.attacks if not a["ok"])
