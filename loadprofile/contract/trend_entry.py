"""``trend.json``: what ``trend add`` was told about a run beyond its own files (its labels,
the series it was put in), kept in the run folder so that adding the folders again rebuilds
the store as it was (docs/trends.md)."""

from __future__ import annotations

import msgspec
from msgspec import Struct


class TrendEntry(Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The labels given to ``trend add --label`` / ``run --trend-label`` and the
    ``--series`` name (None: the key made from what the run ran)."""

    labels: dict[str, str] = {}
    series: str | None = None


def decode_trend_entry(data: bytes | str) -> TrendEntry:
    """trend.json's text as a TrendEntry; msgspec.DecodeError or ValidationError otherwise."""
    return msgspec.json.decode(data, type=TrendEntry)
