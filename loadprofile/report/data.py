"""Everything the report shows, loaded from the run folder alone (never Locust, never the runner).

A run folder may come from a run that was killed hard: summary.json missing, the last CSV row
cut off, an interval log ending mid-line. Loading is therefore defensive: every run.json key is
optional (a torn run.json reads as an empty one), numeric CSV columns are coerced (a torn row
becomes NaN, not an exception), and a missing or torn summary is rebuilt from the logs and
marked partial. A JSON file holding a value of the wrong type is no run folder's: ReportError.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from hdrh.histogram import HdrHistogram

from loadprofile.contract.run_meta import RunMeta, decode_run_meta
from loadprofile.contract.summary import (
    GeneratorHealth,
    LoadSettings,
    PhaseFigures,
    Summary,
    TargetInfo,
    decode_summary,
    given,
)
from loadprofile.core.collector import new_histogram
from loadprofile.core.generator_health import CPU_BOUND_PERCENT
from loadprofile.core.hdr import value_at_percentiles
from loadprofile.core.summary import build_summary
from loadprofile.rundir import reader as rundir_read
from loadprofile.rundir import writer as rundir
from loadprofile.rundir.hlog import Interval, read_hlog
from loadprofile.rundir.view import SideError, TornFile, read_model

_US_PER_MS = 1000.0
_TEXT_COLUMNS = (
    "model",
    "conversation_id",
    "request_id",
    "error_class",
    "error",
    "bound",
    "connection",
)
#: What the report reads of requests.csv.
REPORT_REQUEST_COLUMNS = (
    "model",
    "turn",
    "prompt_chars",
    "prompt_tokens",
    "ttft_ms",
    "error_class",
    "error",
    "connection",
    "connect_ms",
)


class ReportError(Exception):
    """The folder cannot be reported on (it is not a run folder)."""


@dataclass
class MetricHistory:
    """One model's metric: its interval histograms in time order, and their exact merge."""

    intervals: list[Interval] = field(default_factory=list)
    total: HdrHistogram = field(default_factory=new_histogram)


@dataclass(frozen=True)
class BoundInterval:
    """One interval the load generator itself judged too busy to trust (generator.csv)."""

    start_s: float
    end_s: float
    reasons: str
    cpu_percent: float | None = None
    loop_lag_ms: float | None = None


@dataclass
class ReportData:
    """The run folder in memory; histogram values are microseconds, DataFrame times ms."""

    run_dir: Path
    run: RunMeta
    summary: Summary
    summary_rebuilt: bool
    models: list[str]
    requests: pd.DataFrame
    timeseries: pd.DataFrame
    generator: pd.DataFrame
    histograms: dict[str, dict[str, MetricHistory]]
    bound: list[BoundInterval] = field(default_factory=list)

    @property
    def load(self) -> LoadSettings | None:
        """The run's load settings (run.json's, else the summary's copy); None if neither."""
        return self.run.load or self.summary.load

    @property
    def phases(self) -> list[PhaseFigures]:
        """summary.json's phases (with per-model figures), else run.json's plain plan."""
        if self.summary.phases:
            return self.summary.phases
        return [
            PhaseFigures(name=p.name, start_s=p.start_s, end_s=p.end_s, users=p.users)
            for p in self.run.phases or []
        ]

    @property
    def generator_stats(self) -> GeneratorHealth | None:
        """summary.json's "generator" (the run's own health record), else run.json's copy."""
        return given(self.summary.generator) or given(self.run.generator)

    @property
    def partial(self) -> bool:
        """A run is partial if either file says so, or its summary had to be rebuilt."""
        return self.summary.partial or self.run.partial or self.summary_rebuilt

    def history(self, model: str, metric: str) -> MetricHistory:
        return self.histograms.get(model, {}).get(metric) or MetricHistory()


def load_report_data(run_dir: Path) -> ReportData:
    """Read the whole run folder; raises ReportError if it is not one."""
    run_dir = Path(run_dir)
    has_run = (run_dir / rundir.RUN).is_file()
    if not has_run and not (run_dir / rundir.REQUESTS).is_file():
        raise ReportError(f"{run_dir}: not a loadprofile run folder (no run.json or requests.csv)")
    run = _read_run(run_dir / rundir.RUN) if has_run else RunMeta()
    summary, rebuilt = _load_summary(run_dir, run)
    requests = read_table(run_dir / rundir.REQUESTS, REPORT_REQUEST_COLUMNS)
    timeseries = read_table(run_dir / rundir.TIMESERIES, rundir.TIMESERIES_COLUMNS)
    known = model_order(run, summary, {}, requests, timeseries)
    histograms = load_histograms(run_dir, known)
    generator = read_table(run_dir / rundir.GENERATOR, rundir.GENERATOR_COLUMNS)
    has_bound = "bound" in csv_header(run_dir / rundir.GENERATOR)
    data = ReportData(
        run_dir=run_dir,
        run=run,
        summary=summary,
        summary_rebuilt=rebuilt,
        models=model_order(run, summary, histograms, requests, timeseries),
        requests=requests,
        timeseries=timeseries,
        generator=generator,
        histograms=histograms,
    )
    data.bound = generator_bound(generator, has_bound, data.generator_stats)
    return data


def csv_header(path: Path) -> list[str]:
    """The column names of a run-folder CSV ([] if missing): tells old folders from new."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", errors="replace") as fh:
        return fh.readline().strip().split(",")


def generator_bound(
    generator: pd.DataFrame, has_bound_column: bool, stats: GeneratorHealth | None = None
) -> list[BoundInterval]:
    """The seconds the generator itself marked as bound (its ``bound`` column, the run's own
    verdict); folders from before that column fall back to CPU >= CPU_BOUND_PERCENT, and a
    folder without generator.csv to summary.json's ``bound_intervals``."""
    frame = generator.dropna(subset=["start_s"]).sort_values("start_s")
    if frame.empty:
        return _bound_from_summary(stats)
    if has_bound_column:
        hot = frame.loc[frame["bound"].fillna("").str.strip() != ""]
        reasons = list(hot["bound"].str.strip())
    else:
        hot = frame.loc[frame["cpu_percent"] >= CPU_BOUND_PERCENT]
        reasons = [f"CPU {cpu:.0f}%" for cpu in hot["cpu_percent"]]
    ends = hot["end_s"].fillna(hot["start_s"] + 1.0)
    return [
        BoundInterval(float(a), float(b), why, _maybe(cpu), _maybe(lag))
        for a, b, why, cpu, lag in zip(
            hot["start_s"], ends, reasons, hot["cpu_percent"], hot["loop_lag_ms_max"], strict=True
        )
    ]


def _bound_from_summary(stats: GeneratorHealth | None) -> list[BoundInterval]:
    spans = stats.bound_intervals if stats is not None else []
    return [BoundInterval(float(a), float(b), "(reason not recorded)") for a, b in spans]


def _maybe(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and value == value else None


def _read_run(path: Path) -> RunMeta:
    """run.json, or an empty one if the file is torn (a torn write must not stop the
    report); ReportError if it holds a value of the wrong type."""
    try:
        return read_model(path, decode_run_meta)
    except TornFile:
        return RunMeta()
    except SideError as exc:
        raise ReportError(str(exc)) from None


def _load_summary(run_dir: Path, run: RunMeta) -> tuple[Summary, bool]:
    """(summary, rebuilt?): summary.json, else recomputed from the logs and requests.csv."""
    path = run_dir / rundir.SUMMARY
    if path.is_file():
        try:
            summary = read_model(path, decode_summary)
            if summary != Summary():  # an empty object says nothing: rebuild
                return summary, False
        except TornFile:
            pass  # torn by a crash: rebuild below
        except SideError as exc:
            raise ReportError(str(exc)) from None
    if (run_dir / rundir.REQUESTS).is_file():
        return rundir_read.rebuild_summary(run_dir, run), True
    # rebuild_summary needs requests.csv; with only run.json there is nothing measured.
    empty = build_summary(
        run_id=run.run_id or run_dir.name,
        started_at=run.started_at or "",
        duration_s=run.duration_s or 0.0,
        target=run.target or TargetInfo(),
        load=run.load,
        models={},
        partial=True,
    )
    return empty, True


def read_table(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """The ``columns`` of a run-folder CSV (others are not read: requests.csv of a million
    requests has 36); a missing file, a missing column or torn rows give NaN, not errors.
    Numbers are parsed as such in the C parser; a file with a value that is not one takes
    the careful path (every column as text, then coerced)."""
    if not path.is_file():
        return _empty_frame(columns)
    raw = rundir_read.complete_rows(path)
    header = raw[: raw.find(b"\n")].decode("utf-8", "replace").rstrip("\r").split(",")
    present = [c for c in columns if c in header]
    numeric = [c for c in present if c not in _TEXT_COLUMNS]
    try:
        frame = pd.read_csv(
            io.BytesIO(raw),
            usecols=present,
            on_bad_lines="skip",
            dtype={c: ("float64" if c in numeric else "str") for c in present},
            keep_default_na=False,
            na_values={c: [""] for c in numeric},
        )
    except pd.errors.EmptyDataError:
        return _empty_frame(columns)
    except ValueError:  # a value that is not a number: parse as text and coerce
        try:
            frame = pd.read_csv(
                io.BytesIO(raw),
                usecols=present,
                dtype=str,
                keep_default_na=False,
                on_bad_lines="skip",
            )
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            return _empty_frame(columns)
    for column in columns:
        if column not in frame.columns:
            frame[column] = ""
        if column in _TEXT_COLUMNS:
            frame[column] = frame[column].fillna("")
        else:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame.loc[:, list(columns)].reset_index(drop=True)


def _empty_frame(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=str if c in _TEXT_COLUMNS else float) for c in columns})


def load_histograms(
    run_dir: Path, known_models: list[str] | None = None
) -> dict[str, dict[str, MetricHistory]]:
    """model -> metric -> interval histograms and their merge, from every interval log.

    Without run.json's file map, logs are found by file name, which holds the model's slug
    ("org/model" -> "org_model"): the slug is mapped back to a known model name.
    """
    by_slug = {rundir.model_slug(m): m for m in known_models or []}
    out: dict[str, dict[str, MetricHistory]] = {}
    for name, metric, path in rundir_read.histogram_files(run_dir):
        _, intervals = read_hlog(path)
        model = name if name in (known_models or []) else by_slug.get(name, name)
        history = out.setdefault(model, {}).setdefault(metric, MetricHistory())
        history.intervals.extend(intervals)
        history.intervals.sort(key=lambda iv: iv.start_s)
        for interval in intervals:
            history.total.add(interval.histogram)
    return out


def model_order(
    run: RunMeta,
    summary: Summary,
    histograms: dict[str, dict[str, MetricHistory]],
    requests: pd.DataFrame,
    timeseries: pd.DataFrame,
) -> list[str]:
    """Models in run.json's order (the baseline first, as configured), then any others found."""
    ordered: list[str] = list(run.models)
    found = set(summary.models) | set(histograms)
    found |= set(requests["model"].dropna()) | set(timeseries["model"].dropna())
    ordered += sorted(m for m in found if m and m not in ordered)
    return list(dict.fromkeys(ordered))


def interval_percentiles(
    intervals: list[Interval], percentiles: tuple[float, ...] = (50.0, 99.0)
) -> pd.DataFrame:
    """Per-interval percentiles in ms: columns start_s, end_s, p50, p99."""
    rows: list[dict[str, float]] = []
    for interval in intervals:
        if not interval.histogram.get_total_count():
            continue
        values = value_at_percentiles(interval.histogram, list(percentiles))
        row = {"start_s": interval.start_s, "end_s": interval.end_s}
        row |= {_pkey(p): values.get(p, np.nan) / _US_PER_MS for p in percentiles}
        rows.append(row)
    columns = ["start_s", "end_s", *(_pkey(p) for p in percentiles)]
    return pd.DataFrame(rows, columns=columns)


def _pkey(percentile: float) -> str:
    return "p" + f"{percentile:g}".replace(".", "_")


def percentile_curve(hist: HdrHistogram, points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(percentiles 0-100, values ms) spaced evenly in log(1/(1-p)), in one pass over the counts.

    The curve runs out to where the data runs out (1 - 1/count, at least 99 %), which is as
    far as a percentile can say anything; the last point is the maximum.
    """
    count = hist.get_total_count()
    if not count:
        return np.empty(0), np.empty(0)
    nines = max(2.0, float(np.ceil(np.log10(count))))
    percentiles = 100.0 * (1.0 - 10.0 ** -np.linspace(0.0, nines, points))
    wanted = sorted({round(float(p), 9) for p in percentiles})
    values = value_at_percentiles(hist, wanted)
    kept = [p for p in wanted if p in values]
    ms = np.array([values[p] for p in kept], dtype=float) / _US_PER_MS
    return np.array(kept, dtype=float), ms


def successful_requests(requests: pd.DataFrame) -> pd.DataFrame:
    """Rows of requests that succeeded (no error class) and have a TTFT."""
    ok = (requests["error_class"].fillna("") == "") & requests["ttft_ms"].notna()
    return requests.loc[ok]


def ttft_over_time(data: ReportData, model: str) -> pd.DataFrame:
    """A model's TTFT p50/p95/p99 per interval (start_s, end_s, p50, p95, p99; NaN = no data):
    from timeseries.csv, or from the interval logs for folders written before those columns."""
    frame = data.timeseries.loc[data.timeseries["model"] == model].sort_values("start_s")
    columns = {"ttft_p50_ms": "p50", "ttft_p95_ms": "p95", "ttft_p99_ms": "p99"}
    if len(frame) and frame["ttft_p99_ms"].notna().any():
        picked = frame.loc[:, ["start_s", "end_s", *columns]].rename(columns=columns)
        return picked.reset_index(drop=True)
    intervals = data.history(model, "ttft_ms").intervals
    return interval_percentiles(intervals, (50.0, 95.0, 99.0))


__all__ = [
    "BoundInterval",
    "MetricHistory",
    "ReportData",
    "ReportError",
    "interval_percentiles",
    "load_report_data",
    "percentile_curve",
    "read_table",
    "successful_requests",
    "ttft_over_time",
]
