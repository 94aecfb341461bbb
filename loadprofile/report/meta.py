"""The words around the numbers: run header, environment, generator health, error samples.

run.json is written by the runner and may lack any key (an older version, a hard kill), so
everything here reads with ``.get`` and turns whatever it finds into short display strings.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from loadprofile.report.plots import SUSPECT_CPU_PERCENT

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


def header(run: Mapping[str, Any], summary: Mapping[str, Any], run_dir_name: str) -> KeyValues:
    """The few facts a reader needs before the numbers: when, how long, against what."""
    target = run.get("target") or summary.get("target") or {}
    hosts = target.get("hosts") if isinstance(target, Mapping) else None
    kind = target.get("kind") if isinstance(target, Mapping) else None
    rows: KeyValues = [
        ("run id", show(summary.get("run_id") or run.get("run_id") or run_dir_name)),
        ("started at", show(summary.get("started_at") or run.get("started_at"))),
        ("ended at", show(run.get("ended_at"))),
        ("duration", fmt_duration(summary.get("duration_s", run.get("duration_s")))),
        ("target", " ".join(s for s in (show(kind) if kind else "", show(hosts)) if s)),
    ]
    if run.get("interrupted_by"):
        rows.append(("interrupted by", show(run.get("interrupted_by"))))
    if run.get("unfinished_at_stop"):
        rows.append(("unfinished at stop", show(run.get("unfinished_at_stop"))))
    return [(k, v) for k, v in rows if v and v != "–"]


@dataclass(frozen=True)
class TargetsTable:
    columns: list[str]
    rows: list[list[str]]


def targets(run: Mapping[str, Any]) -> TargetsTable:
    """The configured targets (name, model, host, weight...) as one small table."""
    found = run.get("targets")
    items = [t for t in found if isinstance(t, Mapping)] if isinstance(found, list) else []
    columns = list(dict.fromkeys(str(k) for t in items for k in t if k != "api_key_env"))
    rows = [[show(t.get(c)) for c in columns] for t in items]
    return TargetsTable(columns, rows)


def dataset(run: Mapping[str, Any]) -> KeyValues:
    data = run.get("dataset")
    if not isinstance(data, Mapping):
        return []
    rows = key_values(data, skip=("stats",))
    return rows + [(f"stats.{k}", v) for k, v in key_values(data.get("stats"))]


def environment(run: Mapping[str, Any]) -> KeyValues:
    """Versions, host and the exact command line: what it takes to reproduce the run."""
    rows = [(f"version: {k}", v) for k, v in key_values(run.get("versions"))]
    rows += [(f"host: {k}", v) for k, v in key_values(run.get("host"))]
    command = run.get("command")
    if isinstance(command, list) and command:
        rows.append(("command", shlex.join(str(part) for part in command)))
    elif isinstance(command, str):
        rows.append(("command", command))
    return rows


def warnings(run: Mapping[str, Any]) -> list[str]:
    found = run.get("warnings")
    if isinstance(found, str):
        return [found]
    return [str(w) for w in found] if isinstance(found, list) else []


@dataclass
class GeneratorHealth:
    """The load generator's own CPU: where it may have been the bottleneck, not the server."""

    mean: float | None = None
    max: float | None = None
    samples: int = 0
    suspect: list[str] = field(default_factory=list)
    suspect_seconds: float = 0.0


def generator_health(generator: pd.DataFrame, run: Mapping[str, Any]) -> GeneratorHealth:
    """From generator.csv; falls back to run.json's summary when the samples are missing."""
    frame = generator.dropna(subset=["start_s", "cpu_percent"]).sort_values("start_s")
    if frame.empty:
        stats = run.get("generator")
        if not isinstance(stats, Mapping):
            return GeneratorHealth()
        return GeneratorHealth(
            _num(stats.get("cpu_percent_mean")), _num(stats.get("cpu_percent_max"))
        )
    hot = frame.loc[frame["cpu_percent"] > SUSPECT_CPU_PERCENT]
    ends = hot["end_s"].fillna(hot["start_s"])
    spans = _merge_spans(list(zip(hot["start_s"], ends, strict=True)))
    return GeneratorHealth(
        mean=float(frame["cpu_percent"].mean()),
        max=float(frame["cpu_percent"].max()),
        samples=len(frame),
        suspect=[f"{a:g}–{b:g} s" for a, b in spans],
        suspect_seconds=float(sum(b - a for a, b in spans)),
    )


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _merge_spans(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
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
