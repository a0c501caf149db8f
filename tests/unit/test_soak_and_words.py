"""Words a user types and the soak's own choices: refused in one line, or right."""
import pytest

from overlaylab.cliwords import tenant_add_args
from overlaylab.soak import free_address
from topologies.changes import vm_named
from topologies.scenario import load


@pytest.mark.parametrize("words", [["x", "--vni", "²"], ["x", "--vni", "-1"], ["x", "--vni"], ["x", "--encap", "gre"]])
def test_a_tenant_add_that_is_not_one_is_refused_not_crashed(words):
    assert tenant_add_args(words) is None


def test_a_tenant_add_reads_its_vni_and_encapsulation():
    assert tenant_add_args(["sprite", "--vni", "7", "--encap", "gre"]) == ("sprite", 7, "gre")


def test_the_soaks_new_vm_takes_an_address_no_member_of_its_tenant_has():
    lab = load()
    taken = {str(v.ip.ip) for v in lab.vms if v.tenant == "pepsi"}
    address = free_address(lab, vm_named(lab, "pepsi/web"))
    assert address.split("/")[0] not in taken and address.endswith("/24")
