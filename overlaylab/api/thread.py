"""Where a lab's work runs when the caller already runs an event loop (a Jupyter kernel)."""
from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Concatenate, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Worked(Protocol):
    """An object that may own a thread to work on."""

    _worker: ThreadPoolExecutor | None


W = TypeVar("W", bound=Worked)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def on_lab_thread(method: Callable[Concatenate[W, P], T]) -> Callable[Concatenate[W, P], T]:
    """netlink (pyroute2) runs an asyncio loop of its own, which cannot run inside one already running, as a
    Jupyter kernel's is: there, the lab's work runs on a thread of the lab's own, one call at a time."""
    @functools.wraps(method)
    def run(owner: W, *args: P.args, **kwargs: P.kwargs) -> T:
        if not _loop_running():
            return method(owner, *args, **kwargs)
        if owner._worker is None:
            owner._worker = ThreadPoolExecutor(1, thread_name_prefix="overlaylab")
        return owner._worker.submit(method, owner, *args, **kwargs).result()
    return run
