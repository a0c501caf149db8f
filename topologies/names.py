"""Every name and number the lab gives its parts, in one place: interfaces, virtual switches and their
DPIDs, the management network's links, and the plan of a virtual switch's ports. (Underlay switches and
servers name themselves: topologies.fattree's Switch.name, `p0a1`, and Server.name, `p0e0h0`.)"""
from __future__ import annotations

from topologies.fattree import Server

BRIDGE = "br-int"  # a server's virtual switch: its VMs' ports and its tunnels
PHY = "br-phy"  # the server's bridge to its uplink, where its underlay address lives
UPLINK_PORT = 0  # a server's interface 0 is its cable to its edge switch

# br-int's ports: VMs on 1..99, a tunnel per encapsulation on 100..102 (topologies.encap), flat mode's
# patch to br-phy on 103, the classroom's hand-made tunnels (overlaylab.classroom.protocols) on 104 and 105
VM_PORTS = range(1, 100)
TUNNEL_PORTS = {"vxlan": 100, "geneve": 101, "gre": 102}
PATCH = 103
MPLS_PORT, L3_GRE_PORT = 104, 105

MGMT_SERVER_SIDE = "mgmt0"  # a server's (or pod's) end of its management veth
MGMT_BRIDGE = "mgmt"  # the management network's bridge, in the lab's management namespace
MGMT_UPLINK = "ctl"  # that bridge's port towards the controller, in the machine's namespace


def interface(node: str, port: int) -> str:
    """A node's interface, as Mininet names it: `p0e0-eth1`."""
    return f"{node}-eth{port}"


def node_of(name: str) -> str:
    """The node an interface belongs to: `p0e0` for `p0e0-eth1`."""
    return name.rsplit("-eth", 1)[0]


def uplink(server: Server) -> str:
    """The server's end of its cable to its edge switch (`p0e0h0-eth0`)."""
    return interface(server.name, UPLINK_PORT)


def edge_port(server: Server) -> str:
    """The edge switch's end of a server's cable (`p0e0-eth1`): where its wire is tapped."""
    return interface(f"p{server.pod}e{server.edge}", server.host + 1)


def vm_interface(server: Server, port: int) -> str:
    """The server's end of the veth of the VM on br-int port `port` (`p0e0h0-eth2`)."""
    return interface(server.name, port)


def vswitch_dpid(server: Server) -> int:
    """Readable in hex: 0x4_pp_ee_hh is the virtual switch of server p<pp>e<ee>h<hh>."""
    return (4 << 24) | (server.pod << 16) | (server.edge << 8) | server.host


def vswitch_name(server: Server) -> str:
    """How the lab, the controller and the tracer name a server's virtual switch: `p0e0h0/br-int`."""
    return f"{server.name}/{BRIDGE}"


def mgmt_server_end(index: int) -> str:
    """The management namespace's end of the index-th server's management veth (`s12`)."""
    return f"s{index}"


def mgmt_home_end(index: int) -> str:
    """The management namespace's end of the index-th switch home's management veth (`p4`)."""
    return f"p{index}"


def mgmt_end_number(end: str) -> int:
    """A management end (`p4`, `s12`) as a number of its own among the lab's (homes first: at most 64)."""
    return int(end[1:]) + (64 if end.startswith("s") else 0)
