"""The management network: how each server's virtual switch reaches the controller.

The only thing the lab puts in the root namespace besides the underlay's switch ports: a Linux bridge
holding the controller's address, and one veth per virtualized server. Its addresses come from
198.18.0.0/15, reserved for network benchmarking (RFC 2544), so they are never anyone's real network.
"""
from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface

from overlaylab.runtime import links
from overlaylab.system import silence_ipv6
from topologies.names import MGMT_BRIDGE, MGMT_SERVER_SIDE

CONTROLLER = IPv4Interface("198.18.0.1/16")


def server_address(index: int) -> IPv4Interface:
    """The management address of the index-th server of the fabric."""
    return IPv4Interface(f"{CONTROLLER.ip + 16 + index}/{CONTROLLER.network.prefixlen}")


def pod_address(pod: int) -> IPv4Interface:
    """The management address of a pod's Open vSwitch (the top of the range; servers count up from the bottom)."""
    return IPv4Interface(f"{CONTROLLER.network.broadcast_address - 1 - pod}/{CONTROLLER.network.prefixlen}")


def pod_end(pod: int) -> str:
    """The root namespace's end of a pod's management veth."""
    return f"olp{pod}"


def controller_ip() -> IPv4Address:
    return CONTROLLER.ip


def create() -> None:
    links.create_bridge(MGMT_BRIDGE, CONTROLLER)
    silence_ipv6([MGMT_BRIDGE])


def exists() -> bool:
    return links.exists(MGMT_BRIDGE)


def attach(servers: dict[str, int]) -> None:
    """Cable each server (or pod) to the bridge: {root end (`olm<index>`): a shell pid in its namespace};
    the far end is mgmt0."""
    links.cable(servers, MGMT_SERVER_SIDE, MGMT_BRIDGE)
    silence_ipv6(list(servers))
