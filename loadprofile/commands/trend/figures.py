"""A run folder as the trend store records it: its identity and every figure of its summary,
per model, under the dotted names the gate and compare already use (``ttft_ms.p99``,
``error_rate``, ``correctness.contract_violation_rate``, ``cost.per_transaction.mean``), and
the load shape's phases as ``phases.<name>.ttft_ms.p99``.

Every number summary.json holds is taken (a figure added to the summary later is recorded
without a change here); what is not a measurement is left out: strings, flags, lists and
unset values, and the prices a cost was computed with.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from loadprofile.commands.trend.series import series_of
from loadprofile.commands.trend.store_api import RunFigures, StoredRun
from loadprofile.contract.run_meta import RunMeta
from loadprofile.contract.summary import Summary, given
from loadprofile.errors import UsageError
from loadprofile.rundir.view import SideError, model_view, read_summary

#: Subtrees that hold inputs, not measurements.
NOT_FIGURES = frozenset({"cost.prices"})
#: The store's time format: ISO-8601 UTC to the second, so text order is time order.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def read_run(
    run_dir: Path, *, labels: Mapping[str, str] | None = None, series: str | None = None
) -> RunFigures:
    """The run folder's record; UsageError (one line) when it is not a run folder."""
    try:
        summary, run, rebuilt = read_summary(run_dir)
    except SideError as exc:
        raise UsageError(str(exc)) from None
    found = series_of(run, summary, series)
    models = _models(run, summary)
    if not models:
        raise UsageError(f"{run_dir}: no model was measured in this run: nothing to add")
    stored = StoredRun(
        run_id=run.run_id or summary.run_id or run_dir.resolve().name,
        time=_start_time(run, summary, run_dir),
        series=found.key,
        version=(run.versions.loadprofile if run.versions else None) or "unknown",
        labels=dict(labels or {}),
        partial=run.partial or summary.partial or rebuilt,
        models=models,
        run_dir=str(run_dir.resolve()),
    )
    figures = {model: model_figures(summary, model) for model in models}
    return RunFigures(stored, figures, found.description)


def _models(run: RunMeta, summary: Summary) -> tuple[str, ...]:
    """The run's models in its own order (run.json's), then any only the summary has."""
    ordered = [m for m in run.models if m in summary.models]
    return tuple(ordered + sorted(set(summary.models) - set(ordered)))


def _start_time(run: RunMeta, summary: Summary, run_dir: Path) -> str:
    """The run's start in the store's format; a folder that never said (run.json torn by a
    crash) is placed by its files' time."""
    for text in (run.started_at, summary.started_at):
        if text:
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                continue
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC).strftime(TIME_FORMAT)
    return datetime.fromtimestamp(os.stat(run_dir).st_mtime, UTC).strftime(TIME_FORMAT)


def model_figures(summary: Summary, model: str) -> dict[str, float]:
    """Every figure of one model: its summary entry with correctness and cost, the
    run-level figures kept per model, and its figures in each phase."""
    figures = flatten(model_view(summary, model).tree)
    for name, per_model in (
        ("recovery_s", given(summary.recovery_s)),
        ("max_concurrency_within_slo", given(summary.max_concurrency_within_slo)),
    ):
        value = _figure((per_model or {}).get(model))
        if value is not None:
            figures[name] = value
    phases = given(summary.phases) or []
    if len(phases) > 1:  # a steady run's one phase repeats the run's own figures
        for phase in phases:
            in_phase = phase.models.get(model)
            if in_phase is not None:
                name = phase.name.replace(".", "_")  # a dot would split the name
                figures.update(flatten(msgspec.to_builtins(in_phase), f"phases.{name}."))
    return figures


def flatten(tree: Mapping[str, object], prefix: str = "") -> dict[str, float]:
    """The numbers of a JSON tree under dotted names (``ttft_ms.p99``)."""
    out: dict[str, float] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if name in NOT_FIGURES:
            continue
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        elif (figure := _figure(value)) is not None:
            out[name] = figure
    return out


def _figure(value: object) -> float | None:
    """A finite int or float as a figure; None for anything else (a bool is a flag)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
