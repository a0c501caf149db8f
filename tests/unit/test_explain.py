"""`tables` and `tables --summary`: every flow shown once, under its purpose, with its counter."""
from controller.flows import ofctl_match
from controller.overlay import compile_overlay
from controller.underlay import compile_underlay
from overlaylab.verify.explain import DatapathTables, datapath_text, summary_text
from topologies.scenario import load

LECTURE = load()
COMPILED = {**compile_underlay(LECTURE.fabric), **compile_overlay(LECTURE)}


def test_a_datapath_shows_every_flow_once_under_its_purpose_with_its_counter_or_a_dash():
    tables = COMPILED["p0e0h0/br-int"]
    held = "".join(f" cookie=0x0, duration=1.2s, n_packets=7, n_bytes=490, {ofctl_match(f)} actions=drop\n"
                   for f in tables.flows[:3])
    shown = DatapathTables.of(tables, False, held)
    lines = datapath_text(shown)
    flows = [line for line in lines if line.startswith("    ")]
    assert len(flows) == len(tables.flows) and sum(line.split()[0] == "7" for line in flows) == 3
    assert sum(line.split()[0] == "-" for line in flows) == len(tables.flows) - 3
    assert "  encapsulate (3)" in lines and all("  # " in line for line in flows)
    assert sum(f["packets"] or 0 for group in shown.flows.values() for f in group) == 3 * 7


def test_the_summary_counts_each_layers_flows_by_purpose():
    lines = summary_text(COMPILED)
    rows = {line.split()[0]: line.split()[-2:] for line in lines[1:] if not line.strip().startswith("largest")}
    assert rows["total"] == [str(sum(len(t.flows) for n, t in COMPILED.items() if "/" not in n)),
                             str(sum(len(t.flows) for n, t in COMPILED.items() if "/" in n))]
    assert rows["encapsulate"] == ["0", "6"] and rows["door"][1] == "0"  # 3 + 2 + 1 on the three vswitches
    assert any(line.startswith("  largest underlay table: p") for line in lines)
