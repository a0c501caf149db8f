"""Where a lab's work runs: one call at a time (the CLI and the live page's buttons may ask at once), and on a
thread of the lab's own when the caller already runs an event loop (a Jupyter kernel)."""
from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Concatenate, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Worked(Protocol):
    """An object that may own a thread to work on, and that works on one call at a time."""

    _worker: ThreadPoolExecutor | None
    _guard: threading.RLock


W = TypeVar("W", bound=Worked)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def on_lab_thread(method: Callable[Concatenate[W, P], T]) -> Callable[Concatenate[W, P], T]:
    """netlink (pyroute2) runs an asyncio loop of its own, which cannot run inside one already running, as a
    Jupyter kernel's is: there, the lab's work runs on a thread of the lab's own. Wherever it runs, it runs
    one call at a time: a change asked for by the live page waits for the CLI's to end."""
    @functools.wraps(method)
    def run(owner: W, *args: P.args, **kwargs: P.kwargs) -> T:
        def alone() -> T:
            with owner._guard:
                return method(owner, *args, **kwargs)
        if not _loop_running():
            return alone()
        if owner._worker is None:
            owner._worker = ThreadPoolExecutor(1, thread_name_prefix="overlaylab")
        return owner._worker.submit(alone).result()
    return run
