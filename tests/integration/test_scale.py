"""Verification that stays right as the lab grows: a k=8 fat-tree with 256 VMs checks green, lost
probes are re-sent rather than reported as isolation, and a leak is still caught on its first arrival."""
import json

from overlaylab.system import run
from overlaylab.verify.probing import probe_tenants
from tests.integration.conftest import lab_of, leftovers, overlaylab
from topologies.scenario import BUNDLED


def test_k8_with_two_vms_per_server_checks_green(clean_machine, tmp_path):
    report = tmp_path / "r.json"
    done = overlaylab("check", str(BUNDLED / "scale.yaml"), "--json", str(report), timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    data = json.loads(report.read_text())
    assert data["ok"] and len(data["pairs"]) == 256 * 255 * 3
    assert data["server_pairs"]["reachable"] == data["server_pairs"]["total"] == 128 * 127
    assert len(data["tables"]) == 80 + 128
    assert leftovers() == []


def ofctl(lab, datapath, *args):
    run("ovs-ofctl", "-O", "OpenFlow13", *args[:1], lab.nodes.targets[datapath], *args[1:])


PROBE_FIELD = {"icmp": (1, "NXM_OF_ICMP_TYPE[]"), "udp": (17, "NXM_OF_UDP_DST[]"), "tcp": (6, "NXM_OF_TCP_DST[]")}


def drop_first_probe_of_each_kind(lab, server):
    """On `server`'s virtual switch, the first decapsulated probe per (sender, protocol) to each local
    VM is dropped, and a flow learned from it lets the rest through: a lossy datapath on purpose. (The
    learned key includes the ICMP type or destination port, so a reply never stands in for a probe.)"""
    for vm in (v for v in lab.scenario.vms if v.server.name == server and not v.bare_metal):
        for proto, (number, field) in PROBE_FIELD.items():
            learn = (f"learn(table=3,priority=200,hard_timeout=600,OXM_OF_METADATA[],NXM_OF_ETH_DST[],"
                     f"NXM_OF_ETH_SRC[],eth_type=0x800,nw_proto={number},{field},output:NXM_NX_REG0[])")
            ofctl(lab, f"{server}/br-int", "add-flow",
                  f"table=3,priority=150,{proto},metadata={vm.vni},dl_dst={vm.mac},"
                  f"actions=load:{vm.port}->NXM_NX_REG0[],{learn}")


def test_lost_probes_are_re_sent_and_a_leak_is_caught_on_its_first_arrival():
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        drop_first_probe_of_each_kind(lab, "p0e0h0")
        pepsi, coke = (next(v for v in lab.scenario.vms if v.label == label) for label in ("pepsi/web", "coke/web"))
        ofctl(lab, "p0e0h0/br-int", "add-flow", f"table=2,priority=200,metadata={pepsi.vni},dl_dst={coke.mac},"
                                                f"actions=output:{coke.port}")
        verdicts = probe_tenants(lab)
    wrong = [(p["src"], p["dst"], p["proto"], p["observed"], p["tries"]) for p in verdicts.pairs if not p["ok"]]
    assert wrong == [("pepsi/web", "coke/web", proto, "deliver", 1) for proto in ("icmp", "udp", "tcp")]
    retried = sorted((p["src"], p["dst"], p["proto"]) for p in verdicts.pairs if p["tries"] > 1)
    remote = [("coke/db", "coke/web"), ("pepsi/db", "pepsi/web"), ("pepsi/legacy", "pepsi/web")]
    assert retried == sorted((src, dst, proto) for src, dst in remote for proto in ("icmp", "udp", "tcp"))
    assert all(p["tries"] == 2 for p in verdicts.pairs if p["tries"] > 1)
    assert verdicts.resent >= 9
