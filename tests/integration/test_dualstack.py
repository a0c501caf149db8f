"""Dual-stack tenants on the real lab (topologies/dualstack.yaml): the VMs' own kernels resolve their IPv6
neighbours and gateway from their virtual switch, a ping between IPv6 subnets comes back with hop limit 63
(routed once each way at the first virtual switch), an IPv6 subnet the tenant lacks is unreachable, Globex
reaches its own copy of Acme's addresses, and all of it holds when a VM moves to an empty server and back
or a dual-stack VM is added, with no underlay flow changed; `check` (IPv6 matrix, neighbour discovery,
NDP spoofing) is green throughout. acme/log has IPv6 only."""
from overlaylab import Lab
from tests.integration.conftest import NAME
from topologies.scenario import BUNDLED


def ping6(lab: Lab, src: str, dst: str) -> str:
    return str(lab.node(src).cmd(f"ping -6 -c2 -W2 {dst}"))


def neighbours(lab: Lab, vm: str) -> str:
    return str(lab.node(vm).cmd("ip -6 neigh show"))


def test_ipv6_beside_ipv4_is_answered_routed_and_isolated_by_the_virtual_switches():
    with Lab(BUNDLED / "dualstack.yaml", name=NAME) as lab:
        assert "default via fd00:a:1::1" in lab.node("acme/web1").cmd("ip -6 route")
        assert "ttl=63" in ping6(lab, "acme/web1", "fd00:a:3::10")  # acme/db, another subnet, another pod
        assert "ttl=64" in ping6(lab, "acme/web1", "fd00:a:1::11")  # acme/web2, its own subnet: switched
        assert " 0 received" in ping6(lab, "acme/web1", "fd00:a:9::9")  # no such subnet in acme
        seen = neighbours(lab, "acme/web1")  # answered by its virtual switch: the gateway a router, one MAC
        assert "fd00:a:1::1 dev" in seen and "lladdr 02:fe:00:1b:bd:01 router" in seen
        assert "lladdr 02:00:1b:bd:01:0b" in seen  # acme/web2's own MAC
        assert "ttl=63" in ping6(lab, "acme/log", "fd00:a:1::10")  # IPv6-only, from another subnet
        assert "inet " not in lab.node("acme/log").cmd("ip -4 addr show scope global")
        assert "ttl=64" in ping6(lab, "globex/web", "fd00:a:1::11")  # globex/app: the same address, its own
        assert "lladdr 02:00:1b:be:01:0b" in neighbours(lab, "globex/web")
        traced = lab.trace("acme/web1", "acme/db", "udp6")  # to the gateway, routed, seen on a predicted path
        assert traced.taken is not None and traced.observed.delivered
        assert all("IPv6" in s.describe("p0e0h0") and "VNI 7101" in s.describe("p0e0h0")
                   for s in traced.observed.sightings)
        report = lab.check()
        assert report.ok, report
        names = {c.name for c in report.checks}
        assert "IPv6 neighbour discovery answered by the virtual switch" in names
        assert {"icmp6", "udp6", "tcp6"} <= {p["proto"] for p in report.pairs or []}
        assert {"NDP spoofing", "IPv6 spoofing"} <= {a["name"] for a in report.attacks}
        for server in ("p2e1h0", "p3e1h1"):  # to an empty server, and back
            moved = lab.migrate("acme/db", server)
            assert moved["changes"]["underlay"] == 0
            assert "ttl=63" in ping6(lab, "acme/web1", "fd00:a:3::10")
        added = lab.add_vm("acme/cache", "172.16.2.20/24", "p2e0h1", ip6="fd00:a:2::20/64")
        assert added["changes"]["underlay"] == 0
        assert "ttl=63" in ping6(lab, "acme/cache", "fd00:a:1::10")  # a new VM gets its IPv6 route too
        assert lab.check().ok
