"""The fat-tree as a Mininet graph, for the lab and for plain Mininet:
`sudo mn --custom topologies/mininet_topo.py --topo fattree,4`.

The model itself (topologies.fattree) stays pure: the controller and the unit tests never import Mininet.
"""
from __future__ import annotations

import sys
from pathlib import Path

from mininet.topo import Topo

try:
    from topologies.fattree import FatTree
except ImportError:  # run by `mn --custom` with the system Python: the package is this file's parent
    sys.path.insert(0, str(Path(sys._getframe().f_code.co_filename).resolve().parents[1]))
    from topologies.fattree import FatTree


class FatTreeTopo(Topo):
    """The fat-tree's switches, servers and cables; node classes are chosen by whoever builds the network."""

    def build(self, k: int = 4) -> None:  # type: ignore[override]
        self.fabric = FatTree(int(k))
        for switch in self.fabric.switches:
            self.addSwitch(switch.name, dpid=f"{switch.dpid:016x}")
        for server in self.fabric.servers:
            self.addHost(server.name, ip=f"{server.ip}/{server.rack.prefixlen}", mac=server.mac,
                         defaultRoute=f"via {server.gateway}")
        for link in self.fabric.links:
            self.addLink(link.a, link.b, port1=link.a_port, port2=link.b_port)


topos = {"fattree": FatTreeTopo}
