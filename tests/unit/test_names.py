"""The names and numbers of topologies.names: a port of br-int has one use, a name one owner."""
from topologies import names
from topologies.encap import Encap
from topologies.fattree import FatTree


def test_every_br_int_port_has_one_use():
    uses = [*names.VM_PORTS, *names.TUNNEL_PORTS.values(), names.PATCH, names.MPLS_PORT, names.L3_GRE_PORT]
    assert len(uses) == len(set(uses)) and names.UPLINK_PORT not in uses
    assert {e.text: e.ofport for e in Encap} == names.TUNNEL_PORTS


def test_a_servers_names_and_its_cable_agree_with_the_fabric():
    fabric = FatTree(4)
    for server in fabric.servers:
        edge, port = fabric.peer(server.name, names.UPLINK_PORT)
        assert names.edge_port(server) == names.interface(edge, port)
        assert names.node_of(names.uplink(server)) == server.name
    dpids = {names.vswitch_dpid(s) for s in fabric.servers} | {s.dpid for s in fabric.switches}
    assert len(dpids) == len(fabric.servers) + len(fabric.switches)
    assert names.vswitch_name(fabric.servers[0]) == "p0e0h0/br-int"
