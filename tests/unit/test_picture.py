"""The fabric's picture as Graphviz DOT: every switch and rack, VMs by tenant, cables down, a traced
path with every ECMP branch; compact at k=8. Pure: no Graphviz needed."""
import re

import pytest

from controller.flat import underlay_tables
from controller.overlay import compile_overlay
from controller.trace import cables
from overlaylab.api.words import Words
from overlaylab.classroom.picture import PATH_COLOUR, dot, render
from overlaylab.errors import LabError
from overlaylab.faces.cliwords import DEFAULT_PICTURE, draw_args
from topologies.scenario import BUNDLED, load

LECTURE = load()
TABLES = {**underlay_tables(LECTURE), **compile_overlay(LECTURE)}


def traced(scenario, tables, src, dst):
    return Words(scenario, {}, set()).trace([src, dst], tables, tables)


def test_every_switch_and_rack_is_drawn_with_each_vm_in_its_tenants_colour():
    source = dot(LECTURE)
    for switch in LECTURE.fabric.switches:
        assert f'"{switch.name}" [shape=box' in source
    assert source.count("[shape=plain") == len(LECTURE.fabric.servers) // 2 + 1  # 8 racks and the legend
    assert len(re.findall(r'BGCOLOR="#66c2a5"[^>]*TITLE="pepsi/', source)) == 3  # pepsi's colour, its VMs
    assert "legacy (bare metal)" in source and "VNI 5002, geneve, 2 VMs" in source
    assert PATH_COLOUR not in source


def test_a_traced_pair_marks_every_ecmp_branch_and_its_two_ends():
    paths = traced(LECTURE, TABLES, "coke/web", "coke/db")
    assert len(paths) == 4
    crossed = cables(paths, "p0e0h0", "p3e1h1")
    assert {frozenset(("p0e0h0", "p0e0")), frozenset(("p3e1", "p3e1h1"))} <= crossed
    assert {c for link in crossed for c in link if re.fullmatch(r"c\d", c)} == {"c0", "c1", "c2", "c3"}
    assert len(crossed) == 2 + 4 + 8  # servers' cables, aggregation to edge, each core to pods 0 and 3
    source = dot(LECTURE, paths=paths, ends=("coke/web", "coke/db"))
    drawn = [line for line in source.splitlines() if line.startswith('  "') and " -- " in line and PATH_COLOUR in line]
    assert len(drawn) == 8 + 4 + 2  # each core to pod 0 and pod 3, aggregation to edge, edge to rack
    assert source.count(f'COLOR="{PATH_COLOUR}" BORDER="3"') == 2  # the two VMs framed


def test_cables_that_are_down_are_drawn_dashed_and_a_cut_server_says_so():
    source = dot(LECTURE, down={frozenset(("c0", "p0a0")), frozenset(("p1e0h1", "p1e0"))})
    assert '"c0" -- "p0a0" [style=dashed' in source
    assert "p1e0h1</B>" in source and "(uplink down)" in source


def test_a_k8_fabric_is_compact_racks_of_coloured_cells():
    scale = load(BUNDLED / "scale.yaml")
    source = dot(scale)
    assert source.count("[shape=plain") == 32 + 1
    assert "10.0.0.2" not in source and 'TITLE="t0/vm0 172.16.0.10/16"' in source


@pytest.mark.parametrize("words, parsed", [
    ([], (DEFAULT_PICTURE, [])),
    (["a.png"], ("a.png", [])),
    (["x.svg", "pepsi/web", "pepsi/db"], ("x.svg", ["pepsi/web", "pepsi/db"])),
    (["pepsi/web", "pepsi/db"], (DEFAULT_PICTURE, ["pepsi/web", "pepsi/db"])),
    (["x.pdf"], ("x.pdf", [])),  # render refuses it, with a reason
    (["a", "b", "c", "d"], None),
])
def test_draw_arguments(words, parsed):
    assert draw_args(words) == parsed


def test_only_svg_and_png_are_drawn():
    with pytest.raises(LabError, match="name a .svg or .png file"):
        render("graph {}", "fabric.pdf")


def test_a_lab_over_machines_names_each_nodes_machine_and_draws_its_stitches():
    from topologies.placement import place
    scenario = load(None)
    placement = place(scenario.fabric, ["m1", "m2"])
    where = {n: placement.machine_of(scenario.fabric, n)
             for n in [*(s.name for s in scenario.fabric.switches), *(s.name for s in scenario.fabric.servers)]}
    source = dot(scenario, where=where)
    assert '"p0a0" [shape=box' in source and 'label="p0a0\\nm1"' in source
    assert 'label="c0\\nm1"' in source and 'label="c3\\nm2"' in source  # the core spread over both
    assert "p0e0h0</B>" in source and "on m1</FONT>" in source and "on m2</FONT>" in source
    assert source.count("stitched between machines") == len(placement.stitched(scenario.fabric)) == 8
    assert "stitched" not in dot(scenario) and "on m1" not in dot(scenario)
