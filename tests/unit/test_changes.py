"""Changes to a running lab's desired state: validated like a scenario file, one line when refused."""
import pytest

from topologies import changes
from topologies.encap import Encap
from topologies.scenario import ScenarioError, load

LECTURE = load()


def labels(scenario):
    return {vm.label: vm.server.name for vm in scenario.vms}


def test_each_change_gives_the_state_a_user_would_write():
    assert labels(changes.migrate(LECTURE, "pepsi/web", "p3e1h0"))["pepsi/web"] == "p3e1h0"
    assert "coke/db" not in labels(changes.remove_vm(LECTURE, "coke/db"))
    added = changes.add_vm(LECTURE, "pepsi/api", "192.0.2.9/24", "p1e1h1")
    assert labels(added)["pepsi/api"] == "p1e1h1" and len(added.vms) == len(LECTURE.vms) + 1
    sprite = changes.add_tenant(LECTURE, "sprite", 7, "gre")
    assert [(t.name, t.vni, t.encap, t.vms) for t in sprite.tenants][-1] == ("sprite", 7, Encap.GRE, ())
    assert {vm.tenant for vm in changes.remove_tenant(LECTURE, "coke").vms} == {"pepsi"}


def test_overlapping_addresses_across_tenants_are_allowed():
    assert changes.add_vm(LECTURE, "coke/legacy", "192.0.2.4/24", "p1e0h0")  # pepsi/legacy has it


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: changes.migrate(s, "pepsi/legacy", "p1e0h0"), "pepsi/legacy is a bare-metal server (vtep: kernel), "
                                                              "not a VM: it cannot move"),
    (lambda s: changes.migrate(s, "pepsi/web", "p2e0h0"), "p2e0h0 is bare metal (not virtualized): no VM can move"),
    (lambda s: changes.migrate(s, "pepsi/web", "p0e0h0"), "pepsi/web is already on p0e0h0; name another server"),
    (lambda s: changes.migrate(s, "pepsi/web", "p9e9h9"), "no server 'p9e9h9' in a k=4 fat-tree"),
    (lambda s: changes.migrate(s, "fanta/web", "p1e0h0"), "no VM 'fanta/web'; name one as tenant/vm"),
    (lambda s: changes.add_vm(s, "pepsi/api", "192.0.2.3/24", "p1e0h0"), "192.0.2.3 is already db's address in "
                                                                         "this tenant"),
    (lambda s: changes.add_vm(s, "pepsi/web", "192.0.2.9/24", "p1e0h0"), "pepsi/web already exists"),
    (lambda s: changes.add_vm(s, "fanta/web", "192.0.2.9/24", "p1e0h0"), "no tenant 'fanta'; add it first"),
    (lambda s: changes.add_vm(s, "pepsi/api", "10.0.0.9/8", "p1e0h0"), "outside the tenant's subnet"),
    (lambda s: changes.add_vm(s, "pepsi/a\nb", "192.0.2.9/24", "p1e0h0"), "is not a valid VM name"),
    (lambda s: changes.add_tenant(s, "sprite", 5001), "5001 is already the VNI of tenant pepsi"),
    (lambda s: changes.add_tenant(s, "sprite", 0), "0 is out of range"),
    (lambda s: changes.add_tenant(s, "sprite", 7, "mpls"), "unknown encapsulation 'mpls'"),
    (lambda s: changes.add_tenant(s, "coke", 7), "tenant 'coke' already exists"),
    (lambda s: changes.remove_tenant(s, "fanta"), "no tenant 'fanta'; use one of pepsi, coke"),
])
def test_a_refused_change_is_one_line_naming_the_problem(change, message):
    with pytest.raises(ScenarioError) as refused:
        change(LECTURE)
    assert message in str(refused.value) and "\n" not in str(refused.value)
