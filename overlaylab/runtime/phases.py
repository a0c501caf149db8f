"""What the user sees while a lab comes up or goes down: one line per phase, timed for the report."""
from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from overlaylab.system import Stopwatch
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
                self.out.write(f"\r\033[K{head} {text}")
                self.out.flush()
                shown[0] = time.monotonic()

        self.out.write(head)
        self.out.flush()
        try:
            with self.timed(key):
                yield progress
        except BaseException:
            self.out.write(" failed\n")
            raise
        restart = f"\r\033[K{head}" if self.live else ""
        done = f"{latest[0]}, " if latest[0] else ""
        self.out.write(f"{restart} {done}{self.timings[key]:.1f} s\n")
