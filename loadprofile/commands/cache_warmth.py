"""Were the two sides equally warm? Prefix-cache shares beside a latency verdict.

A server answers a prompt it has prefilled before sooner, so a baseline that replayed the
dataset many times against a candidate that saw it once differ in TTFT for a reason that is
not the model. The canary run warms both first (``--warm-cache``); whatever happened, the
gate, compare and the report say how much of each side's prompt tokens its cache served, and
flag a difference large enough to move a latency verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from loadprofile.contract.run_meta import RunMeta
from loadprofile.contract.summary import ModelFigures

#: Shares further apart than this (of prompt tokens) are flagged: a latency verdict between
#: the two compares a warm cache with a cold one.
CACHE_SHARE_GAP = 0.10


@dataclass(frozen=True)
class CacheWarmth:
    baseline: str
    candidate: str
    baseline_share: float | None  # of its prompt tokens, the share its cache served
    candidate_share: float | None
    warmed: int | None = None  # prompts each model was sent before the load (--warm-cache)

    @property
    def differs(self) -> bool:
        if self.baseline_share is None or self.candidate_share is None:
            return False
        return abs(self.baseline_share - self.candidate_share) > CACHE_SHARE_GAP

    def line(self) -> str | None:
        """One line for the console, gate.md and the report; None when nothing is known."""
        if self.baseline_share is None and self.candidate_share is None and not self.warmed:
            return None
        shares = (
            f"prompt tokens served from cache: {self.baseline} {_pct(self.baseline_share)}, "
            f"{self.candidate} {_pct(self.candidate_share)}"
        )
        if self.warmed:
            how = f"caches warmed before the load ({self.warmed} prompts to each model)"
            warning = " - still apart: read latency verdicts with care" if self.differs else ""
            return f"cache: {how}; {shares}{warning}"
        if self.differs:
            return (
                f"cache warmth differed: {shares}: latency verdicts compare a warm cache with "
                "a cold one (`--warm-cache on` warms both before the load)"
            )
        return f"cache: {shares}"

    def to_json(self) -> dict[str, object]:
        return {
            "baseline_share": self.baseline_share,
            "candidate_share": self.candidate_share,
            "warmed_prompts": self.warmed,
            "differs": self.differs,
        }


def cached_share(figures: ModelFigures | None) -> float | None:
    """The share of its prompt tokens a model's cache served (None: not reported)."""
    if figures is None or figures.cached_prompt_tokens is None or not figures.prompt_tokens:
        return None
    return figures.cached_prompt_tokens / figures.prompt_tokens


@dataclass(frozen=True)
class CacheSide:
    label: str  # as the verdict names it ("current", "before.current")
    model: str
    figures: ModelFigures | None
    run: RunMeta | None  # its run's run.json


def cache_warmth(baseline: CacheSide, candidate: CacheSide) -> CacheWarmth:
    """The warm-up counts when both sides' runs had one (one run in a canary, or two runs
    that both warmed)."""
    warmed = [w for w in (_warmed(side.model, side.run) for side in (baseline, candidate)) if w]
    return CacheWarmth(
        baseline.label,
        candidate.label,
        cached_share(baseline.figures),
        cached_share(candidate.figures),
        min(warmed) if len(warmed) == 2 else None,
    )


def _warmed(model: str, run: RunMeta | None) -> int | None:
    warmup = run.cache_warmup if run is not None else None
    if not isinstance(warmup, dict) or model not in warmup:
        return None
    return warmup[model].prompts


def _pct(share: float | None) -> str:
    return "not reported" if share is None else f"{share:.0%}"
