"""Broadcast inside a tenant, on the real lab: one broadcast from a VM whose tenant spans S servers puts
exactly S-1 encapsulated copies on its server's uplink, each to another server of the tenant, with the
tenant's VNI; the replication list follows a migration, a VM added and removed, with no underlay flow change; `trace VM broadcast`
predicts every copy and then sees each take one of its predicted paths to exactly the tenant's VMs."""
from scapy.layers.l2 import Ether

from overlaylab import Lab
from overlaylab.verify.observegroup import describe_group, servers_of
from probes.packets import dissect
from tests.integration.conftest import NAME
from topologies.names import edge_port

BROADCAST_PING = "ping -b -c1 -W1 192.0.2.255"  # the VM's own kernel sends it (to ff:ff:ff:ff:ff:ff)


def copies(lab: Lab, label: str) -> list[tuple[str, int]]:
    """(outer destination, VNI) of each encapsulated broadcast from `label` on its server's uplink."""
    vm = next(v for v in lab.vms if v.label == label)
    frames = lab.wire(edge_port(vm.server), lambda: lab.node(label).cmd(BROADCAST_PING))
    seen = []
    for frame in frames:
        wire = dissect(frame)
        if wire.encap and wire.inner and wire.src == vm.server.ip and Ether(wire.inner.raw).dst == "ff:ff:ff:ff:ff:ff":
            seen.append((str(wire.dst), wire.vni))
    return sorted(seen)


def tenant_servers(lab: Lab, tenant: str, besides: str) -> list[str]:
    return sorted({str(vm.server.ip) for vm in lab.vms if vm.tenant == tenant and vm.server.name != besides})


def test_one_broadcast_puts_one_copy_per_other_server_of_the_tenant_on_the_wire():
    with Lab(name=NAME) as lab:
        # pepsi: web on p0e0h0, db on p0e0h1, legacy (bare metal) on p2e0h0: S = 3
        assert copies(lab, "pepsi/web") == [(ip, 5001) for ip in tenant_servers(lab, "pepsi", "p0e0h0")]
        assert len(copies(lab, "pepsi/web")) == 2
        traced = lab.trace("pepsi/web", "broadcast")
        assert traced.reached == {"pepsi/db", "pepsi/legacy"} and len(traced.each) == 2
        assert {traced.paths[i].delivered_to for i in traced.each} == traced.reached
        said = describe_group(traced.paths, traced.observed, traced.reached, traced.each, "udp",
                              next(v for v in lab.vms if v.label == "pepsi/web"), servers_of(lab.vms))
        assert said.endswith("prediction and observation agree") and "p2e0 -> p2e0h0" in said
        assert lab.trace("coke/web", "multicast", "icmp").reached == {"coke/db"}
        moved = lab.migrate("pepsi/db", "p3e1h0")
        assert moved["changes"]["underlay"] == 0
        assert copies(lab, "pepsi/web") == [(ip, 5001) for ip in tenant_servers(lab, "pepsi", "p0e0h0")]
        assert "10.3.1.2" in dict(copies(lab, "pepsi/web"))  # the list followed pepsi/db to its new server
        added = lab.add_vm("pepsi/cache", "192.0.2.9/24", "p1e0h0")
        assert added["changes"]["underlay"] == 0 and "10.1.0.2" in dict(copies(lab, "pepsi/web"))
        lab.remove("pepsi/cache")
        assert "10.1.0.2" not in dict(copies(lab, "pepsi/web"))
        assert lab.check().ok
