"""The OpenFlow vocabulary the compilers speak: flows, groups and actions as plain data.

Compilers (underlay.py, overlay.py) return these; the Ryu-API app renders them into
OpenFlow messages, the lab renders them into `ovs-ofctl` text to compare with what a switch holds,
and the tracer executes them on a packet. One model, three readers, so they cannot disagree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from typing import overload

ETH_IP, ETH_ARP, ETH_IP6 = 0x0800, 0x0806, 0x86DD
ARP_REQUEST, ARP_REPLY = 1, 2
ICMP6 = 58  # ip_proto of ICMPv6, which carries IPv6's neighbour discovery
ND_SOLICIT, ND_ADVERT = 135, 136
IN_PORT = "in_port"  # Output(IN_PORT): send back where it came from
GROUP_BIT = "01:00:00:00:00:00/01:00:00:00:00:00"  # an eth_dst match: broadcast and multicast (the I/G bit)

Prefix = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address
MatchValue = int | str | Prefix
# Field widths in bits, for Move; names follow OpenFlow OXM (and os-ken).
FIELD_BITS = {"eth_src": 48, "eth_dst": 48, "arp_sha": 48, "arp_tha": 48, "ipv6_nd_tll": 48,
              "arp_spa": 32, "arp_tpa": 32, "reg0": 32, "ipv6_src": 128, "ipv6_dst": 128}
IPV4_FIELDS = frozenset({"ipv4_src", "ipv4_dst", "arp_spa", "arp_tpa", "tun_ipv4_src", "tun_ipv4_dst"})
IPV6_FIELDS = frozenset({"ipv6_src", "ipv6_dst", "ipv6_nd_target"})
ADDRESS_FIELDS = IPV4_FIELDS | IPV6_FIELDS
_ETH_NAMES = {ETH_IP: "ip", ETH_ARP: "arp", ETH_IP6: "ipv6"}
_OFCTL_FIELD = {"ipv4_dst": "nw_dst", "ipv4_src": "nw_src", "tunnel_id": "tun_id",
                "tun_ipv4_src": "tun_src", "tun_ipv4_dst": "tun_dst", "ipv6_nd_target": "nd_target",
                "ipv6_nd_tll": "nd_tll"}
_OFCTL_MATCH = {**_OFCTL_FIELD, "icmpv6_type": "icmp_type", "icmpv6_code": "icmp_code"}  # as OVS prints them


@dataclass(frozen=True)
class Output:
    port: int | str


@dataclass(frozen=True)
class Group:
    group_id: int


@dataclass(frozen=True)
class SetField:
    field: str
    value: int | str | Address


@dataclass(frozen=True)
class Move:
    """Copy one header field into another (a Nicira extension; ARP responders need it)."""

    src: str
    dst: str


@dataclass(frozen=True)
class DecTtl:
    pass


@dataclass(frozen=True)
class Foreign:
    """An action the compilers never write, read from a switch (someone's `ovs-ofctl add-flow`): it
    makes its flow differ from every compiled one, so reconciling removes it."""

    text: str


Action = Output | Group | SetField | Move | DecTtl | Foreign


@dataclass(frozen=True)
class Flow:
    """One flow entry: apply `actions`, then write `metadata` and go to table `goto`, if given;
    nothing at all means drop. `note` says why it exists (for tables and traces)."""

    priority: int
    match: tuple[tuple[str, MatchValue], ...]
    actions: tuple[Action, ...] = ()
    table: int = 0
    metadata: int | None = None
    goto: int | None = None
    note: str = field(default="", compare=False)
    purpose: str = field(default="", compare=False)  # controller.purpose's words; "" for a flow read back
    meter: int | None = None  # the meter its packets pass first (the excess is dropped)

    @property
    def fields(self) -> dict[str, MatchValue]:
        return dict(self.match)


@dataclass(frozen=True)
class SelectGroup:
    """An ECMP group: each bucket outputs to one port."""

    group_id: int
    ports: tuple[int, ...]


@dataclass(frozen=True)
class Meter:
    """A rate limit (an OpenFlow meter with one drop band): a flow that names it passes at most `rate`
    packets per second after a burst of `burst`; the rest is dropped."""

    meter_id: int
    rate: int
    burst: int


@dataclass(frozen=True)
class Tables:
    """Everything one datapath should hold."""

    name: str
    dpid: int
    flows: tuple[Flow, ...]
    groups: tuple[SelectGroup, ...] = ()
    meters: tuple[Meter, ...] = ()


@overload
def host(ip: IPv4Address) -> IPv4Network: ...
@overload
def host(ip: IPv6Address) -> IPv6Network: ...
@cache
def host(ip: Address) -> Prefix:
    """The /32 (or /128) of one address (made once: compiling a k=8 lab asks for the same ones thousands of
    times)."""
    return ip_network((ip, ip.max_prefixlen))


def match(**fields: MatchValue) -> tuple[tuple[str, MatchValue], ...]:
    """Build a match; eth_type first, so rendering reads like ovs-ofctl's own output."""
    return tuple(sorted(fields.items(), key=lambda kv: (kv[0] != "eth_type", kv[0])))


def _ofctl_value(value: MatchValue) -> str:
    if isinstance(value, IPv4Network | IPv6Network) and value.prefixlen == value.max_prefixlen:
        return str(value.network_address)
    return str(value)


def ofctl_match(flow: Flow) -> str:
    """The match as ovs-ofctl prints it (`icmp6,icmp_type=135`), so counters read back find their flow."""
    parts = [f"table={flow.table}", f"priority={flow.priority}"]
    fields = flow.fields
    icmp6 = fields.get("eth_type") == ETH_IP6 and fields.get("ip_proto") == ICMP6
    for name, value in flow.match:
        if icmp6 and name in ("eth_type", "ip_proto"):
            parts += ["icmp6"] if name == "eth_type" else []
        elif name == "eth_type" and value in _ETH_NAMES:
            parts.append(_ETH_NAMES[value])  # type: ignore[index]
        else:
            parts.append(f"{_OFCTL_MATCH.get(name, name)}={_ofctl_value(value)}")
    return ",".join(parts)


def ofctl_action(action: Action) -> str:
    if isinstance(action, Output):
        return "IN_PORT" if action.port == IN_PORT else f"output:{action.port}"
    if isinstance(action, Group):
        return f"group:{action.group_id}"
    if isinstance(action, SetField):
        return f"set_field:{action.value}->{_OFCTL_FIELD.get(action.field, action.field)}"
    if isinstance(action, Move):
        return f"move:{_OFCTL_FIELD.get(action.src, action.src)}->{_OFCTL_FIELD.get(action.dst, action.dst)}"
    if isinstance(action, Foreign):
        return action.text
    return "dec_ttl"


def ofctl_flow(flow: Flow) -> str:
    """The flow in `ovs-ofctl add-flow` syntax, so OVS itself can compare it with a switch."""
    parts = [*([f"meter:{flow.meter}"] if flow.meter is not None else []), *map(ofctl_action, flow.actions)]
    if flow.metadata is not None:
        parts.append(f"write_metadata:{flow.metadata:#x}")
    if flow.goto is not None:
        parts.append(f"goto_table:{flow.goto}")
    return f"{ofctl_match(flow)} actions={','.join(parts) or 'drop'}"


def ofctl_group(group: SelectGroup) -> str:
    buckets = "".join(f",bucket=watch_port:{p},actions=output:{p}" for p in group.ports)
    return f"group_id={group.group_id},type=select{buckets}"


def matches(flow: Flow, packet: dict[str, object]) -> bool:
    """Does the packet (header field -> value) match the flow? Prefixes match by containment, a masked
    MAC (`01:00:00:00:00:00/01:00:00:00:00:00`) by its bits."""
    for name, want in flow.match:
        have = packet.get(name)
        if isinstance(want, IPv4Network | IPv6Network):
            if not isinstance(have, IPv4Address | IPv6Address) or have not in want:
                return False
        elif isinstance(want, str) and "/" in want:
            if not isinstance(have, str) or not _masked_equal(have, *want.split("/")):
                return False
        elif have != want:
            return False
    return True


def _masked_equal(mac: str, value: str, mask: str) -> bool:
    bits = [int(m.replace(":", ""), 16) for m in (mac, value, mask)]
    return bits[0] & bits[2] == bits[1] & bits[2]


def lookup(tables: Tables, packet: dict[str, object], table: int = 0) -> Flow | None:
    """The highest-priority flow of `table` that matches, as the switch would pick it."""
    candidates = [f for f in tables.flows if f.table == table and matches(f, packet)]
    return max(candidates, key=lambda f: f.priority, default=None)
