"""``trend.json`` of ``loadprofile trend report`` as typed models: written by the command,
read by the page builder (report/trend_page.py) and by pipelines. Field order is the
file's key order; fields are added, never renamed (docs/trends.md)."""

from __future__ import annotations

import msgspec
from msgspec import Struct

SCHEMA = 1

#: (run_id, time, value): one run's figure, in the series' time order.
TrendPoint = tuple[str, str, float]


class ChangePointEntry(Struct, frozen=True, kw_only=True):
    """A change point: the level moved at ``run_id`` (the first run of the new level)."""

    run_id: str
    index: int  # among the metric's values
    before: float  # the mean since the previous change point (or the first run)
    after: float  # the mean up to the next one (or the latest run)
    change_pct: float | None  # None: from 0
    p_value: float
    time: str = ""
    labels: dict[str, str] = {}
    direction: str = "changed"  # "worse", "better", or "changed" (a figure with no side)
    regression: bool = False  # worse by more than min_change_pct
    improvement: bool = False  # better by more than min_change_pct


class MetricEntry(Struct, frozen=True, kw_only=True):
    values: list[TrendPoint] = []
    better: str | None = None  # "lower", "higher", None: neither
    change_points: list[ChangePointEntry] = []


class ModelEntry(Struct, frozen=True, kw_only=True):
    metrics: dict[str, MetricEntry] = {}


class RunEntry(Struct, frozen=True, kw_only=True):
    run_id: str
    time: str
    labels: dict[str, str] = {}
    partial: bool = False


class SeriesEntry(Struct, frozen=True, kw_only=True):
    models: dict[str, ModelEntry] = {}
    description: str = ""
    runs: list[RunEntry] = []  # oldest first


class TrendReport(Struct, frozen=True, kw_only=True):
    schema: int = SCHEMA
    series: dict[str, SeriesEntry] = {}
    generated_at: str = ""
    method: str = ""  # how the change points were found, in words
    max_p_value: float = 0.0
    min_change_pct: float = 0.0


def encode_trend_report(report: TrendReport) -> bytes:
    """Compact JSON: a thousand runs of four models hold 400,000 values."""
    return msgspec.json.encode(report) + b"\n"


def decode_trend_report(data: bytes | str) -> TrendReport:
    """trend.json's text; msgspec.DecodeError or ValidationError when it is not one."""
    return msgspec.json.decode(data, type=TrendReport)
