"""summary.json's ``stability`` section: why an ``--until-stable`` run stopped, and each
model's gated percentiles at the last check (pure: msgspec only)."""

from __future__ import annotations

from msgspec import Struct


class StableFigure(Struct, frozen=True, kw_only=True):
    """One gated percentile of one model at the last --until-stable check (ms)."""

    estimate_ms: float | None = None
    ci_ms: list[float] | None = None  # the 95 % interval [low, high]
    half_width_pct: float | None = None
    drift_pct: float | None = None  # the window's second half against its first
    values: int = 0
    met: bool = False
    note: str | None = None  # why it was not settled


class Stability(Struct, frozen=True, kw_only=True):
    """--until-stable: why the run stopped, and each model's last intervals."""

    stopped_because: str = ""  # "stable", "time limit", "max requests", "interrupted"
    stable_after_s: float | None = None
    warmup_s: float = 0.0
    figures_from_s: float = 0.0  # the whole-run figures cover the run from here on
    min_time_s: float = 0.0
    ci_pct: float = 0.0
    metrics: list[str] = []
    method: str = ""
    check_ms_max: float = 0.0  # the slowest check of one percentile (a slice of the loop)
    models: dict[str, dict[str, StableFigure]] = {}
