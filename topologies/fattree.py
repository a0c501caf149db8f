"""A k-ary fat-tree: the underlay's shape, names, ports, DPIDs and hierarchical addresses.

Everything here is pure and deterministic, so the controller, the lab and the tests all derive the
same fabric from one number. It imports nothing but the standard library; its Mininet graph is
topologies.mininet_topo.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from ipaddress import IPv4Address, IPv4Network

MIN_K, MAX_K = 2, 16
UNDERLAY_NET = IPv4Network("10.0.0.0/8")
EDGE, AGG, CORE = "edge", "agg", "core"
_ROLE_CODE = {CORE: 1, AGG: 2, EDGE: 3}


def k_problem(k: object) -> str | None:
    """Why k cannot shape a fat-tree (with the fix), or None when it can."""
    if isinstance(k, bool) or not isinstance(k, int):
        given = repr(k)[:60] if isinstance(k, (str, float)) else f"a {type(k).__name__}"
        return f"k must be a whole number, not {given}; use an even number such as 4"
    shown = k if abs(k) < 10 ** 6 else "so large a number"
    if k < MIN_K or k % 2:
        return f"k={shown} is not an even number >= {MIN_K}; use an even number from {MIN_K} to {MAX_K}, such as 4 or 8"
    if k > MAX_K:
        size = f"would build {k ** 3 // 4} servers" if k < 10 ** 6 else "is far too large"
        return f"k={shown} {size}; the model goes up to k={MAX_K} ({MAX_K ** 3 // 4} servers)"
    return None


def mac_of(ip: IPv4Address) -> str:
    """A locally administered MAC that spells the address it belongs to (02:00 + the IP's bytes)."""
    return "02:00:" + ":".join(f"{b:02x}" for b in ip.packed)


@dataclass(frozen=True)
class Server:
    """A physical server: a Mininet host in rack (pod, edge), slot `host`."""

    pod: int
    edge: int
    host: int

    @property
    def name(self) -> str:
        return f"p{self.pod}e{self.edge}h{self.host}"

    @property
    def ip(self) -> IPv4Address:
        return IPv4Address(f"10.{self.pod}.{self.edge}.{self.host + 2}")

    @property
    def mac(self) -> str:
        return mac_of(self.ip)

    @property
    def rack(self) -> IPv4Network:
        return rack_net(self.pod, self.edge)

    @property
    def gateway(self) -> IPv4Address:
        return gateway_of(self.pod, self.edge)


@dataclass(frozen=True)
class Switch:
    """An underlay switch; `pod` is None for core switches."""

    role: str
    pod: int | None
    index: int

    @property
    def name(self) -> str:
        if self.role == CORE:
            return f"c{self.index}"
        return f"p{self.pod}{'e' if self.role == EDGE else 'a'}{self.index}"

    @property
    def dpid(self) -> int:
        """Readable in hex: 0x3_pp_ii is edge ii of pod pp, 0x2_pp_ii an aggregation, 0x1_00_ii a core."""
        return (_ROLE_CODE[self.role] << 16) | ((self.pod or 0) << 8) | self.index


@dataclass(frozen=True)
class Link:
    """A cable: node `a` port `a_port` to node `b` port `b_port` (servers use port 0, their eth0)."""

    a: str
    a_port: int
    b: str
    b_port: int


def rack_net(pod: int, edge: int) -> IPv4Network:
    return IPv4Network(f"10.{pod}.{edge}.0/24")


def pod_net(pod: int) -> IPv4Network:
    return IPv4Network(f"10.{pod}.0.0/16")


def gateway_of(pod: int, edge: int) -> IPv4Address:
    """The edge switch's router address, the servers' default gateway."""
    return IPv4Address(f"10.{pod}.{edge}.1")


@dataclass(frozen=True)
class FatTree:
    """The k-ary fat-tree of Al-Fares et al.: k pods of k/2 edge and k/2 aggregation switches, (k/2)^2 cores."""

    k: int

    def __post_init__(self) -> None:
        problem = k_problem(self.k)
        if problem:
            raise ValueError(problem)

    @property
    def half(self) -> int:
        return self.k // 2

    @cached_property
    def servers(self) -> tuple[Server, ...]:
        r = range(self.half)
        return tuple(Server(p, e, h) for p in range(self.k) for e in r for h in r)

    @cached_property
    def edges(self) -> tuple[Switch, ...]:
        return tuple(Switch(EDGE, p, e) for p in range(self.k) for e in range(self.half))

    @cached_property
    def aggs(self) -> tuple[Switch, ...]:
        return tuple(Switch(AGG, p, a) for p in range(self.k) for a in range(self.half))

    @cached_property
    def cores(self) -> tuple[Switch, ...]:
        return tuple(Switch(CORE, None, c) for c in range(self.half ** 2))

    @property
    def switches(self) -> tuple[Switch, ...]:
        return self.cores + self.aggs + self.edges

    @cached_property
    def links(self) -> tuple[Link, ...]:
        """Every cable, with the port numbers the controller's flows refer to."""
        h = self.half
        down = [Link(s.name, 0, f"p{s.pod}e{s.edge}", s.host + 1) for s in self.servers]
        pod = [Link(f"p{e.pod}e{e.index}", h + 1 + a, f"p{e.pod}a{a}", e.index + 1)
               for e in self.edges for a in range(h)]
        up = [Link(f"p{a.pod}a{a.index}", h + 1 + i, f"c{a.index * h + i}", (a.pod or 0) + 1)
              for a in self.aggs for i in range(h)]
        return tuple(down + pod + up)

    @cached_property
    def _ports(self) -> dict[tuple[str, int], tuple[str, int]]:
        ends: dict[tuple[str, int], tuple[str, int]] = {}
        for link in self.links:
            ends[(link.a, link.a_port)] = (link.b, link.b_port)
            ends[(link.b, link.b_port)] = (link.a, link.a_port)
        return ends

    def peer(self, node: str, port: int) -> tuple[str, int] | None:
        """What the cable on (node, port) leads to, as (node, port)."""
        return self._ports.get((node, port))

    def server(self, name: str) -> Server | None:
        return self._servers_by_name.get(name)

    def server_named(self, name: str) -> Server:
        """A server the caller knows is there (a name the lab drew itself); KeyError if it is not."""
        return self._servers_by_name[name]

    def switch(self, name: str) -> Switch | None:
        return self._switches_by_name.get(name)

    @cached_property
    def _servers_by_name(self) -> dict[str, Server]:
        return {s.name: s for s in self.servers}

    @cached_property
    def _switches_by_name(self) -> dict[str, Switch]:
        return {s.name: s for s in self.switches}

    def uplinks(self, switch: Switch) -> tuple[int, ...]:
        """Ports that lead towards the core (empty for a core switch)."""
        if switch.role == CORE:
            return ()
        return tuple(range(self.half + 1, self.k + 1))
