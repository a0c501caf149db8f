"""A tap sees only its own link: the k=8 wire check once reported management traffic on an underlay
link (198.18.0.1 -> 198.18.0.1) that never was there; the packet socket had been made listening to
every interface of its namespace before it was bound to one."""
import selectors
import socket
import subprocess

from probes.netns import packet_socket
from tests.integration.conftest import lab_of
from topologies.scenario import BUNDLED


def frames_on(sock, seconds=0.5):
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    frames = []
    while selector.select(timeout=seconds):
        frames.append(sock.recv(65535))
    return frames


def test_a_tap_on_a_quiet_core_link_catches_nothing_of_the_root_namespaces_other_traffic():
    with lab_of(BUNDLED / "underlay.yaml", k=2) as lab:
        sock = packet_socket(lab.nodes.port_pid("c0-eth1"), "c0-eth1")
        try:
            subprocess.run(["ping", "-c", "20", "-i", "0.01", "-q", "127.0.0.1"], capture_output=True, check=True)
            subprocess.run(["ping", "-c", "5", "-i", "0.01", "-q", "198.18.0.1"], capture_output=True, check=True)
            seen = frames_on(sock)
        finally:
            sock.close()
    addresses = {socket.inet_ntoa(f[26:30]) for f in seen if f[12:14] == b"\x08\x00"}
    assert not addresses & {"127.0.0.1", "198.18.0.1"}, addresses
