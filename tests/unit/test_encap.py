"""The one model of encapsulations: the numbers every layer reads from it."""
from topologies.encap import Encap, Vtep


def test_each_encapsulation_has_its_port_its_wire_signature_and_its_inner_mtu():
    table = {(e.text, e.ofport, e.udp_port, e.ip_proto, e.inner_mtu) for e in Encap}
    assert table == {("vxlan", 100, 4789, None, 1450), ("geneve", 101, 6081, None, 1450), ("gre", 102, None, 47, 1458)}


def test_text_and_udp_ports_convert_back_and_nothing_else_does():
    assert [Encap.named(e.text) for e in Encap] == list(Encap)
    assert Encap.named("VXLAN") is None and Encap.named(None) is None
    assert (Encap.on_udp_port(4789), Encap.on_udp_port(6081), Encap.on_udp_port(53)) == (Encap.VXLAN, Encap.GENEVE, None)


def test_the_scapy_layer_is_the_protocol_it_names():
    assert [e.scapy_layer().__name__ for e in Encap] == ["VXLAN", "GENEVE", "GRE"]


def test_they_print_as_a_scenario_writes_them():
    assert f"{Encap.GENEVE} on {Vtep.KERNEL}" == "geneve on kernel"
