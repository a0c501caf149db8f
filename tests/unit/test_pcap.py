"""pcap files that other tools read: scapy's reader gets back exactly the frames, in order."""
from ipaddress import IPv4Address as IP

from scapy.utils import rdpcap

from probes.packets import Host, encapsulated, probe
from probes.pcap import write_pcap
from probes.session import Tokens
from topologies.encap import Encap


def test_frames_written_read_back_byte_for_byte_and_tunnels_decode(tmp_path):
    inner = probe("icmp", Host("02:00:13:89:02:02", IP("192.0.2.2")), Host("02:00:13:89:02:03", IP("192.0.2.3")),
                  Tokens()())
    frames = [encapsulated(e, Host("02:00:0a:00:00:02", IP("10.0.0.2")), "02:00:0a:00:00:01", IP("10.0.0.3"), 5001,
                           inner) for e in Encap] + [inner]
    path = tmp_path / "wire.pcap"
    write_pcap(path, frames, start=1700000000.0)
    read = rdpcap(str(path))
    assert [bytes(p) for p in read] == frames
    assert [p.getlayer(e.scapy_layer()) is not None for p, e in zip(read, Encap, strict=False)] == [True] * 3
    assert float(read[1].time) > float(read[0].time) >= 1700000000.0
