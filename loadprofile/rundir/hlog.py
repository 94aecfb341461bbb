"""HdrHistogram interval logs (``.hlog``), written and read by hand.

hdrh's own writer cannot write a start time, ignores the base time and drops tags
(docs/architecture.md, known traps), so the header lines are written here; the V2
compressed payload is hdrh's and is what HdrHistogram's Java/C/Go log tools read. Values
are integer microseconds, so the ``Interval_Max`` column (conventionally milliseconds) is the
max divided by 1000.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from hdrh.codec import HdrCookieException, HdrLengthException
from hdrh.histogram import HdrHistogram

from loadprofile.core.hdr import acyclic

_LEGEND = '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"'
_US_PER_MS = 1000.0


def hlog_header(start_unix: float, comment: str = "") -> str:
    iso = datetime.fromtimestamp(start_unix, UTC).isoformat(timespec="milliseconds")
    lines = [f"#{comment}"] if comment else []
    lines += [
        "#[Histogram log format version 1.3]",
        f"#[StartTime: {start_unix:.3f} (seconds since epoch), {iso}]",
        f"#[BaseTime: {start_unix:.3f} (seconds since epoch)]",
        _LEGEND,
    ]
    return "\n".join(lines) + "\n"


def hlog_line(tag: str, start_s: float, length_s: float, payload: bytes, max_us: int) -> str:
    """One interval line; timestamps are seconds relative to the BaseTime."""
    return (
        f"Tag={tag},{start_s:.3f},{length_s:.3f},{max_us / _US_PER_MS:.3f},"
        f"{payload.decode('ascii')}\n"
    )


class HlogWriter:
    """Appends interval histograms to one open log stream."""

    def __init__(self, stream: TextIO, start_unix: float, tag: str, comment: str = "") -> None:
        self._stream = stream
        self._tag = tag
        stream.write(hlog_header(start_unix, comment))

    def write(self, start_s: float, end_s: float, histogram: HdrHistogram) -> None:
        self._stream.write(
            hlog_line(
                self._tag, start_s, end_s - start_s, histogram.encode(), histogram.get_max_value()
            )
        )

    def flush(self) -> None:
        self._stream.flush()


@dataclass
class Interval:
    start_s: float
    end_s: float
    histogram: HdrHistogram


def read_hlog(path: Path) -> tuple[float | None, list[Interval]]:
    """(start time, intervals) of a log; a line cut off by a crash is skipped, not fatal."""
    start_unix: float | None = None
    intervals: list[Interval] = []
    with path.open(encoding="ascii", errors="replace") as fh:
        for line in fh:
            if line.startswith("#[StartTime:"):
                start_unix = float(line.split()[1])
                continue
            interval = _parse_interval(line)
            if interval is not None:
                intervals.append(interval)
    return start_unix, intervals


def _parse_interval(line: str) -> Interval | None:
    if line.startswith("Tag="):
        line = line.split(",", 1)[1] if "," in line else ""
    fields = line.strip().split(",")
    if len(fields) != 4 or line.startswith(("#", '"')):
        return None
    try:
        start, length = float(fields[0]), float(fields[1])
        histogram = acyclic(HdrHistogram.decode(fields[3].encode("ascii")))
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        RuntimeError,
        zlib.error,
        struct.error,
        HdrCookieException,
        HdrLengthException,
    ):
        return None  # a payload cut off by a crash
    return Interval(start, start + length, histogram)
