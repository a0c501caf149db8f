"""The simulated cluster's plan (pure): names and addresses that never meet a lab's, a refusal in one line
for a size it will not make, and an sshd that listens on its machine's address only, lets root in by the
cluster's key alone and points every session at the machine's own Open vSwitch."""
from ipaddress import IPv4Network

import pytest

from overlaylab.runtime.identity import MGMT_SPACE
from overlaylab.runtime.simplan import (
    MAX_MACHINES,
    NETWORK,
    host_address,
    hosts_value,
    machines,
    sshd_config,
)
from topologies.model import FABRIC_SPACE


def test_machines_have_addresses_of_their_own_and_names_under_linuxs_limit():
    cluster = machines(MAX_MACHINES)
    addresses = [m.address.ip for m in cluster]
    assert host_address().ip not in addresses and len(set(addresses)) == MAX_MACHINES
    assert all(a in NETWORK for a in addresses)
    assert not NETWORK.overlaps(MGMT_SPACE) and not NETWORK.overlaps(FABRIC_SPACE)
    assert not NETWORK.overlaps(IPv4Network("192.0.2.0/24"))  # the machine's own, the lecture's tenants'
    assert all(len(m.namespace) <= 15 and len(m.port) <= 15 for m in cluster)
    assert hosts_value(cluster[:2]) == "198.51.100.2,198.51.100.3"


@pytest.mark.parametrize("count", [0, -1, MAX_MACHINES + 1])
def test_a_size_it_will_not_make_is_refused_in_one_line(count):
    with pytest.raises(ValueError, match=f"{count} simulated machines: give 1 to {MAX_MACHINES}"):
        machines(count)


def test_each_sshd_listens_on_its_own_address_lets_root_in_by_key_and_names_its_ovs():
    (first, second) = machines(2)
    config = sshd_config(second).splitlines()
    assert "ListenAddress 198.51.100.3" in config and "PasswordAuthentication no" in config
    assert "PermitRootLogin prohibit-password" in config and f"PidFile {second.pidfile}" in config
    assert any(line.startswith("SetEnv OVS_RUNDIR=/run/overlaylab/cluster/m2/ovs ") for line in config)
    from overlaylab.runtime.remote import ssh
    assert ssh(str(first.address.ip), "true")[-2:] == ["root@198.51.100.2", "true"]


@pytest.mark.parametrize(("value", "problem"), [("a,,b", "'' is not a machine's address"),
                                                ("a;b", "'a;b' is not"), ("a,b,a", "a is named twice")])
def test_a_hosts_value_it_cannot_use_is_refused_in_one_line(value, problem):
    from overlaylab.errors import LabError
    from overlaylab.runtime.machines import parse_hosts
    assert parse_hosts("198.51.100.2,node-b.example") == ["198.51.100.2", "node-b.example"]
    with pytest.raises(LabError, match=problem):
        parse_hosts(value)
