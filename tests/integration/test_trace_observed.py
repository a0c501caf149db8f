"""`trace` predicted and observed: for every ordered VM pair of the lecture scenario, the packet really
sent is seen on exactly the cables of one predicted path, carrying its tenant's VNI, and arrives exactly
where the prediction says (a pair across tenants: on no cable, nowhere)."""
from controller.trace import trace_vm, vm_packet
from overlaylab.verify.observe import describe, observe, taken
from probes import fastparse
from tests.integration.conftest import lab_of
from topologies.scenario import BUNDLED


def test_prediction_and_observation_agree_for_every_vm_pair_of_the_lecture():
    with lab_of(BUNDLED / "lecture.yaml") as lab:
        vms = lab.scenario.vms
        pairs = [(a, b) for a in vms for b in vms if a is not b]
        assert len(pairs) == 20
        for number, (a, b) in enumerate(pairs):
            proto = ("udp", "tcp", "icmp")[number % 3]
            paths = trace_vm(lab.scenario, lab.compiled, a, vm_packet(a, b))
            seen = observe(lab, a, b, proto, paths)
            index = taken(paths, a, b, seen, lab.scenario.fabric)
            assert index is not None, describe(paths, seen, index, proto, a, b)
            assert seen.delivered == (a.tenant == b.tenant)
            if a.tenant != b.tenant:
                assert seen.sightings == ()
            else:
                assert all(fastparse.dissect(s.frame).vni == a.vni for s in seen.sightings)
                assert len(seen.sightings) == (2 if a.server.rack == b.server.rack else 6)
