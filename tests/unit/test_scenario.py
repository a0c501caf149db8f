"""Scenario files: valid ones load as dataclasses, each kind of mistake is one precise line."""
import textwrap
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface

import pytest
import yaml

from topologies.encap import Encap
from topologies.fattree import FatTree
from topologies.scenario import (
    BUNDLED,
    DEFAULT_SCENARIO,
    ScenarioError,
    bind,
    carried_ports,
    derived_mac,
    document,
    load,
    parse,
    ports_of,
)

GOOD = """
fabric: {type: fattree, k: 4}
tenants:
  pepsi:
    vni: 5001
    encap: vxlan
    vms:
      web: {ip: 192.0.2.2/24, server: p0e0h0}
      db:  {ip: 192.0.2.3/24, server: p2e1h1}
  coke:
    vni: 5002
    encap: geneve
    vms:
      web: {ip: 192.0.2.2/24, server: p1e0h0, mac: "02:aa:00:00:00:01"}
"""


def write(tmp_path, text, name="s.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path, text, k=None):
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load(path, k)
    message = str(caught.value)
    assert message.startswith(f"{path}:") and "\n" not in message
    return message


def test_good_scenario_loads(tmp_path):
    s = load(write(tmp_path, GOOD))
    assert s.fabric.k == 4 and [t.name for t in s.tenants] == ["pepsi", "coke"]
    pepsi, coke = s.tenants
    assert (pepsi.vni, pepsi.encap, coke.encap) == (5001, Encap.VXLAN, Encap.GENEVE)
    assert [vm.label for vm in s.vms] == ["pepsi/web", "pepsi/db", "coke/web"]
    assert pepsi.vms[0].ip == coke.vms[0].ip == IPv4Interface("192.0.2.2/24")  # overlapping: allowed
    assert pepsi.vms[0].mac == "02:00:13:89:02:02" == derived_mac(5001, pepsi.vms[0].ip.ip)
    assert coke.vms[0].mac == "02:aa:00:00:00:01"


@pytest.mark.parametrize("vni", [2560, 2600, 2815])
def test_a_derived_mac_never_spells_a_servers(vni):
    """VNI 2560..2815 is 00:0a:xx: with 02 in front, VM 172.16.0.2 of VNI 2560 would be p0e0h0's MAC."""
    mac = derived_mac(vni, IPv4Address("172.16.0.2"))
    assert mac == f"06:00:0a:{vni & 0xff:02x}:00:02" and mac != FatTree(4).servers[0].mac


def test_k_override_and_default(tmp_path):
    assert load(write(tmp_path, "fabric: {k: 4}\n"), k=6).fabric.k == 6
    default = load()
    assert default.source == DEFAULT_SCENARIO.name == "lecture.yaml"
    assert [t.name for t in default.tenants] == ["pepsi", "coke"] and default.fabric.k == 4
    assert load(write(tmp_path, "{}\n")).fabric.k == 4


ERRORS = {
    "unknown top-level key": ("tenant: {}\n", "tenant: unknown key; allowed here: description, fabric, tenants"),
    "top level is a list": ("- 1\n", "expected a mapping"),
    "unknown fabric key": ("fabric: {k: 4, size: 3}\n", "fabric.size: unknown key"),
    "unknown fabric type": ("fabric: {type: torus}\n", "fabric.type: unknown fabric type 'torus'; use fattree"),
    "odd k": ("fabric: {k: 3}\n", "fabric.k: k=3 is not an even number"),
    "too small k": ("fabric: {k: 0}\n", "fabric.k: k=0 is not an even number >= 2"),
    "too large k": ("fabric: {k: 18}\n", "fabric.k: k=18 would build 1458 servers"),
    "k not a number": ("fabric: {k: four}\n", "fabric.k: k must be a whole number"),
    "unknown tenant key": ("tenants: {a: {vni: 1, vlan: 3}}\n", "tenants.a.vlan: unknown key"),
    "bad tenant name": ("tenants: {'pep si': {vni: 1}}\n", "tenants.'pep si': 'pep si' is not a valid tenant name"),
    "tenant name with a slash": ("tenants: {'a/b': {vni: 1}}\n", "not a valid tenant name"),
    "missing vni": ("tenants: {a: {encap: gre}}\n", "tenants.a.vni: missing: every tenant needs a virtual network ID of its own, a whole number in 1..16777215"),
    "vni zero": ("tenants: {a: {vni: 0}}\n", "tenants.a.vni: 0 is out of range"),
    "vni too big": ("tenants: {a: {vni: 16777216}}\n", "tenants.a.vni: 16777216 is out of range"),
    "vni reused": ("tenants: {a: {vni: 7}, b: {vni: 7}}\n", "tenants.b.vni: 7 is already the VNI of tenant a"),
    "unknown encapsulation": ("tenants: {a: {vni: 1, encap: mpls}}\n",
                              "tenants.a.encap: unknown encapsulation 'mpls'; use vxlan, geneve, gre"),
    "unknown VM key": ("tenants: {a: {vni: 1, vms: {w: {ip: 10.0.0.2/24, server: p0e0h0, cpu: 2}}}}\n",
                       "tenants.a.vms.w.cpu: unknown key; allowed here: ip, ip6, server, mac, vtep"),
    "bad VM name": ("tenants: {a: {vni: 1, vms: {-w: {ip: 10.0.0.2/24, server: p0e0h0}}}}\n",
                    "tenants.a.vms.'-w': '-w' is not a valid VM name"),
    "IP without prefix": ("tenants: {a: {vni: 1, vms: {w: {ip: 10.0.0.2, server: p0e0h0}}}}\n",
                          "tenants.a.vms.w.ip: '10.0.0.2' is not an address with a prefix; write it like 192.0.2.2/24"),
    "malformed IP": ("tenants: {a: {vni: 1, vms: {w: {ip: 10.0.0.300/24, server: p0e0h0}}}}\n",
                     "tenants.a.vms.w.ip: '10.0.0.300/24' is not a valid IPv4 address/prefix"),
    "network address": ("tenants: {a: {vni: 1, vms: {w: {ip: 10.0.0.0/24, server: p0e0h0}}}}\n",
                        "is the subnet's network or broadcast address"),
    "duplicate IP in a tenant": ("tenants: {a: {vni: 1, vms: {w: {ip: 10.0.0.2/24, server: p0e0h0}, "
                                 "v: {ip: 10.0.0.2/24, server: p0e0h1}}}}\n",
                                 "tenants.a.vms.v.ip: 10.0.0.2 is already w's address in this tenant"),
    "two subnets in a tenant": ("tenants: {a: {vni: 1, vms: {w: {ip: 10.0.0.2/24, server: p0e0h0}, "
                                "v: {ip: 10.0.1.2/24, server: p0e0h1}}}}\n",
                                "tenants.a.vms.v.ip: 10.0.1.2/24 is outside the tenant's subnet 10.0.0.0/24"),
    "unknown server": ("tenants: {a: {vni: 1, vms: {w: {ip: 10.0.0.2/24, server: p9e0h0}}}}\n",
                       "tenants.a.vms.w.server: no server 'p9e0h0' in a k=4 fat-tree; use one of p0e0h0 .. p3e1h1"),
    "missing server": ("tenants: {a: {vni: 1, vms: {w: {ip: 10.0.0.2/24}}}}\n", "tenants.a.vms.w.server: no server None"),
    "multicast MAC": ("tenants: {a: {vni: 1, vms: {w: {ip: 10.0.0.2/24, server: p0e0h0, mac: '01:00:00:00:00:01'}}}}\n",
                      "tenants.a.vms.w.mac: '01:00:00:00:00:01' is not a unicast MAC"),
    "malformed MAC": ("tenants: {a: {vni: 1, vms: {w: {ip: 10.0.0.2/24, server: p0e0h0, mac: 'zz'}}}}\n",
                      "tenants.a.vms.w.mac: 'zz' is not a unicast MAC"),
    "duplicate MAC in a tenant": ("tenants: {a: {vni: 1, vms: {w: {ip: 10.0.0.2/24, server: p0e0h0, mac: '02:00:00:00:00:01'}, "
                                  "v: {ip: 10.0.0.3/24, server: p0e0h1, mac: '02:00:00:00:00:01'}}}}\n",
                                  "tenants.a.vms.v.mac: 02:00:00:00:00:01 is already w's MAC in this tenant"),
    "unknown VTEP": ("tenants: {a: {vni: 1, vms: {w: {ip: 10.0.0.2/24, server: p0e0h0, vtep: dpdk}}}}\n",
                     "tenants.a.vms.w.vtep: unknown VTEP 'dpdk'; use kernel"),
    "kernel VTEP on GENEVE": ("tenants: {a: {vni: 1, encap: geneve, vms: {w: {ip: 10.0.0.2/24, server: p0e0h0, vtep: kernel}}}}\n",
                              "tenants.a.encap: geneve cannot reach a `vtep: kernel` member; kernel VTEPs speak VXLAN only"),
    "bare-metal server hosting a VM": ("tenants: {a: {vni: 1, vms: {w: {ip: 10.0.0.2/24, server: p0e0h0, vtep: kernel}}}, "
                                       "b: {vni: 2, vms: {x: {ip: 10.0.0.2/24, server: p0e0h0}}}}\n",
                                       "tenants.a.vms.w.server: p0e0h0 is bare metal (vtep: kernel) but also hosts b/x"),
    "duplicate VM name": ("tenants:\n  a:\n    vni: 1\n    vms:\n      w: {ip: 10.0.0.2/24, server: p0e0h0}\n"
                          "      w: {ip: 10.0.0.3/24, server: p0e0h1}\n",
                          ":6:7: duplicate key 'w'; every tenant and VM name must be unique"),
    "duplicate tenant name": ("tenants:\n  a: {vni: 1}\n  a: {vni: 2}\n", ":3:3: duplicate key 'a'"),
    "YAML syntax": ("tenants: {a: [\n", "not valid YAML"),
}


@pytest.mark.parametrize("text,expected", ERRORS.values(), ids=ERRORS.keys())
def test_each_mistake_is_one_precise_line(tmp_path, text, expected):
    assert expected in error_of(tmp_path, text)


def test_bad_k_on_the_command_line_names_the_flag(tmp_path):
    assert "--k: k=5 is not an even number" in error_of(tmp_path, "fabric: {k: 4}\n", k=5)


def test_missing_file_lists_the_bundled_scenarios(tmp_path):
    with pytest.raises(ScenarioError, match=r"nope.yaml: cannot read it \(No such file or directory\); "
                                            r"bundled scenarios: .*underlay.yaml"):
        load(tmp_path / "nope.yaml")


def test_a_server_takes_at_most_99_vms(tmp_path):
    vms = ", ".join(f"w{i}: {{ip: 10.0.{i // 200}.{i % 200 + 2}/16, server: p0e0h0}}" for i in range(100))
    assert "tenants.a.vms.w99.server: p0e0h0 already hosts 99 VMs" in error_of(tmp_path, f"tenants: {{a: {{vni: 1, vms: {{{vms}}}}}}}\n")


def test_k_changes_which_servers_exist(tmp_path):
    text = "tenants: {a: {vni: 1, vms: {w: {ip: 10.0.0.2/24, server: p5e2h2}}}}\n"
    assert load(write(tmp_path, text), k=6).vms[0].server.name == "p5e2h2"
    assert "no server 'p5e2h2' in a k=4 fat-tree" in error_of(tmp_path, text)


@pytest.mark.parametrize("name", ["lecture.yaml", "datacenter.yaml", "scale.yaml", "underlay.yaml"])
def test_a_scenario_written_out_reads_back_the_same(name, tmp_path):
    scenario = load(BUNDLED / name)
    again = tmp_path / "saved.yaml"
    again.write_text(yaml.safe_dump(document(scenario), sort_keys=False))
    assert replace(load(again), source=scenario.source, path=None) == replace(scenario, path=None)


def test_vms_take_their_servers_ports_in_order_and_a_running_lab_can_rebind_them():
    lecture = load()
    assert ports_of(lecture) == {"pepsi/web": 1, "pepsi/db": 1, "coke/web": 2, "coke/db": 1}
    moved = bind(lecture, {**ports_of(lecture), "pepsi/web": 7})
    assert ports_of(moved)["pepsi/web"] == 7 and ports_of(moved)["coke/web"] == 2
    with pytest.raises(ScenarioError, match=r"lecture.yaml: ports.coke/web: port 2 of p0e0h0 is already pepsi/web's; give each VM its own"):
        bind(lecture, {**ports_of(lecture), "pepsi/web": 2})
    with pytest.raises(ScenarioError, match=r"ports.coke/db: None is not a VM port; use 1..99"):
        bind(lecture, {k: v for k, v in ports_of(lecture).items() if k != "coke/db"})


def test_a_changed_lab_keeps_the_ports_of_vms_that_stay_and_fills_the_lowest_free_one():
    lecture = load()
    doc = document(lecture)
    del doc["tenants"]["pepsi"]["vms"]["web"]  # frees p0e0h0's port 1
    doc["tenants"]["coke"]["vms"]["db"]["server"] = "p0e0h0"  # moves in: takes it
    doc["tenants"]["coke"]["vms"]["api"] = {"ip": "192.0.2.9/24", "server": "p0e0h0"}  # then port 3
    ports = carried_ports(lecture, parse(doc, "changed"))
    assert ports == {"pepsi/db": 1, "coke/web": 2, "coke/db": 1, "coke/api": 3}
