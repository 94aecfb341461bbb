"""The words around the numbers: run header, load, environment, generator health, errors.

run.json is written by the runner and may lack any key (an older version, a hard kill): its
model (contract.run_meta) then holds None or UNSET, and everything here turns whatever it
finds into short display strings.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pandas as pd

from loadprofile.config.redaction import redact_argv
from loadprofile.contract.run_meta import RunMeta, WorkerEntry
from loadprofile.contract.summary import GeneratorHealth, Summary, Thresholds, given
from loadprofile.core.generator_health import (
    CPU_BOUND_PERCENT,
    LOOP_LAG_BOUND_MS,
    START_DELAY_BOUND_MS,
)
from loadprofile.report.data import BoundInterval

KeyValues = list[tuple[str, str]]
_MAX_TEXT = 300


def show(value: Any) -> str:
    """A run.json value as one short line: lists joined, dicts as compact JSON."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(show(v) for v in value) if value else "–"
    if isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    else:
        text = str(value)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def key_values(mapping: Any, skip: tuple[str, ...] = ()) -> KeyValues:
    if not isinstance(mapping, Mapping):
        return []
    return [(str(k), show(v)) for k, v in mapping.items() if k not in skip]


def fmt_duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or seconds != seconds:
        return "–"
    minutes, secs = divmod(float(seconds), 60.0)
    if minutes < 1:
        return f"{secs:.1f} s"
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02.0f} s"
    return f"{minutes} min {secs:02.0f} s"


def header(run: RunMeta, summary: Summary, run_dir_name: str) -> KeyValues:
    """The few facts a reader needs before the numbers: when, how long, against what."""
    target = run.target or summary.target
    kind = show(target.kind) if target.kind else ""
    rows: KeyValues = [
        ("run id", show(summary.run_id or run.run_id or run_dir_name)),
        ("started at", show(summary.started_at or run.started_at)),
        ("ended at", show(run.ended_at)),
        ("duration", fmt_duration(summary.duration_s)),
        ("target", " ".join(s for s in (kind, show(target.hosts)) if s)),
    ]
    if run.interrupted_by:
        rows.append(("interrupted by", show(run.interrupted_by)))
    if run.unfinished_at_stop:
        rows.append(("unfinished at stop", show(run.unfinished_at_stop)))
    return [(k, v) for k, v in rows if v and v != "–"]


@dataclass(frozen=True)
class TargetsTable:
    columns: list[str]
    rows: list[list[str]]


def targets(run: RunMeta) -> TargetsTable:
    """The configured targets (name, model, host, weight...) as one small table."""
    items: list[dict[str, object]] = [msgspec.to_builtins(t) for t in run.targets]
    # A column no target sets (an empty extra_body) says nothing.
    keys = [str(k) for t in items for k, v in t.items() if k != "api_key_env" and not is_unset(v)]
    columns = list(dict.fromkeys(keys))
    rows = [[show(t.get(c)) for c in columns] for t in items]
    return TargetsTable(columns, rows)


def is_unset(value: Any) -> bool:
    """None, "", {} and []: a setting the run did not use (not a value of 0 or False)."""
    return value is None or (isinstance(value, str | list | tuple | Mapping) and not value)


_WORKER_COLUMNS = (
    "host",
    "pid",
    "status",
    "requests",
    "cpu_percent_mean",
    "cpu_percent_max",
    "first_report_s",
    "last_report_s",
    "lost_at_s",
    "note",
)


def workers(run: RunMeta) -> TargetsTable:
    """A distributed run's workers (run.json), one row each; empty for a local run."""
    rows = [
        [
            show(w.host),
            show(w.pid),
            show(w.status),
            show(w.requests),
            show(w.cpu_percent_mean),
            show(w.cpu_percent_max),
            show(w.first_report_s),
            show(w.last_report_s),
            show(w.lost_at_s),
            show(w.note),
        ]
        for w in run.workers or []
    ]
    return TargetsTable(list(_WORKER_COLUMNS), rows)


def unfinished_workers(workers: list[WorkerEntry]) -> list[str]:
    """'host (pid N): status, note' for every worker that did not finish its share."""
    return [
        f"{show(w.host)} (pid {show(w.pid)}): {show(w.status)}"
        + (f", {show(w.note)}" if w.note else "")
        for w in workers
        if w.partial and w.status != "refused"
    ]


def environment(run: RunMeta) -> KeyValues:
    """Versions, host and the exact command line: what it takes to reproduce the run."""
    versions = msgspec.to_builtins(run.versions) if run.versions else {}
    host = msgspec.to_builtins(run.host) if run.host else {}
    rows = [(f"version: {k}", v) for k, v in key_values(versions)]
    rows += [(f"host: {k}", v) for k, v in key_values(host)]
    if run.command:
        # redacted again: a run folder from an older loadprofile recorded it verbatim
        rows.append(("command", shlex.join(redact_argv(run.command))))
    return rows


def warnings(run: RunMeta) -> list[str]:
    return list(run.warnings)


@dataclass
class GeneratorView:
    """The load generator's own health: where it, not the server, may have been the limit."""

    mean: float | None = None
    max: float | None = None
    samples: int = 0
    loop_lag_max: float | None = None
    late_starts: int | None = None
    starts_without_free_user: int | None = None
    suspect: list[str] = field(default_factory=list)
    suspect_seconds: float = 0.0
    bound: list[BoundInterval] = field(default_factory=list)
    thresholds: KeyValues = field(default_factory=list)


def generator_health(
    generator: pd.DataFrame, stats: GeneratorHealth | None, bound: list[BoundInterval]
) -> GeneratorView:
    """From generator.csv and the run's own bound verdict (``bound``); summary.json's
    "generator" fills what the samples lack (or everything when they are missing)."""
    stats = stats or GeneratorHealth()
    spans = merge_spans([(b.start_s, b.end_s) for b in bound])
    health = GeneratorView(
        mean=given(stats.cpu_percent_mean),
        max=given(stats.cpu_percent_max),
        loop_lag_max=given(stats.loop_lag_ms_max),
        late_starts=given(stats.late_starts),
        starts_without_free_user=given(stats.starts_without_free_user),
        suspect=[f"{a:g}–{b:g} s" for a, b in spans],
        suspect_seconds=round(float(sum(b - a for a, b in spans)), 3),
        bound=bound,
        thresholds=_thresholds(given(stats.thresholds)),
    )
    frame = generator.dropna(subset=["start_s", "cpu_percent"])
    if frame.empty:
        return health
    lag = frame["loop_lag_ms_max"]
    health.mean = float(frame["cpu_percent"].mean())
    health.max = float(frame["cpu_percent"].max())
    health.samples = len(frame)
    health.loop_lag_max = float(lag.max()) if lag.notna().any() else health.loop_lag_max
    return health


def limits(stats: GeneratorHealth | None) -> tuple[float, float]:
    """(CPU %, loop lag ms) past which the run marks a second bound: the run's own record,
    else today's constants."""
    found = (given(stats.thresholds) if stats is not None else None) or Thresholds()
    return found.cpu_percent or CPU_BOUND_PERCENT, found.loop_lag_ms or LOOP_LAG_BOUND_MS


def _thresholds(found: Thresholds | None) -> KeyValues:
    found = found or Thresholds()
    cpu = found.cpu_percent or CPU_BOUND_PERCENT
    lag = found.loop_lag_ms or LOOP_LAG_BOUND_MS
    delay = found.start_delay_ms or START_DELAY_BOUND_MS
    return [
        ("CPU", f"≥ {cpu:g} % of one core"),
        ("event-loop lag", f"≥ {lag:g} ms"),
        ("open loop: a request sent late", f"> {delay:g} ms after it was due"),
    ]


def merge_spans(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Adjacent or overlapping [start, end] intervals joined into one."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1e-6:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((float(start), float(end)))
    return merged


@dataclass(frozen=True)
class ErrorSample:
    model: str
    error_class: str
    count: int
    message: str


def error_samples(requests: pd.DataFrame, limit: int = 12) -> list[ErrorSample]:
    """The most frequent (model, class, message) failures: the first thing to read on a bad run."""
    failed = requests.loc[requests["error_class"].fillna("") != ""]
    if failed.empty:
        return []
    counts = (
        failed.assign(error=failed["error"].fillna("").str.slice(0, _MAX_TEXT))
        .groupby(["model", "error_class", "error"], sort=False)
        .size()
        .sort_values(ascending=False, kind="stable")
        .head(limit)
    )
    return [ErrorSample(str(m), str(c), int(n), str(e)) for (m, c, e), n in counts.items()]
