"""Reading a small text file a user wrote (a scenario, an exercise's answers) without being fooled: a
regular file, of a sane size, in UTF-8; anything else is one reason, for the caller's one-line error."""
from __future__ import annotations

import stat
from pathlib import Path


class Unreadable(ValueError):
    """Why the file cannot be read as text (`cannot read it (No such file or directory)`)."""

    def __init__(self, reason: str, missing: bool = False) -> None:
        super().__init__(reason)
        self.missing = missing  # the file could not be opened at all (the caller may say where one is)


def read_text(path: Path, max_bytes: int, what: str) -> str:
    """The file's text, if it is a regular file of at most `max_bytes` in UTF-8 (never a FIFO or device);
    `what` names what it should be ("a scenario")."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"not a regular file (a directory, FIFO or device?); give the path of {what}")
        if info.st_size <= max_bytes:  # refused unread otherwise; a file still growing is cut short below
            with open(path, "rb") as f:
                raw = f.read(max_bytes + 1)
    except OSError as exc:
        raise Unreadable(f"cannot read it ({exc.strerror})", missing=True) from None
    if info.st_size > max_bytes or len(raw) > max_bytes:
        raise Unreadable(f"{max(info.st_size, max_bytes + 1)} bytes is too large for {what} (at most "
                         f"{max_bytes} bytes); is this the right file?")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                         f"save it as UTF-8") from None
