"""A lab too large for the machine is refused before anything is built, with its estimated cost."""
import pytest

from overlaylab.errors import LabError
from overlaylab.runtime.capacity import Holder, busy, estimate, require_capacity
from topologies.generate import scale_yaml
from topologies.scenario import BUNDLED, load, parse
from topologies.strictyaml import load as yaml_load


def scale(k, per_server):
    return parse(yaml_load(scale_yaml(k, per_server)), "scale")


def test_the_estimate_grows_with_switches_servers_and_vms():
    small, bare, busy = load(BUNDLED / "lecture.yaml"), load(BUNDLED / "underlay.yaml", k=8), scale(8, 2)
    assert estimate(small).memory_mib < estimate(bare).memory_mib < estimate(busy).memory_mib
    assert estimate(busy).bring_up_s < 60 and estimate(busy).memory_mib < 8 * 1024


def test_k16_with_vms_everywhere_is_refused_on_a_24_gib_machine_with_its_cost():
    with pytest.raises(LabError, match=r"^a k=16 lab with 2048 VMs needs about \d+\.\d GiB and \d+ s to bring up, "
                                       r"but this machine has 22\.0 GiB available; use a smaller k"):
        require_capacity(scale(16, 2), available=22 * 1024)


def test_what_fits_is_accepted():
    assert require_capacity(scale(8, 2), available=22 * 1024).memory_mib > 0
    with pytest.raises(LabError, match="GiB available"):
        require_capacity(scale(8, 2), available=1024)


def test_a_lab_that_does_not_fit_beside_the_running_ones_is_refused_naming_who_holds_the_memory():
    holders = [Holder("alice", 3000, 2900), Holder("bob", 6000, 5800)]
    with pytest.raises(LabError, match=r"^a k=8 lab with 256 VMs needs about \d\.\d GiB and \d+ s to bring up, but "
                                       r"the 2 labs running need 8\.8 GiB \(bob 5\.9 GiB, alice 2\.9 GiB\) of the "
                                       r"\d+\.\d GiB this machine can give labs: stop one \(`overlaylab down NAME`\)"):
        require_capacity(scale(8, 2), holders, available=4 * 1024)
    assert require_capacity(scale(8, 2), holders, available=12 * 1024).memory_mib > 0  # their use counts back in


def test_a_busy_machine_is_noted_and_an_idle_one_is_not():
    assert busy(1.5, 2, 3) is None
    assert busy(4.2, 2, 3) == ("overlaylab: note: this machine is busy (load 4.2 on 2 cores, 3 labs running): "
                               "this lab will come up and answer slower\n")


def test_a_placement_splits_the_estimate_over_its_machines():
    from overlaylab.runtime.capacity import (
        BASE_MIB,
        HERE,
        NODE_MIB,
        SSH_MIB,
        SSHD_MIB,
        VSWITCH_MIB,
        estimate,
        estimate_on,
        probing_mib,
    )
    from topologies.generate import scale_yaml
    from topologies.placement import place
    from topologies.scenario import parse
    from topologies.strictyaml import load as read
    k16 = parse(read(scale_yaml(16, 1)))  # 1,024 servers, 1,024 VMs
    alone, spread = estimate(k16), estimate_on(k16, place(k16.fabric, ["a", "b", "c", "d"]))
    assert len(spread) == 5 and max(spread[h].memory_mib for h in "abcd") < alone.memory_mib / 3
    assert spread["a"].memory_mib == spread["b"].memory_mib == spread["d"].memory_mib  # a quarter of the core each
    shells = 320 + 1024 + 1024 + 20  # switches, servers, VMs, homes (16 pods', a core's per machine): each a shell
    assert spread[HERE].memory_mib == pytest.approx(BASE_MIB + probing_mib(k16) + SSH_MIB * shells)  # the lab's own
    spreading = sum(e.memory_mib for e in spread.values()) - alone.memory_mib
    homes = 3 * (NODE_MIB + VSWITCH_MIB)  # 3 more core homes
    assert spreading == pytest.approx(4 * BASE_MIB + (SSH_MIB + SSHD_MIB) * shells + homes)  # what spreading costs
    assert probing_mib(k16) / 1024 == pytest.approx(5.4, abs=0.1)  # 3 probes per ordered pair of 1,024 VMs


def test_a_spread_lab_is_admitted_by_this_machines_share_and_a_lab_too_big_is_told_of_hosts():
    from overlaylab.runtime.capacity import HERE, estimate_on, require_capacity, share_here
    from topologies.generate import scale_yaml
    from topologies.placement import place
    from topologies.scenario import parse
    from topologies.strictyaml import load as read
    k16 = parse(read(scale_yaml(16, 1)))
    placement = place(k16.fabric, ["a", "b", "c", "d"])
    mine, all_here = share_here(k16, placement, False), share_here(k16, placement, True)
    assert mine == estimate_on(k16, placement)[HERE] and all_here.memory_mib > 3 * mine.memory_mib
    assert require_capacity(k16, available=mine.memory_mib * 2, cost=mine) == mine  # real machines: fits here
    with pytest.raises(LabError, match=r"or spread it over machines with --hosts A,B,\.\.\. \(docs/cluster\.md\)$"):
        require_capacity(k16, available=mine.memory_mib * 2)
