"""Captures as pcap files, which Wireshark and tcpdump open (and decode VXLAN on UDP 4789, GENEVE on
6081 and GRE carrying Ethernet without being told)."""
from __future__ import annotations

import struct
import time
from pathlib import Path

MAGIC, VERSION, SNAPLEN, ETHERNET = 0xA1B2C3D4, (2, 4), 65535, 1


def write_pcap(path: str | Path, frames: list[bytes], start: float | None = None) -> None:
    """The frames in capture order, a microsecond apart from `start` (now, by default)."""
    first = round((time.time() if start is None else start) * 1_000_000)
    records = [struct.pack("<IHHiIII", MAGIC, *VERSION, 0, 0, SNAPLEN, ETHERNET)]
    for i, frame in enumerate(frames):
        seconds, micros = divmod(first + i, 1_000_000)
        records.append(struct.pack("<IIII", seconds, micros, len(frame), len(frame)) + frame)
    Path(path).write_bytes(b"".join(records))
