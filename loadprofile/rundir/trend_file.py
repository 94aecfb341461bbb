"""The run folder's ``trend.json`` (contract.trend_entry): read by ``trend add``, written when
a run is added with labels or a series name, so the folder alone can rebuild the store."""

from __future__ import annotations

from pathlib import Path

import msgspec

from loadprofile.contract.trend_entry import TrendEntry, decode_trend_entry
from loadprofile.rundir.writer import write_json

TREND = "trend.json"


def read_trend_entry(run_dir: Path) -> TrendEntry:
    """The folder's trend.json (an empty TrendEntry without one); ValueError (one line) when
    it is not what loadprofile writes."""
    path = run_dir / TREND
    if not path.is_file():
        return TrendEntry()
    try:
        return decode_trend_entry(path.read_bytes())
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"{path}: not a loadprofile file ({exc})") from None


def write_trend_entry(run_dir: Path, entry: TrendEntry) -> None:
    """trend.json, atomically (indented, like every JSON file of the folder)."""
    write_json(run_dir / TREND, msgspec.to_builtins(entry))
