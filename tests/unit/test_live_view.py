"""The live view's model, pure: every node placed once, links up or down as the lab has them, VMs on their
servers; and `--web` read as [ADDR:]PORT or refused in one line."""
import pytest

from overlaylab.classroom.liveserver import address
from overlaylab.classroom.liveview import view
from overlaylab.errors import LabError
from topologies import changes
from topologies.scenario import load


def test_the_view_has_every_node_link_and_vm_and_follows_changes():
    scenario = load()
    drawn = view(scenario, set())
    fabric = scenario.fabric
    assert len(drawn["nodes"]) == len(fabric.switches) + len(fabric.servers)
    assert len({(n["x"], n["y"]) for n in drawn["nodes"]}) == len(drawn["nodes"])  # nothing drawn over anything
    assert {link["state"] for link in drawn["links"]} == {"up"} and len(drawn["links"]) == len(fabric.links)
    cut = view(scenario, {frozenset(("p0a0", "c0"))})
    assert [f"{c['a']}-{c['b']}" for c in cut["links"] if c["state"] == "down"] == ["p0a0-c0"]
    moved = view(changes.migrate(scenario, "pepsi/web", "p1e0h0"), set())
    assert {v["vm"]: v["server"] for v in moved["vms"]}["pepsi/web"] == "p1e0h0"


@pytest.mark.parametrize(("text", "expected"), [("8080", ("127.0.0.1", 8080)), ("0.0.0.0:80", ("0.0.0.0", 80)),
                                                ("[::1]:8080", ("::1", 8080))])
def test_web_takes_addr_and_port(text, expected):
    assert address(text) == expected


@pytest.mark.parametrize("text", ["", "http", "host:", "8080x", "70000", "0"])
def test_a_bad_web_address_is_refused_in_one_line(text):
    with pytest.raises(LabError, match=r"give \[ADDR:\]PORT"):
        address(text)
