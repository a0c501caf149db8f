"""overlaylab: a datacenter virtualization lab. `from overlaylab import Lab` drives it from Python;
`drill` and `compare` build labs of their own."""
from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """Imported on first use: the command line's modules need not load Mininet to start."""
    if name == "Lab":
        from overlaylab.api.lab import Lab
        return Lab
    if name in ("drill", "compare"):
        from overlaylab.api import runs
        return getattr(runs, name)
    raise AttributeError(f"module 'overlaylab' has no attribute {name!r}")
