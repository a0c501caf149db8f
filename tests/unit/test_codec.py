"""The tables the controller wants, as JSON for the lab: what goes out comes back the same."""
import json

import pytest

from controller.codec import tables_doc, tables_of
from controller.flat import underlay_tables
from controller.overlay import compile_overlay
from topologies.scenario import BUNDLED, Mode, load


@pytest.mark.parametrize("name, mode", [("lecture.yaml", Mode.OVERLAY), ("flat.yaml", Mode.FLAT),
                                        ("datacenter.yaml", Mode.OVERLAY)])
def test_every_datapaths_tables_survive_a_json_round_trip(name, mode):
    lab = load(BUNDLED / name, mode=mode)
    for tables in [*underlay_tables(lab).values(), *compile_overlay(lab).values()]:
        assert tables_of(json.loads(json.dumps(tables_doc(tables)))) == tables
