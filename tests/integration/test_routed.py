"""A routed tenant on the real lab (topologies/routed.yaml): the VMs' own kernels use their default route,
the first virtual switch routes (the reply comes back with TTL 63: one routed hop each way, the underlay's
hops unseen inside the tunnel), a subnet the tenant lacks is unreachable, and all of it holds when a VM
moves to an empty server and back or a new one comes, with no underlay flow changed; `check` is green throughout."""
from overlaylab import Lab
from tests.integration.conftest import NAME
from topologies.scenario import BUNDLED


def ping(lab: Lab, src: str, dst: str) -> str:
    return str(lab.node(src).cmd(f"ping -c2 -W2 {dst}"))


def test_the_first_virtual_switch_routes_between_subnets_wherever_the_vms_go():
    with Lab(BUNDLED / "routed.yaml", name=NAME) as lab:
        assert "default via 172.16.1.1" in lab.node("acme/web1").cmd("ip route")
        assert "ttl=63" in ping(lab, "acme/web1", "172.16.3.10")  # acme/db, another subnet, another pod
        assert "ttl=64" in ping(lab, "acme/web1", "172.16.1.11")  # acme/web2, its own subnet: switched
        assert " 0 received" in ping(lab, "acme/web1", "172.16.9.9")  # no such subnet in acme
        traced = lab.trace("acme/web1", "acme/db")  # sent to the gateway, seen routed on a predicted path
        assert traced.taken is not None and traced.observed.delivered
        assert lab.check().ok
        for server in ("p2e1h0", "p3e1h1"):  # to an empty server, and back
            moved = lab.migrate("acme/db", server)  # its peer's stream is routed to it all the while
            assert moved["changes"]["underlay"] == 0 and moved["stream"]["lost"] < moved["stream"]["sent"]
            assert "ttl=63" in ping(lab, "acme/web1", "172.16.3.10")
        assert lab.add_vm("acme/cache", "172.16.2.20/24", "p2e0h1")["changes"]["underlay"] == 0
        assert "ttl=63" in ping(lab, "acme/cache", "172.16.1.10")  # a new VM gets its default route too
        assert lab.check().ok
