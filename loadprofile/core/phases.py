"""Per-phase figures, recovery after a spike, and the capacity a step run found (pure).

Inputs are what the run folder keeps: the plan's phases, per-phase histogram totals (exact
merges of whole intervals) and the per-interval time series (users, counts, TTFT p99).
The live session and a rebuild from the files both come through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from statistics import median_high

from msgspec import UNSET

from loadprofile.contract.summary import (
    LoadSettings,
    ModelFigures,
    PhaseFigures,
    PhaseModelFigures,
    PhasePlan,
)
from loadprofile.core.collector import ModelTotals
from loadprofile.core.loadplan import Phase
from loadprofile.core.summary import Timeline, model_summary

#: A spike is over for a model when its 1 s TTFT p99 is back within this factor of the
#: 'before' phase's p99 ...
RECOVERY_FACTOR = 1.2
#: ... and stays there for this many intervals with data (one lucky second is not recovery).
RECOVERY_HOLD_INTERVALS = 3


def phase_model_figures(full: ModelFigures, users: int) -> PhaseModelFigures:
    """A phase's figures of one model: its users, counts, rates and distributions."""
    return PhaseModelFigures(
        users=users,
        requests=full.requests,
        failures=full.failures,
        error_rate=full.error_rate,
        errors=full.errors,
        requests_per_s=full.requests_per_s,
        output_tokens_per_s=full.output_tokens_per_s,
        good_requests=full.good_requests,
        goodput_per_s=full.goodput_per_s,
        ttft_ms=full.ttft_ms,
        itl_ms=full.itl_ms,
        tpot_ms=full.tpot_ms,
        e2e_ms=full.e2e_ms,
        ttft_service_ms=full.ttft_service_ms,
        e2e_service_ms=full.e2e_service_ms,
        ttft_first_attempt_ms=full.ttft_first_attempt_ms,
        e2e_first_attempt_ms=full.e2e_first_attempt_ms,
        ttfvt_ms=full.ttfvt_ms,
        prompt_tokens=full.prompt_tokens,
        cached_prompt_tokens=full.cached_prompt_tokens,
    )


@dataclass(frozen=True)
class SeriesPoint:
    """One interval of one model, as timeseries.csv holds it."""

    start_s: float
    end_s: float
    model: str
    users: int
    requests: int
    failures: int
    good: int
    output_tokens: int
    ttft_p50_ms: float | None = None
    ttft_p95_ms: float | None = None
    ttft_p99_ms: float | None = None

    @property
    def midpoint_s(self) -> float:
        return (self.start_s + self.end_s) / 2.0


def phase_summaries(
    phases: Sequence[Phase],
    totals: dict[int, dict[str, ModelTotals]],
    series: Iterable[SeriesPoint],
    models: Sequence[str],
    retries: bool = False,
) -> list[PhaseFigures]:
    """summary.json's "phases": per phase, per model, the same figures as the whole run."""
    points = list(series)
    out = []
    for i, phase in enumerate(phases):
        duration = phase.end_s - phase.start_s
        per_model: dict[str, PhaseModelFigures] = {}
        for model in models:
            # A phase's rates divide by its own edges (its requests' window would
            # reach into the next phase's time).
            full = model_summary(
                totals.get(i, {}).get(model) or ModelTotals(),
                duration,
                retries,
                request_window=False,
            )
            users = [
                p.users
                for p in points
                if p.model == model and phase_index(phases, p.midpoint_s) == i
            ]
            # The median: edge intervals hold part of a ramp (or users finishing the request
            # they were in when a ramp-down stopped them), not the phase's own load.
            per_model[model] = phase_model_figures(full, median_high(users) if users else 0)
        out.append(
            PhaseFigures(
                name=phase.name,
                start_s=phase.start_s,
                end_s=phase.end_s,
                users=phase.users,
                models=per_model,
            )
        )
    return out


def recovery_seconds(
    series: Iterable[SeriesPoint], model: str, burst_end_s: float, before_p99_ms: float | None
) -> float | None:
    """Seconds after the burst until the model's 1 s TTFT p99 is back within
    RECOVERY_FACTOR of its 'before' p99 (for RECOVERY_HOLD_INTERVALS intervals); None if
    never, or if there is no 'before' figure to recover to."""
    if before_p99_ms is None:
        return None
    bound = RECOVERY_FACTOR * before_p99_ms
    after = [
        p
        for p in series
        if p.model == model and p.midpoint_s >= burst_end_s and p.ttft_p99_ms is not None
    ]
    after.sort(key=lambda p: p.start_s)
    for i, point in enumerate(after):
        window = after[i : i + RECOVERY_HOLD_INTERVALS]
        if all(p.ttft_p99_ms is not None and p.ttft_p99_ms <= bound for p in window):
            return round(max(0.0, point.start_s - burst_end_s), 3)
    return None


def spike_recovery(
    phases: list[PhaseFigures], series: Iterable[SeriesPoint], models: Sequence[str]
) -> dict[str, float | None]:
    """summary.json's "recovery_s" for a spike run (phases before, burst, after)."""
    by_name = {p.name: p for p in phases}
    before, burst = by_name.get("before"), by_name.get("burst")
    if before is None or burst is None:
        return {}
    points = list(series)
    out: dict[str, float | None] = {}
    for model in models:
        figures = before.models.get(model)
        before_p99 = figures.ttft_ms.p99 if figures is not None else None
        out[model] = recovery_seconds(points, model, burst.end_s, before_p99)
    return out


def max_concurrency_within_slo(
    phases: list[PhaseFigures], models: Sequence[str], slo_ttft_p99_ms: float
) -> dict[str, int]:
    """For a step run: each model's highest user count whose step kept TTFT p99 within the
    SLO, with every lower step within it too (0 when even the first step broke it)."""
    out: dict[str, int] = {}
    for model in models:
        best = 0
        for phase in phases:
            figures = phase.models.get(model)
            if figures is None or not figures.users:
                continue  # no user of this model in this step (fewer users than models)
            p99 = figures.ttft_ms.p99
            if p99 is None or p99 > slo_ttft_p99_ms:
                break
            best = figures.users
        out[model] = best
    return out


def phase_index(phases: Sequence[Phase], t_s: float) -> int | None:
    """Index of the phase holding ``t_s``; time after the last phase (the drain) is its."""
    for i, phase in enumerate(phases):
        if phase.start_s <= t_s < phase.end_s:
            return i
    return len(phases) - 1 if phases and t_s >= phases[-1].end_s else None


def phases_from_json(raw: Sequence[PhasePlan]) -> list[Phase]:
    """run.json's (or summary.json's) "phases" back as the plan's Phase objects."""
    return [Phase(p.name, p.start_s, p.end_s, p.users) for p in raw]


def clip_phases(phases: Sequence[Phase], load_end_s: float | None) -> list[Phase]:
    """The phases as the load really ran: a run stopped early ends its phase there (and has
    none after), a run that went on (plain Locust without -t) extends its last phase, so
    per-phase rates divide by the time the phase really had. Indices stay the plan's."""
    if load_end_s is None:
        return list(phases)
    out: list[Phase] = []
    for i, phase in enumerate(phases):
        if i and phase.start_s >= load_end_s:
            break
        last = i == len(phases) - 1
        out.append(replace(phase, end_s=load_end_s if last else min(phase.end_s, load_end_s)))
    return out


def summary_extras(
    load: LoadSettings | None,
    phases: Sequence[Phase],
    totals: dict[int, dict[str, ModelTotals]],
    series: Sequence[SeriesPoint],
    models: Sequence[str],
    load_end_s: float | None = None,
) -> Timeline:
    """The top-level summary.json keys about the run's timeline: "phases", and "recovery_s"
    for a spike or "max_concurrency_within_slo" for a step run with --slo-ttft-p99-ms."""
    phases = clip_phases(phases, load_end_s)
    if not phases:
        return Timeline()
    load = load or LoadSettings()
    entries = phase_summaries(phases, totals, series, models, bool(load.retries))
    slo = load.slo_ttft_p99_ms
    return Timeline(
        phases=entries,
        recovery_s=spike_recovery(entries, series, models) if load.shape == "spike" else UNSET,
        max_concurrency_within_slo=max_concurrency_within_slo(entries, models, slo)
        if load.shape == "step" and slo
        else UNSET,
    )
