"""Words a user types and the soak's own choices: refused in one line, or right."""
import pytest

from overlaylab.faces.cliwords import tenant_add_args
from overlaylab.measure.soak import free_address, least_used, worries
from topologies.changes import vm_named
from topologies.scenario import BUNDLED, load


@pytest.mark.parametrize("words", [["x", "--vni", "²"], ["x", "--vni", "-1"], ["x", "--vni"], ["x", "--encap", "gre"]])
def test_a_tenant_add_that_is_not_one_is_refused_not_crashed(words):
    assert tenant_add_args(words) is None


def test_a_tenant_add_reads_its_vni_and_encapsulation():
    assert tenant_add_args(["sprite", "--vni", "7", "--encap", "gre"]) == ("sprite", 7, "gre", "l2")
    assert tenant_add_args(["acme", "--vni", "8", "--routing", "distributed"]) == ("acme", 8, "vxlan", "distributed")


def test_the_soaks_new_vm_takes_an_address_no_member_of_its_tenant_has():
    lab = load()
    taken = {str(v.ip.ip) for v in lab.vms if v.tenant == "pepsi"}
    address = free_address(lab, vm_named(lab, "pepsi/web"))
    assert address.split("/")[0] not in taken and address.endswith("/24")


@pytest.mark.parametrize("name,expected", [("lecture.yaml", 0), ("scale.yaml", 2)])
def test_the_soak_moves_a_vm_to_another_pods_least_used_server(name, expected):
    """At k=4 one with no VM; at k=8 with 256 VMs every server has 2 (the soak once chose none there)."""
    lab = load(BUNDLED / name)
    vm = next(v for v in lab.vms if not v.bare_metal)
    away = lab.fabric.server(least_used(lab, vm))
    assert away.pod != vm.server.pod and sum(v.server == away for v in lab.vms) == expected


def test_the_soak_quotes_what_the_controller_worried_about(tmp_path):
    log = tmp_path / "controller.log"
    log.write_text("12:00 OverlayLabController: p0e0 (dpid 1): +20 -0 flows, 1 group changes\n"
                   "12:00 OverlayLabController: starting without the ports of 1 underlay switches after 10 s: p2a1\n")
    assert worries(log) == ["12:00 OverlayLabController: starting without the ports of 1 underlay switches after "
                            "10 s: p2a1"]
    assert worries(tmp_path / "none.log") == []
