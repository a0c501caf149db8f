"""A node's cables and addresses without a command forked: the netlink requests as the kernel reads them
(decoded here by pyroute2's own parsers), and the same set-up as shell commands for a node on another machine."""
from __future__ import annotations

import subprocess
from ipaddress import ip_address

from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from vswitch.rtnetlink import HEADER, address_request, default_route_request, link_request, veth_request
from vswitch.wiring import IFA_F_NODAD, Setup, commands

VM = Setup(intf="eth0", mac="02:00:c0:00:02:02", ip="192.0.2.2/24", gateway="192.0.2.1", mtu=1450,
           ip6="fd00:1::2/64", gateway6="fd00:1::1")


def decoded(kind, body: bytes):
    """A request's body as the kernel's layout says, behind a netlink header."""
    msg = kind(HEADER.pack(HEADER.size + len(body), 0, 0, 0, 0) + body)
    msg.decode()
    return msg


def test_a_cable_is_one_request_making_both_ends_in_their_namespaces_the_near_one_up():
    msg = decoded(ifinfmsg, veth_request("p0e0-eth1", 101, "02:00:00:00:00:01", "p0e0h0-eth0", 202, None))
    assert msg.get_attr("IFLA_IFNAME") == "p0e0-eth1" and msg.get_attr("IFLA_NET_NS_PID") == 101
    assert msg.get_attr("IFLA_ADDRESS") == "02:00:00:00:00:01" and msg["flags"] & 1 and msg["change"] & 1
    info = msg.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "veth"
    peer = info.get_attr("IFLA_INFO_DATA").get_attr("VETH_INFO_PEER")
    assert peer.get_attr("IFLA_IFNAME") == "p0e0h0-eth0" and peer.get_attr("IFLA_NET_NS_PID") == 202
    assert peer["flags"] == 0  # the kernel refuses to open a peer before the pair is joined (ENOTCONN)


def test_an_interface_comes_up_with_its_mac_and_mtu_by_name():
    msg = decoded(ifinfmsg, link_request("eth0", "02:00:c0:00:02:02", 1450))
    assert (msg["index"], msg["flags"], msg["change"]) == (0, 1, 1)
    assert (msg.get_attr("IFLA_IFNAME"), msg.get_attr("IFLA_ADDRESS"), msg.get_attr("IFLA_MTU")) == (
        "eth0", "02:00:c0:00:02:02", 1450)
    assert decoded(ifinfmsg, link_request("lo")).get_attr("IFLA_MTU") is None


def test_addresses_and_default_routes_in_both_families():
    v4 = decoded(ifaddrmsg, address_request(7, ip_address("192.0.2.2"), 24, ip_address("192.0.2.255")))
    assert (v4["family"], v4["prefixlen"], v4["index"]) == (2, 24, 7)
    assert (v4.get_attr("IFA_LOCAL"), v4.get_attr("IFA_BROADCAST")) == ("192.0.2.2", "192.0.2.255")
    v6 = decoded(ifaddrmsg, address_request(7, ip_address("fd00:1::2"), 64, flags=IFA_F_NODAD))
    assert (v6["family"], v6["flags"], v6.get_attr("IFA_ADDRESS")) == (10, IFA_F_NODAD, "fd00:1::2")
    route = decoded(rtmsg, default_route_request(7, ip_address("fd00:1::1")))
    assert (route["family"], route["dst_len"], route["table"]) == (10, 0, 254)
    assert (route.get_attr("RTA_GATEWAY"), route.get_attr("RTA_OIF")) == ("fd00:1::1", 7)


def test_ipv6_stays_off_but_on_the_interface_of_a_vm_that_has_an_ipv6_address():
    assert Setup(intf="eth0").sysctls() == [("net/ipv6/conf/all/disable_ipv6", "1"),
                                            ("net/ipv6/conf/default/disable_ipv6", "1")]
    knobs = dict(VM.sysctls()[2:])
    assert knobs["net/ipv6/conf/all/disable_ipv6"] == "0" and knobs["net/ipv6/conf/eth0/accept_dad"] == "0"


def test_a_node_on_another_machine_gets_the_same_set_up_as_one_shell_line():
    line = commands(VM)
    for step in ("ip link set lo up", "ip link set dev eth0 address 02:00:c0:00:02:02 mtu 1450 up",
                 "ip addr replace 192.0.2.2/24 brd + dev eth0", "ip route replace default via 192.0.2.1 dev eth0",
                 "ip -6 addr replace fd00:1::2/64 dev eth0 nodad", "ip -6 route replace default via fd00:1::1 dev eth0",
                 "ethtool -K eth0 tx off", "net/ipv6/conf/eth0/accept_dad=0"):
        assert step in line
    assert commands(Setup()) == ("ip link set lo up; sysctl -qw net/ipv6/conf/all/disable_ipv6=1 "
                                 "net/ipv6/conf/default/disable_ipv6=1")
    assert subprocess.run(["bash", "-n", "-c", line]).returncode == 0 and "\n" not in line
