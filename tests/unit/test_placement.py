"""A lab's placement over machines (pure): every pod whole on one machine, pods and core switches as even as
they go, only aggregation-to-core cables stitched, about (M-1)/M of them; a set of machines it cannot use
refused in one line."""
import pytest

from topologies.fattree import FatTree
from topologies.placement import PlacementError, machine_mtu, place


@pytest.mark.parametrize(("k", "hosts"), [(4, 2), (8, 2), (8, 3), (8, 8), (12, 5)])
def test_pods_stay_whole_and_even_and_only_core_cables_are_stitched(k, hosts):
    fabric = FatTree(k)
    machines = [f"m{i}" for i in range(hosts)]
    placement = place(fabric, machines)
    per_machine = [len(placement.pods_of(m)) for m in machines]
    assert sum(per_machine) == k and max(per_machine) - min(per_machine) <= 1
    cores = [list(placement.cores.values()).count(m) for m in machines]
    assert sum(cores) == k * k // 4 and max(cores) - min(cores) <= 1 and placement.core_machines() == machines
    for link in fabric.links:
        if not (link.a.startswith("c") or link.b.startswith("c")):  # inside a pod: never stitched
            assert placement.machine_of(fabric, link.a) == placement.machine_of(fabric, link.b)
    stitched = placement.stitched(fabric)
    assert all(link.a.startswith("c") or link.b.startswith("c") for link in stitched)
    core_cables = k ** 3 // 4
    assert abs(len(stitched) - core_cables * (hosts - 1) / hosts) <= core_cables / hosts


def test_one_machine_stitches_nothing_and_a_vm_goes_where_its_server_is():
    fabric = FatTree(4)
    assert place(fabric, ["here"]).stitched(fabric) == []
    two = place(fabric, ["a", "b"])
    assert two.pods == ("a", "a", "b", "b") and two.machine_of(fabric, "p3e1h1") == "b"
    assert two.cores == {"c0": "a", "c1": "a", "c2": "b", "c3": "b"} and machine_mtu() == 1550


@pytest.mark.parametrize(("hosts", "problem"), [([], "no machines given"), (["a", "a"], "a is given twice"),
                                                 (list("abcde"), "5 machines for a k=4 fat-tree, which has 4 pods")])
def test_machines_it_cannot_use_are_refused_in_one_line(hosts, problem):
    with pytest.raises(PlacementError, match=problem):
        place(FatTree(4), hosts)
