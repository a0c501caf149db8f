"""overlaylab: a datacenter virtualization lab. `from overlaylab import Lab` drives it from Python."""
from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """Lab is imported on first use: the command line's modules need not load Mininet to start."""
    if name == "Lab":
        from overlaylab.faces.scripting import Lab
        return Lab
    raise AttributeError(f"module 'overlaylab' has no attribute {name!r}")
