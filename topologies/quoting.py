"""Values quoted in error messages, cut short: a scenario's value may be a YAML alias bomb that expands
without end, or a string full of terminal escapes."""
from __future__ import annotations

import reprlib
from typing import Any

_QUOTE = reprlib.Repr()
_QUOTE.maxstring = _QUOTE.maxother = 60
_QUOTE.maxlong = 40
_QUOTE.maxlist = _QUOTE.maxdict = _QUOTE.maxtuple = 4
_QUOTE.maxlevel = 2


def quote(value: Any) -> str:
    """repr, at most about 60 characters of any value and two levels of any structure."""
    return _QUOTE.repr(value)
