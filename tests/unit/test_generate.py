"""Scenarios at scale are generated, and the bundled one is exactly the generator's output."""
from topologies.encap import Encap
from topologies.generate import scale_yaml
from topologies.scenario import BUNDLED, load


def test_the_bundled_scale_scenario_is_the_generators_output():
    assert (BUNDLED / "scale.yaml").read_text() == scale_yaml(8, 2)


def test_scale_tenants_span_every_pod_and_overlap_in_pairs():
    scenario = load(BUNDLED / "scale.yaml")
    assert len(scenario.vms) == 256 and {len(t.vms) for t in scenario.tenants} == {32}
    for tenant in scenario.tenants:
        assert {vm.server.pod for vm in tenant.vms} == set(range(8))
    subnets = [t.vms[0].ip.network for t in scenario.tenants]
    assert len(set(subnets)) == 4 and {t.encap for t in scenario.tenants} == set(Encap)
