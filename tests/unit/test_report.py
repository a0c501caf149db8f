"""The check report: the verdict, the per-tenant table and the failure lines a person reads, the JSON a
program reads."""
import io
import json

from overlaylab.verify.check import Found, Report
from overlaylab.verify.report import failures, print_summary, tenant_table, write_json
from probes.verdicts import Check


def pair(src, dst, proto, expected, ok, **extra):
    return {"src": src, "dst": dst, "proto": proto, "expected": expected, "observed": expected if ok else "x",
            "ok": ok, "tries": 1, **extra}


PAIRS = [pair("pepsi/web", "pepsi/db", "icmp", "deliver", True), pair("pepsi/web", "coke/web", "icmp", "isolate", True),
         pair("coke/web", "coke/db", "udp", "deliver", False, detail="lost after 4 tries"),
         pair("coke/web", "pepsi/db", "tcp", "isolate", False, observed="deliver", elsewhere=["pepsi/web"])]


def test_the_report_passes_only_if_something_passed_and_nothing_failed():
    report = Report()
    assert not report.ok
    report.add(Found((Check.not_applicable("ECMP spread", "quiet"),)))
    assert not report.ok  # nothing judged at all is no proof
    report.add(Found((Check.judged("underlay tables", True, "d"),)))
    assert report.ok
    report.add(Found((Check.judged("attacks", False, "d"),)))
    assert not report.ok


def test_found_facts_fill_the_report_and_tables_merge():
    report = Report()
    report.add(Found((), {"tables": {"p0e0": 9}}))
    report.add(Found((), {"tables": {"p0e0h0/br-int": 20}, "probes": 7, "pairs": PAIRS}))
    assert report.tables == {"p0e0": 9, "p0e0h0/br-int": 20} and report.probes == 7
    assert report.as_json()["probes_sent"] == 7 and len(report.as_json()["pairs"]) == 4


def test_the_json_without_tenants_has_no_pairs_and_is_written_whole(tmp_path):
    report = Report(checks=[Check.judged("underlay tables", True, "ok")])
    path = tmp_path / "r.json"
    write_json(report, path)
    data = json.loads(path.read_text())
    assert data["ok"] is True and "pairs" not in data and not list(tmp_path.glob("*.tmp"))
    assert data["checks"] == [{"name": "underlay tables", "ok": True, "status": "pass", "detail": "ok"}]


def test_the_tenant_table_counts_as_expected_over_sent_per_protocol_and_expectation():
    protocols, header, coke, pepsi = tenant_table(PAIRS)
    assert protocols.split() == ["icmp", "udp", "tcp"]
    assert header.split() == ["tenant", *["deliver", "isolate"] * 3]
    assert max(len(line) for line in (protocols, header, coke, pepsi)) <= 80
    assert coke.split() == ["coke", "0/0", "0/0", "0/1", "0/0", "0/0", "0/1"]
    assert pepsi.split() == ["pepsi", "1/1", "1/1", "0/0", "0/0", "0/0", "0/0"]


def test_every_unexpected_result_gets_one_full_line():
    report = Report(pairs=PAIRS, attacks=[{"name": "IP spoofing", "detail": "a spoofs", "observed": "reached b",
                                          "ok": False}])
    assert failures(report) == [
        "  FAIL  coke/web -> coke/db udp: expected deliver, observed lost after 4 tries",
        "  FAIL  coke/web -> pepsi/db tcp: expected isolate, observed deliver (also reached pepsi/web)",
        "  FAIL  attack IP spoofing: a spoofs: reached b"]


def test_the_summary_labels_each_check_and_ends_with_the_verdict():
    report = Report(checks=[Check.judged("underlay tables", True, "20 switches"),
                            Check.not_applicable("ECMP spread", "quiet")], timings={"up": 1.25})
    out = io.StringIO()
    print_summary(report, out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "  PASS  underlay tables  20 switches"
    assert lines[1] == "  N/A   ECMP spread      not applicable: quiet"
    assert lines[-2:] == ["  timings: up 1.2 s", "overlaylab: all checks passed"]


def test_on_an_80_column_terminal_a_long_detail_goes_under_its_check_and_nothing_is_wider(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    detail = "16/16 switches that sent 20+ packets up used every uplink (packets per uplink: p0a0 23/19, p0a1 21/42)"
    report = Report(checks=[Check.judged("ECMP spread", True, detail), Check.judged("servers", True, "16 up")],
                    timings={f"phase {n}": 1.0 for n in range(12)})
    out = Terminal()
    monkeypatch.setenv("COLUMNS", "80")
    print_summary(report, out)
    lines = out.getvalue().splitlines()
    assert max(map(len, lines)) <= 79
    assert lines[0] == "  PASS  ECMP spread" and " ".join(" ".join(lines[1:3]).split()) == detail
    assert lines[3] == "  PASS  servers      16 up"  # what fits stays on one line
