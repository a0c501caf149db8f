"""Phase lines: kept up to date on a terminal, one line per phase when piped to a file."""
import io

import pytest

from overlaylab.runtime.phases import Phases


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_phase(out):
    phases = Phases(out)
    with phases.phase("probes", "probing") as progress:
        progress("10 sent")
        progress("20 sent")
    return phases


def test_piped_output_gets_only_the_final_line_of_each_phase():
    out = io.StringIO()
    run_phase(out)
    text = out.getvalue()
    assert text.startswith("overlaylab: probing ... 20 sent, ") and text.endswith(" s\n")
    assert "10 sent" not in text and "\r" not in text and text.count("\n") == 1


def test_a_terminal_sees_progress_rewritten_in_place():
    out = Terminal()
    run_phase(out)
    text = out.getvalue()
    assert "\r\033[Koverlaylab: probing ... 10 sent" in text
    assert text.endswith("\r\033[Koverlaylab: probing ... 20 sent, 0.0 s\n")


def test_a_failed_phase_says_so():
    out = io.StringIO()
    with pytest.raises(RuntimeError):
        with Phases(out).phase("network", "building"):
            raise RuntimeError("boom")
    assert out.getvalue() == "overlaylab: building ... failed\n"


def test_on_a_narrow_terminal_every_line_fits_and_the_last_word_is_wrapped_whole(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    out = Terminal()
    phases = Phases(out)
    with phases.phase("vswitches", "starting 128 virtual switches, one Open vSwitch each") as progress:
        progress("37/128 connected to the controller, 12 being read")
    *redrawn, last = out.getvalue().split("\r")
    redrawn = [part.removeprefix("\033[K") for part in redrawn]
    assert max(map(len, redrawn)) <= 39 and redrawn[-1].endswith("…")  # a line that wraps cannot be redrawn
    last_lines = last.removeprefix("\033[K").splitlines()
    assert max(map(len, last_lines)) <= 39 and " ".join(last_lines).split() == (
        "overlaylab: starting 128 virtual switches, one Open vSwitch each ... 37/128 connected to the "
        "controller, 12 being read, 0.0 s").split()


def test_the_demo_wraps_at_the_terminals_width_and_writes_its_captures_outside_the_repository(monkeypatch):
    from overlaylab.faces import demo
    monkeypatch.setenv("COLUMNS", "80")
    assert demo.width() == 79 and max(map(len, demo._wrapped("  " + "word " * 40).splitlines())) <= 79
    monkeypatch.setenv("COLUMNS", "200")
    assert demo.width() == demo.WIDTH
    assert str(demo.captures_dir("alice")).endswith("/overlaylab-demo-alice")
    assert not demo.captures_dir(None).is_relative_to(demo.Path(__file__).resolve().parents[2])


def test_a_ctrl_c_the_interpreter_lost_still_ends_the_phase_it_came_in():
    """Python drops a KeyboardInterrupt raised inside a fork callback; the CLI's handler also records it, and
    the phase raises it when its block ends. One from before the phase began is not this phase's."""
    from overlaylab.system import interrupted
    out = io.StringIO()
    phases = Phases(out)
    interrupted.set()  # pressed while something else ran (the lab CLI's ping, say)
    with phases.phase("flows", "waiting"):
        pass
    with pytest.raises(KeyboardInterrupt), phases.phase("network", "building"):
        interrupted.set()  # pressed now, and its exception lost
    assert out.getvalue().endswith(" failed\n") and not interrupted.is_set()
