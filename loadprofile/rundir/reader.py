"""Reading a run folder back: the time series, the totals, and the summary of a run that
died before writing it (the report's way in when summary.json is missing).

Everything here reads only the files ``rundir`` writes, so a run made anywhere (twenty
workers last night) is rebuilt the same on a laptop today.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import msgspec
from msgspec import UNSET

from loadprofile.contract.run_meta import RunMeta, decode_run_meta
from loadprofile.contract.summary import Summary, TargetInfo
from loadprofile.core.collector import ModelTotals, RequestSlo
from loadprofile.core.cost import run_cost
from loadprofile.core.counts import Counts, count_usage, widen_window
from loadprofile.core.loadplan import Phase
from loadprofile.core.metrics import HISTOGRAM_METRICS
from loadprofile.core.phases import SeriesPoint, phase_index, phases_from_json, summary_extras
from loadprofile.core.summary import build_summary
from loadprofile.rundir.hlog import read_hlog
from loadprofile.rundir.writer import HISTOGRAMS, REQUESTS, RUN, TIMESERIES, model_slug


def read_series(run_dir: Path) -> list[SeriesPoint]:
    """timeseries.csv back as SeriesPoints (rows torn by a crash are skipped)."""
    path = run_dir / TIMESERIES
    if not path.exists():
        return []
    text = complete_rows(path).decode("utf-8", "replace")
    points = []
    for row in csv.DictReader(io.StringIO(text, newline="")):
        try:
            points.append(
                SeriesPoint(
                    float(row["start_s"]),
                    float(row["end_s"]),
                    row["model"],
                    int(row["users"]),
                    int(row["requests"]),
                    int(row["failures"]),
                    int(row.get("good") or 0),
                    int(row["output_tokens"]),
                    *(_float_or_none(row.get(f"ttft_{p}_ms")) for p in ("p50", "p95", "p99")),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return points


def _float_or_none(text: str | None) -> float | None:
    return float(text) if text else None


def read_run_meta(run_dir: Path) -> RunMeta:
    """The folder's run.json (an empty RunMeta without one, or for one torn by a crash);
    msgspec.ValidationError (a ValueError) when it holds a value of the wrong type."""
    path = run_dir / RUN
    if not path.exists():
        return RunMeta()
    try:
        return decode_run_meta(path.read_bytes())
    except msgspec.ValidationError:
        raise
    except msgspec.DecodeError:  # not JSON (torn mid-write): as if it were missing
        return RunMeta()


def load_totals(run_dir: Path) -> dict[str, ModelTotals]:
    """Whole-run histograms and counts, rebuilt from the interval logs and requests.csv."""
    run = read_run_meta(run_dir)
    slo = RequestSlo(run.load.slo_ttft_ms, run.load.slo_tpot_ms) if run.load else RequestSlo()
    totals: dict[str, ModelTotals] = {}
    for model in run.models:
        totals.setdefault(model, ModelTotals())
    for model, metric, path in histogram_files(run_dir):
        _, intervals = read_hlog(path)
        target = totals.setdefault(model, ModelTotals()).histograms[metric]
        for iv in intervals:
            target.add(iv.histogram)
    for row in read_request_rows(run_dir):
        _count_row(totals.setdefault(row["model"], ModelTotals()).counts, row, slo)
    return totals


def load_phase_totals(
    run_dir: Path, phases: list[Phase], series: list[SeriesPoint]
) -> dict[int, dict[str, ModelTotals]]:
    """Per-phase totals rebuilt from the files: each logged interval goes to the phase that
    holds its midpoint (as the live collector files it); counts come from the time series."""
    totals: dict[int, dict[str, ModelTotals]] = {}

    def slot(t_s: float, model: str) -> ModelTotals | None:
        index = phase_index(phases, t_s)
        if index is None:
            return None
        return totals.setdefault(index, {}).setdefault(model, ModelTotals())

    for model, metric, path in histogram_files(run_dir):
        for iv in read_hlog(path)[1]:
            target = slot((iv.start_s + iv.end_s) / 2.0, model)
            if target is not None:
                target.histograms[metric].add(iv.histogram)
    for point in series:
        target = slot(point.midpoint_s, point.model)
        if target is not None:
            target.counts.add(
                Counts(
                    requests=point.requests,
                    failures=point.failures,
                    output_tokens=point.output_tokens,
                    good=point.good,
                )
            )
    return totals


def complete_rows(path: Path) -> bytes:
    """A run-folder CSV without a last row cut off by a crash (every row ends with a newline;
    half a row would invent a model from half its name)."""
    raw = path.read_bytes()
    return raw if raw.endswith(b"\n") else raw[: raw.rfind(b"\n") + 1]


def read_request_rows(run_dir: Path) -> list[dict[str, str]]:
    return list(iter_request_rows(run_dir))


def iter_request_rows(run_dir: Path) -> Iterator[dict[str, str]]:
    """requests.csv row by row (a run may hold millions), without a last row cut off by a
    crash (every row ends with a newline: half a row would invent a model from half its
    name)."""
    path = run_dir / REQUESTS
    if not path.exists() or not path.stat().st_size:
        return
    with path.open("rb") as raw:
        raw.seek(-1, io.SEEK_END)
        torn = raw.read(1) != b"\n"
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        held: dict[str, str] | None = None
        for row in csv.DictReader(fh):
            if held is not None:
                yield held
            held = row
        if held is not None and not torn:
            yield held


def _count_row(counts: Counts, row: dict[str, str], slo: RequestSlo) -> None:
    counts.requests += 1
    widen_window(counts, float(row["start_unix"] or 0.0), _float_or_none(row["e2e_service_ms"]))
    earlier = [c for c in (row.get("attempt_errors") or "").split(";") if c]
    if earlier:
        counts.retried += 1
        counts.retry_attempts += len(earlier)
        counts.recovered += not row["error_class"]
        counts.attempt_errors.update(earlier)
    counts.first_attempt_failures += bool(earlier or row["error_class"])
    counts.notes.update(n for n in (row.get("contract_notes") or "").split(";") if n)
    if row.get("ungrounded"):
        counts.grounding_checked += 1
        counts.grounding_flagged += row["ungrounded"] != "-"
    if row.get("json_valid"):
        counts.json_checked += 1
        counts.json_valid += row["json_valid"] == "1"
    if row["error_class"]:
        counts.failures += 1
        counts.errors[row["error_class"]] += 1
        counts.failed_output_tokens += int(row["output_tokens"] or 0)
        return
    counts.output_tokens += int(row["output_tokens"] or 0)
    counts.prompt_tokens += int(row["prompt_tokens"] or 0)
    counts.estimated_tokens += int(row["tokens_estimated"] or 0)
    if row.get("output_chars") and not int(row["tokens_estimated"] or 0):
        count_usage(
            counts,
            int(row["prompt_tokens"] or 0),
            int(row["output_tokens"] or 0),
            int(row["prompt_chars"] or 0),
            int(row["output_chars"]),
        )
    if row.get("cached_tokens"):
        counts.cached_requests += 1
        counts.cached_tokens += int(row["cached_tokens"])
    counts.good += slo.met_by(True, _float_or_none(row["ttft_ms"]), _float_or_none(row["tpot_ms"]))


def histogram_files(run_dir: Path) -> list[tuple[str, str, Path]]:
    """(model, metric, path) for every interval log; model names come from run.json."""
    run = read_run_meta(run_dir)
    found: list[tuple[str, str, Path]] = []
    for model, files in (run.histograms or {}).items():
        for metric, rel in files.items():
            if metric in HISTOGRAM_METRICS and (run_dir / rel).exists():
                found.append((model, metric, run_dir / rel))
    if found:
        return found
    # A run killed before run.json listed its logs: map file names back to model labels.
    by_slug = {model_slug(m): m for m in run.models}
    for path in sorted((run_dir / HISTOGRAMS).glob("*.hlog")):
        slug, _, metric = path.stem.rpartition(".")
        if metric in HISTOGRAM_METRICS:
            found.append((by_slug.get(slug, slug), metric, path))
    return found


def rebuild_summary(run_dir: Path, run: RunMeta | None = None) -> Summary:
    """summary.json for a run that died before writing it: marked partial. ``run``: the
    folder's run.json, already read."""
    run = read_run_meta(run_dir) if run is None else run
    duration = _last_interval_end(run_dir) or float(run.duration_s or 0.0)
    totals = load_totals(run_dir)
    phases = phases_from_json(run.phases or [])
    series = read_series(run_dir)
    timeline = summary_extras(
        run.load,
        phases,
        load_phase_totals(run_dir, phases, series),
        series,
        sorted(totals),
        (run.load_duration_s if run.load_duration_s is not UNSET else None) or duration,
    )
    return build_summary(
        run_id=run.run_id or run_dir.name,
        started_at=run.started_at or "",
        duration_s=duration,
        target=run.target or TargetInfo(),
        load=run.load,
        models=totals,
        partial=True,
        timeline=timeline,
        canonical=run.models[0] if run.models else None,
        cost=run_cost(run, iter_request_rows(run_dir)),
    )


def _last_interval_end(run_dir: Path) -> float | None:
    path = run_dir / TIMESERIES
    if not path.exists():
        return None
    end = None
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                end = float(row["end_s"])
            except (KeyError, ValueError):
                continue
    return end
