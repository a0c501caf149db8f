"""A lab too large for the machine is refused before anything is built, with its estimated cost."""
import pytest

from overlaylab.errors import LabError
from overlaylab.runtime.capacity import estimate, require_capacity
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
