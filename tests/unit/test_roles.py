"""The demo's roles, found in each bundled scenario or refused in one line."""
import pytest

from overlaylab.classroom.roles import roles_of
from topologies.scenario import BUNDLED, ScenarioError, load

HAVE_ROLES = {"lecture.yaml"}
ANOTHER = """
fabric: {k: 6}
tenants:
  red:  {vni: 70, encap: gre, vms: {a: {ip: 10.9.0.5/24, server: p2e1h0}, b: {ip: 10.9.0.6/24, server: p2e1h2}}}
  blue: {vni: 71, vms: {x: {ip: 10.9.0.5/24, server: p2e1h0}, y: {ip: 10.9.0.7/24, server: p5e2h1}}}
"""


def test_the_lectures_roles_are_the_lectures_own():
    roles = roles_of(load(BUNDLED / "lecture.yaml"))
    assert [vm.label for vm in roles.twins] == ["pepsi/web", "coke/web"]
    assert [vm.label for vm in (*roles.rack, *roles.across)] == ["pepsi/web", "pepsi/db", "coke/web", "coke/db"]
    assert roles.away.name == "p3e1h0"  # far, and empty
    assert [s.name for s in roles.servers] == ["p0e0h0", "p0e0h1", "p3e1h1"]


def test_another_scenario_with_other_names_has_them_too(tmp_path):
    (tmp_path / "class.yaml").write_text(ANOTHER)
    roles = roles_of(load(tmp_path / "class.yaml"))
    assert [vm.label for vm in (*roles.rack, *roles.across)] == ["red/a", "red/b", "blue/x", "blue/y"]
    assert roles.away.name == "p5e2h2"


@pytest.mark.parametrize("path", sorted(BUNDLED.glob("*.yaml")), ids=lambda p: p.name)
def test_each_bundled_scenario_has_the_roles_or_is_refused_in_one_line(path):
    scenario = load(path)
    if path.name in HAVE_ROLES:
        roles = roles_of(scenario)
        first, second = roles.twins
        assert first.ip.ip == second.ip.ip and first.server == second.server and first.tenant != second.tenant
        assert roles.rack[1].server.rack == first.server.rack and roles.across[1].server.pod != second.server.pod
    else:
        with pytest.raises(ScenarioError, match=f"{path.name}: the demo needs two tenants' VMs with one address"):
            roles_of(scenario)
