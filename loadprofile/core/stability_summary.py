"""summary.json's ``stability`` section from the --until-stable tracker (pure)."""

from __future__ import annotations

from loadprofile.contract.stability import Stability, StableFigure
from loadprofile.core.stability import METHOD, PercentileCheck, StabilityTracker


def stable_figure(check: PercentileCheck) -> StableFigure:
    ci = None
    if check.low_ms is not None and check.high_ms is not None:
        ci = [round(check.low_ms, 3), round(check.high_ms, 3)]
    return StableFigure(
        estimate_ms=check.estimate_ms,
        ci_ms=ci,
        half_width_pct=check.half_width_pct,
        drift_pct=check.drift_pct,
        values=check.values,
        met=check.met,
        note=check.note,
    )


def stability_section(tracker: StabilityTracker, stopped_because: str) -> Stability:
    """``stopped_because``: "stable", "time limit", "max requests" or "interrupted"."""
    return Stability(
        stopped_because=stopped_because,
        stable_after_s=None if tracker.stable_at_s is None else round(tracker.stable_at_s, 3),
        warmup_s=tracker.warmup_s,
        figures_from_s=tracker.warmup_s,
        min_time_s=tracker.min_time_s,
        ci_pct=tracker.bound_pct,
        metrics=[g.key for g in tracker.gated],
        method=METHOD,
        check_ms_max=round(tracker.check_ms_max, 3),
        models={
            model: {key: stable_figure(check) for key, check in checks.items()}
            for model, checks in tracker.checks.items()
        },
    )
