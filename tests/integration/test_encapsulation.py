"""Every encapsulation on real per-server Open vSwitches: VXLAN, GENEVE and GRE tenants sharing one
address plan, carried across pods, seen on the wire, and moving TCP data intact."""
import hashlib
import os
import selectors
import struct

import pytest

from overlaylab.verify.probing import probe_tenants
from probes.matrix import DELIVER
from probes.netns import packet_socket
from tests.integration.conftest import lab_of, leftovers, write_scenario

ENCAPS = """
fabric: {k: 4}
tenants:
  red:   {vni: 101, encap: vxlan,  vms: {a: {ip: 10.9.0.2/24, server: p0e0h0}, b: {ip: 10.9.0.3/24, server: p3e1h1}}}
  green: {vni: 102, encap: geneve, vms: {a: {ip: 10.9.0.2/24, server: p0e0h0}, b: {ip: 10.9.0.3/24, server: p3e1h1}}}
  blue:  {vni: 103, encap: gre,    vms: {a: {ip: 10.9.0.2/24, server: p0e0h0}, b: {ip: 10.9.0.3/24, server: p3e1h1}}}
"""
OUTER = {"vxlan": (17, 4789), "geneve": (17, 6081), "gre": (47, None)}


@pytest.fixture(scope="module")
def encaps_lab(tmp_path_factory):
    assert leftovers() == []
    with lab_of(write_scenario(tmp_path_factory.mktemp("encaps"), ENCAPS)) as lab:
        yield lab


def outer_headers(lab, iface, during):
    """(IP protocol, UDP destination port, key/VNI) of the frames `iface` (an underlay switch port)
    carries from the server while `during()` runs."""
    sock = packet_socket(lab.nodes.port_pid(iface), iface)
    seen = []
    try:
        during()
        selector = selectors.DefaultSelector()
        selector.register(sock, selectors.EVENT_READ)
        while selector.select(timeout=0.2):
            frame = sock.recv(65535)
            if frame[12:14] == b"\x08\x00":
                ihl, proto = (frame[14] & 15) * 4, frame[23]
                l4 = frame[14 + ihl:]
                if proto == 17:
                    port = struct.unpack("!H", l4[2:4])[0]
                    seen.append((proto, port, int.from_bytes(l4[12:15], "big")))
                elif proto == 47:
                    seen.append((proto, None, struct.unpack("!I", l4[4:8])[0]))
    finally:
        sock.close()
    return seen


@pytest.mark.parametrize("tenant", ["red", "green", "blue"])
def test_each_encapsulation_carries_its_tenant_across_pods(encaps_lab, tenant):
    encap = {"red": "vxlan", "green": "geneve", "blue": "gre"}[tenant]
    a = encaps_lab.nodes.vm(f"{tenant}/a")
    seen = outer_headers(encaps_lab, "p0e0-eth1", lambda: a.cmd("ping -c 3 -i 0.2 -W 2 10.9.0.3"))
    assert "3 received" in a.cmd("ping -c 3 -i 0.2 -W 2 10.9.0.3")
    proto, port = OUTER[encap]
    vni = encaps_lab.scenario.tenants[["red", "green", "blue"].index(tenant)].vni
    assert (proto, port, vni) in seen
    assert all(p in (17, 47) for p, _, _ in seen)  # nothing but encapsulated traffic on the underlay


def test_overlapping_addresses_reach_only_their_own_tenant(encaps_lab):
    for tenant in ("red", "green", "blue"):
        b = encaps_lab.nodes.vm(f"{tenant}/b")
        assert "1 received" in b.cmd("ping -c 1 -W 2 10.9.0.2")
        own_mac = next(vm.mac for vm in encaps_lab.scenario.vms if vm.label == f"{tenant}/a")
        assert own_mac in b.cmd("ip neigh show 10.9.0.2")
    verdicts = probe_tenants(encaps_lab)
    pairs = verdicts.pairs
    assert len(pairs) == 90 and all(p["ok"] for p in pairs)
    assert sum(p["expected"] == DELIVER for p in pairs) == 18
    assert all(c.ok for c in verdicts.checks), verdicts.checks


RECEIVE = """
import hashlib, socket
server = socket.create_server(("0.0.0.0", 5001))
print("listening", flush=True)
conn, _ = server.accept()
digest, size = hashlib.sha256(), 0
while data := conn.recv(1 << 16):
    digest.update(data)
    size += len(data)
print(size, digest.hexdigest(), flush=True)
"""
SEND = """
import socket, sys
with socket.create_connection((sys.argv[1], 5001), timeout=10) as conn, open(sys.argv[2], "rb") as f:
    conn.sendfile(f)
"""


@pytest.mark.parametrize("tenant", ["red", "green", "blue"])
def test_tcp_moves_10_megabytes_intact_across_pods(encaps_lab, tmp_path, tenant):
    payload = tmp_path / "payload"
    payload.write_bytes(os.urandom(10 * 1024 * 1024))
    receiver = encaps_lab.nodes.vm(f"{tenant}/b").popen(["python3", "-c", RECEIVE], text=True)
    try:
        assert receiver.stdout.readline().strip() == "listening"
        sent = encaps_lab.nodes.vm(f"{tenant}/a").popen(["python3", "-c", SEND, "10.9.0.3", str(payload)])
        assert sent.wait(timeout=60) == 0, sent.stderr.read()
        size, digest = receiver.stdout.readline().split()
    finally:
        receiver.kill()
    assert int(size) == 10 * 1024 * 1024
    assert digest == hashlib.sha256(payload.read_bytes()).hexdigest()
