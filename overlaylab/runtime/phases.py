"""What the user sees while a lab comes up or goes down: one line per phase, timed for the report."""
from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from overlaylab.system import Stopwatch, columns, interrupted, wrapped
from probes.session import Progress

PROGRESS_EVERY = 0.2  # seconds between updates of a phase line on a terminal
UP_PHASES = ("controller", "network", "vswitches", "flows")  # a lab's bring-up, phase by phase


class Phases(Stopwatch):
    """Times each phase (for the report's `timings`) and tells the user what is happening: one line
    per phase, kept up to date while it runs on a terminal, written once when it ends otherwise."""

    def __init__(self, out: IO[str] = sys.stderr) -> None:
        super().__init__()
        self.out = out
        self.live = out.isatty()

    @contextmanager
    def phase(self, key: str, message: str) -> Iterator[Progress]:
        """Time the block; it may call the yielded function with a few words on how far it is."""
        head = f"overlaylab: {message} ..."
        latest, shown = [""], [0.0]

        def progress(text: str) -> None:
            latest[0] = text
            if self.live and time.monotonic() - shown[0] > PROGRESS_EVERY:
                self.out.write(f"\r\033[K{fit(f'{head} {text}')}")
                self.out.flush()
                shown[0] = time.monotonic()

        self.out.write(fit(head) if self.live else head)
        self.out.flush()
        interrupted.clear()  # a Ctrl-C before this phase was the business of whatever then ran
        try:
            with self.timed(key):
                yield progress
                if interrupted.is_set():  # one the interpreter lost on its way (see overlaylab.system)
                    raise KeyboardInterrupt
        except BaseException:
            interrupted.clear()
            self.out.write(" failed\n")
            raise
        done = f"{latest[0]}, " if latest[0] else ""
        line = f"{head} {done}{self.timings[key]:.1f} s"
        self.out.write(f"\r\033[K{wrapped(line, columns(self.out))}\n" if self.live
                       else f" {done}{self.timings[key]:.1f} s\n")  # the last word on a phase: wrapped, never cut


def fit(line: str) -> str:
    """The line cut to the terminal's width: a line that wraps cannot be redrawn in place (`\\r` goes back to
    the start of its last row only), and a 110-column line became five in a 100-column `make demo`."""
    width = shutil.get_terminal_size().columns - 1
    return line if len(line) <= width else line[:width - 1] + "…"
