"""How warm each side's prefix cache was, beside a latency verdict: shares, the flag when
they are over 10 points apart, and the warm-up when both sides' runs had one."""

from __future__ import annotations

import msgspec

from loadprofile.commands.cache_warmth import CacheSide, cache_warmth, cached_share
from loadprofile.contract.run_meta import CacheWarmup, RunMeta
from loadprofile.contract.summary import ModelFigures


def _figures(prompt: int, cached: int | None) -> ModelFigures:
    return msgspec.convert({"prompt_tokens": prompt, "cached_prompt_tokens": cached}, ModelFigures)


WARMED = RunMeta(
    cache_warmup={
        m: CacheWarmup(prompts=722, failures=0, seconds=3.0) for m in ("current", "candidate")
    }
)


def test_shares_and_the_flag() -> None:
    assert cached_share(_figures(1000, 970)) == 0.97
    assert cached_share(_figures(1000, None)) is None and cached_share(_figures(0, 0)) is None
    apart = cache_warmth(
        CacheSide("current", "current", _figures(1000, 970), RunMeta()),
        CacheSide("candidate", "candidate", _figures(1000, 560), RunMeta()),
    )
    assert apart.differs and apart.warmed is None
    assert apart.line() == (
        "cache warmth differed: prompt tokens served from cache: current 97%, candidate 56%: "
        "latency verdicts compare a warm cache with a cold one (`--warm-cache on` warms both "
        "before the load)"
    )
    close = cache_warmth(
        CacheSide("current", "current", _figures(1000, 970), RunMeta()),
        CacheSide("candidate", "candidate", _figures(1000, 900), RunMeta()),
    )
    assert not close.differs and close.line() == (
        "cache: prompt tokens served from cache: current 97%, candidate 90%"
    )


def test_the_warm_up_counts_when_both_sides_had_one() -> None:
    both = cache_warmth(
        CacheSide("current", "current", _figures(1000, 970), WARMED),
        CacheSide("candidate", "candidate", _figures(1000, 950), WARMED),
    )
    assert both.warmed == 722 and both.line() == (
        "cache: caches warmed before the load (722 prompts to each model); prompt tokens "
        "served from cache: current 97%, candidate 95%"
    )
    one = cache_warmth(  # --against a run that did not warm: no claim of a warm-up
        CacheSide("before.current", "current", _figures(1000, 970), RunMeta()),
        CacheSide("current", "current", _figures(1000, 400), WARMED),
    )
    assert one.warmed is None and one.differs
    assert (one.line() or "").startswith(
        "cache warmth differed: prompt tokens served from cache: before.current 97%, current 40%"
    )
    unknown = cache_warmth(
        CacheSide("a", "a", _figures(100, None), RunMeta()),
        CacheSide("b", "b", _figures(100, None), RunMeta()),
    )
    assert unknown.line() is None and not unknown.differs
