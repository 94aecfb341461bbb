"""Server-side metrics (``--server-metrics URL``): a scrape's text in, ``server_metrics.csv``
rows out, and back (pure core: no Locust, no plotting; the scraper lives in server_scrape).

Parsing uses ``prometheus_client``'s own text parser rather than a hand-written one: the
format has escaped label values, HELP/TYPE lines, NaN/Inf, timestamps and OpenMetrics
variants that a small regex gets wrong only on some real server. Its one normalisation is
kept: a counter's samples always end in ``_total`` (OpenMetrics), so a counter a server
exports without the suffix (llama.cpp's ``llamacpp:n_tokens_max``) is stored with it.

What is stored: every gauge, counter, summary and untyped sample, and the ``_sum`` and
``_count`` of histograms; not histogram ``_bucket`` series (vLLM exports ~15 histograms of
10-30 buckets per model: most of the file, for latencies the client measures exactly
anyway) nor ``_created`` timestamps (constants).

``server_metrics.csv`` is long format, one row per sample and scrape (``COLUMNS``): ``t_s``
seconds since the run's start (the clock of every interval in the run folder), ``source``
the scraped URL, ``name``, ``labels`` a compact JSON object ("" without labels), ``value``,
``type`` (gauge, counter, histogram, summary, unknown).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TextIO

from prometheus_client.parser import text_string_to_metric_families

COLUMNS = ("t_s", "source", "name", "labels", "value", "type")
_BUCKETED = ("histogram", "gaugehistogram")


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample of one scrape; ``labels`` in their stored form (``labels_text``)."""

    name: str
    labels: str
    value: float
    kind: str


def labels_text(labels: dict[str, str]) -> str:
    """Labels as a compact JSON object with sorted keys ("" when there are none): one form
    per label set, so rows of one series compare equal, and any value survives."""
    if not labels:
        return ""
    return json.dumps(labels, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def labels_of(text: str) -> dict[str, str]:
    """The labels back from their stored form ({} for "" or a damaged cell)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _unstored_lines_dropped(text: str) -> str:
    """``text`` without the sample lines that are not stored (``_bucket``, ``_created``).

    The parser is pure Python (~12 ms for a 1,000-line vLLM page, mostly histogram buckets)
    and runs in the process that times the streams, where it holds the event loop: cutting
    those lines first (a string test each) makes a scrape about ten times cheaper."""
    kept = []
    for line in text.splitlines():
        if line[:1] != "#":
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name.endswith(("_bucket", "_created")):
                continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def parse_scrape(text: str) -> list[Sample]:
    """The stored samples of one scrape; ValueError when the text is not Prometheus text
    (an HTML or JSON error page, a cut-off body) or holds no metrics at all."""
    samples: list[Sample] = []
    try:
        for family in text_string_to_metric_families(_unstored_lines_dropped(text)):
            kind = family.type if family.type != "untyped" else "unknown"
            for s in family.samples:
                if s.name.endswith("_created") or (
                    kind in _BUCKETED and s.name.endswith("_bucket")
                ):
                    continue
                samples.append(Sample(s.name, labels_text(s.labels), float(s.value), kind))
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        first = text.strip().splitlines()[0][:60] if text.strip() else ""
        raise ValueError(f"not Prometheus text ({exc or 'bad line'}; begins {first!r})") from None
    if not samples:
        raise ValueError("the answer holds no metrics")
    return samples


def _fmt_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.10g}"


def sample_rows(t_s: float, source: str, samples: Iterable[Sample]) -> Iterator[list[str]]:
    """The CSV rows (COLUMNS) of one scrape."""
    t = f"{t_s:.3f}"
    for s in samples:
        yield [t, source, s.name, s.labels, _fmt_value(s.value), s.kind]


class MetricsCsvWriter:
    """Appends scrapes to server_metrics.csv, flushed after each: an interrupted run keeps
    every scrape taken so far."""

    def __init__(self, path: Path) -> None:
        self._fh: TextIO | None = path.open("w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._fh)
        self._csv.writerow(COLUMNS)
        self._fh.flush()

    def write(self, t_s: float, source: str, samples: Iterable[Sample]) -> None:
        if self._fh is None:
            return
        self._csv.writerows(sample_rows(t_s, source, samples))
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


SeriesKey = tuple[str, str, str]  # (source, name, labels)


@dataclass
class Series:
    """One series of the file: its type and its (t_s, value) points in time order."""

    kind: str
    t: list[float] = field(default_factory=list)
    v: list[float] = field(default_factory=list)


def read_series(path: Path) -> dict[SeriesKey, Series]:
    """Every series of server_metrics.csv; a torn or damaged row (a killed run) is skipped."""
    out: dict[SeriesKey, Series] = {}
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        rows = csv.reader(fh)
        header = next(rows, None)
        if header is None or tuple(header[: len(COLUMNS)]) != COLUMNS:
            return out
        for row in rows:
            if len(row) < len(COLUMNS):
                continue
            try:
                t, value = float(row[0]), float(row[4])
            except ValueError:
                continue
            series = out.setdefault((row[1], row[2], row[3]), Series(row[5]))
            series.t.append(t)
            series.v.append(value)
    for series in out.values():  # rows are written in time order per source; be sure
        if any(b < a for a, b in pairwise(series.t)):
            pairs = sorted(zip(series.t, series.v, strict=True))
            series.t, series.v = [p[0] for p in pairs], [p[1] for p in pairs]
    return out


def scrape_times(series: dict[SeriesKey, Series]) -> dict[str, list[float]]:
    """Per source, the times of its successful scrapes (every scrape writes many series)."""
    times: dict[str, set[float]] = {}
    for (source, _, _), s in series.items():
        times.setdefault(source, set()).update(s.t)
    return {source: sorted(t) for source, t in times.items()}
