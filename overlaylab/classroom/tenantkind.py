"""Exercises where the student edits the scenario itself: a new tenant (`tenant:`), with a virtual network
ID of its own and VMs in two pods, while every tenant that was there stays exactly as it was. The check
loads the file (the loader's own one-line errors), compares the old tenants with the variant's, and
probes every pair of VMs of the lab, the old tenants' too."""
from __future__ import annotations

import yaml

from overlaylab.classroom.catalog import Exercise, Verdict, lab_of, scenario_of
from overlaylab.classroom.variant import Variant
from overlaylab.classroom.verdicts import probed
from topologies import strictyaml
from topologies.scenario import ScenarioError, parse


def start(exercise: Exercise, variant: Variant) -> str:
    return exercise.header(variant) + yaml.safe_dump(variant.scenario, sort_keys=False)


def solution(exercise: Exercise, variant: Variant, _name: str | None) -> str:
    facts = variant.facts
    vni = max(facts["pepsi_vni"], facts["coke_vni"]) + 1
    vms = {"a": {"ip": "192.168.50.2/24", "server": facts["C"]}, "b": {"ip": "192.168.50.3/24", "server": facts["B"]}}
    tenants = {**variant.scenario["tenants"], exercise.spec["tenant"]: {"vni": vni, "encap": "vxlan", "vms": vms}}
    return exercise.header(variant) + yaml.safe_dump({**variant.scenario, "tenants": tenants}, sort_keys=False)


def check(exercise: Exercise, variant: Variant, text: str, name: str | None) -> list[Verdict]:
    new = exercise.spec["tenant"]
    try:
        data = strictyaml.load(text)
        scenario = parse(data, exercise.answer)
    except (ScenarioError, yaml.YAMLError, RecursionError) as exc:
        return [Verdict(False, f"the scenario does not load yet: {str(exc).splitlines()[0]}")]
    given = {t.name: t for t in scenario.tenants}
    changed = [t.name for t in scenario_of(variant).tenants if given.get(t.name) != t]
    if changed:
        which = f"tenants {' and '.join(changed)} are not as the exercise gave them" if len(changed) > 1 \
            else f"tenant {changed[0]} is not as the exercise gave it"
        return [Verdict(False, f"{which}: add {new}, and leave the tenants that were "
                               f"there as they are (`overlaylab exercise reset` brings them back)")]
    tenant = given.get(new)
    if tenant is None or len(tenant.vms) < 2:
        return [Verdict(False, f"tenant {new} needs at least two VMs")]
    pods = len({vm.server.pod for vm in tenant.vms})
    verdicts = [Verdict(pods > 1, f"tenant {new}'s VMs are in {pods} pod(s): "
                                  f"{'its traffic crosses the core' if pods > 1 else 'put one in another pod'}")]
    with lab_of(variant, name, data=data) as lab:
        return verdicts + probed(lab, exercise.spec.get("hints", {}))
