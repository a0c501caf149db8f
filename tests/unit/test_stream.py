"""The probe stream's arithmetic: what was lost, and the longest silence the receiver had."""
from probes.stream import result


def test_an_unbroken_stream_has_gaps_of_one_interval():
    arrivals = {i: 0.001 + i * 0.005 for i in range(100)}
    r = result(100, arrivals, 0.0, 0.495)
    assert r.lost == 0 and abs(r.longest_gap - 0.005) < 1e-9


def test_a_gap_is_the_silence_between_arrivals_and_counts_what_never_came():
    arrivals = {i: i * 0.005 for i in range(100) if not 20 <= i < 60}
    r = result(100, arrivals, 0.0, 0.495)
    assert r.lost == 40 and abs(r.longest_gap - 0.205) < 1e-9


def test_silence_at_the_end_counts_up_to_the_last_probe_sent_not_to_when_listening_stopped():
    r = result(10, {0: 0.0, 1: 0.005}, 0.0, 0.045)
    assert r.lost == 8 and abs(r.longest_gap - 0.040) < 1e-9
    assert result(5, {}, 0.0, 0.02).longest_gap == 0.02
