"""Flat mode on real switches: the underlay routes every VM address, delivers and isolates like the
overlay, but holds a route per VM and changes when a VM moves; the overlay's underlay does not."""
import csv

from overlaylab.runtime import tables
from overlaylab.verify.check import Report, run_checks
from tests.integration.conftest import lab_of, overlaylab
from topologies.scenario import BUNDLED, Mode

FLAT = BUNDLED / "flat.yaml"


def checked(lab):
    report = Report()
    run_checks(lab, report)
    return report


def test_a_flat_lab_routes_vms_in_the_underlay_and_a_migration_rewrites_it():
    with lab_of(FLAT, mode=Mode.FLAT) as lab:
        report = checked(lab)
        assert report.ok, [c.as_json() for c in report.checks if not c.ok]
        checks = {c.name: c for c in report.checks}
        assert "40 of them VM routes" in checks["underlay tables"].detail  # 5 VMs x (4 cores, 2 aggs, door + route)
        assert "none was encapsulated" in checks["wire: no encapsulation"].detail
        assert tables.flow_counts({"c0": lab.nodes.targets["c0"]}) == {"c0": 5 + 5}  # k+1 and one per VM
        web = lab.nodes.vm("pepsi/web")
        pinging = web.popen("ping -i0.2 -c200 192.0.2.4")  # a process inside the VM, during the move
        moved = lab.members.migrate("pepsi/web", "p3e1h0")
        assert moved["changes"]["underlay"] == 12  # 4 cores re-pointed, 2 aggs and 1 edge (door, route) each way
        assert {"c0", "p0e0", "p3e1", "p0a1", "p3a0"} <= set(moved["changes"]["datapaths"])
        assert pinging.poll() is None
        assert tables.mismatches(lab.compiled, lab.nodes.targets) == []
        assert checked(lab).ok
        pinging.terminate()


def test_the_same_tenants_as_an_overlay_move_without_touching_the_underlay():
    with lab_of(FLAT) as lab:
        assert lab.members.migrate("pepsi/web", "p3e1h0")["changes"]["underlay"] == 0
        assert tables.flow_counts({"c0": lab.nodes.targets["c0"]}) == {"c0": 5}


def test_flat_mode_refuses_overlapping_tenants_in_one_line_before_building_anything(clean_machine):
    done = overlaylab("check", str(BUNDLED / "lecture.yaml"), "--mode", "flat")
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert "192.0.2.2 is also pepsi/web's" in line and "virtual network ID" in line


def test_compare_measures_both_modes_and_writes_the_csv_and_the_plot(clean_machine, tmp_path):
    csv_path, png = tmp_path / "c.csv", tmp_path / "c.png"
    done = overlaylab("compare", "--k", "4", "--vms", "0", "16", "--csv", str(csv_path), "--png", str(png))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = {(r["vms"], r["mode"]): r for r in csv.DictReader(csv_path.open())}
    assert set(rows) == {("0", "flat"), ("0", "overlay"), ("16", "flat"), ("16", "overlay")}
    assert rows[("0", "flat")]["underlay_flows"] == rows[("0", "overlay")]["underlay_flows"] == "156"
    assert rows[("16", "overlay")]["underlay_flows"] == "156" and rows[("16", "overlay")]["migration_underlay"] == "0"
    assert int(rows[("16", "flat")]["largest_table"]) == 5 + 16  # a core: one route per pod and per VM
    assert int(rows[("16", "flat")]["migration_underlay"]) == 12
    overlay = rows[("16", "overlay")]  # one broadcast: one copy per other server of the tenant, on the wire
    assert int(overlay["broadcast_copies"]) == int(overlay["tenant_servers"]) - 1 >= 1
    assert int(rows[("16", "flat")]["broadcast_copies"]) == 20 + 16 - 1  # a flood over every switch and server
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
