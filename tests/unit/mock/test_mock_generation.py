"""Reply plans: deterministic per request, shaped by the profile, faults at their rates."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from typing import Any

import pytest

from loadprofile.mock.generation import make_plan, plan_from_seed
from loadprofile.mock.profiles import BUILTIN_PROFILES, ModelProfile
from loadprofile.mock.tokens import count_tokens

SMALL = BUILTIN_PROFILES["mock-small"]
FIXED = BUILTIN_PROFILES["mock-fixed"]


def msgs(text: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "You are terse."}, {"role": "user", "content": text}]


def test_same_request_same_plan() -> None:
    a = make_plan(SMALL, 7, msgs("Tell me a story."), 100)
    b = make_plan(SMALL, 7, msgs("Tell me a story."), 100)
    assert a == b


@pytest.mark.parametrize(
    ("seed", "text", "max_tokens", "profile"),
    [
        (8, "Tell me a story.", 100, SMALL),
        (7, "Tell me a story!", 100, SMALL),
        (7, "Tell me a story.", 101, SMALL),
        (7, "Tell me a story.", 100, BUILTIN_PROFILES["mock-large"]),
    ],
)
def test_any_difference_changes_the_plan(
    seed: int, text: str, max_tokens: int, profile: ModelProfile
) -> None:
    base = make_plan(SMALL, 7, msgs("Tell me a story."), 100)
    other = make_plan(profile, seed, msgs(text), max_tokens)
    assert (other.chunks, other.itl_ms) != (base.chunks, base.itl_ms)


def test_fixed_profile_is_exact() -> None:
    plan = make_plan(FIXED, 0, msgs("anything at all"), None)
    assert plan.ttft_ms == 50.0
    assert plan.itl_ms == (10.0,) * 19
    assert plan.offsets_ms() == [50.0 + 10.0 * i for i in range(20)]
    assert plan.completion_tokens == 20 and plan.finish_reason == "stop"
    assert plan.injected is None and plan.stalls == ()


def test_lengths_within_bounds_and_cut_by_max_tokens() -> None:
    lengths = {make_plan(SMALL, 0, msgs(f"q{i}"), None).completion_tokens for i in range(300)}
    assert min(lengths) >= SMALL.output_tokens_min and max(lengths) <= SMALL.output_tokens_max
    assert len(lengths) > 50  # the range is used, not one value
    for i in range(100):
        plan = make_plan(SMALL, 0, msgs(f"q{i}"), 40)
        assert plan.completion_tokens <= 40
        assert plan.finish_reason == ("length" if plan.completion_tokens == 40 else "stop")


def test_chunks_are_one_token_each_and_read_as_text() -> None:
    plan = make_plan(SMALL, 3, msgs("Write a paragraph."), None)
    assert not plan.chunks[0].startswith(" ")
    assert all(count_tokens(c) == 1 for c in plan.chunks)
    assert count_tokens(plan.text) == plan.completion_tokens
    assert plan.text[0].isupper() and plan.text.endswith(".")


def test_ttft_grows_with_prompt_tokens() -> None:
    profile = dataclasses.replace(SMALL, ttft_jitter_ms=0.0, stall_probability=0.0)
    short = make_plan(profile, 0, msgs("hi"), None)
    long = make_plan(profile, 0, msgs("word " * 2000), None)
    assert long.prompt_tokens - short.prompt_tokens == 1999
    assert long.ttft_ms - short.ttft_ms == pytest.approx(1999 * profile.ttft_per_prompt_token_ms)


def test_itl_jitter_and_stalls_stay_in_profile_bounds() -> None:
    profile = dataclasses.replace(SMALL, stall_probability=0.05)
    for i in range(50):
        plan = make_plan(profile, 0, msgs(f"q{i}"), None)
        for k, gap in enumerate(plan.itl_ms, start=1):
            stall = profile.stall_ms if k in plan.stalls else 0.0
            assert abs(gap - stall - profile.itl_ms) <= profile.itl_jitter_ms


RATES: dict[str | None, float] = {
    "error_429": 0.05,
    "error_500": 0.1,
    "truncate": 0.2,
    "malformed": 0.15,
    "contract_break": 0.1,
}


def test_injected_fault_rates_match_the_profile() -> None:
    n = 2000
    profile = dataclasses.replace(
        FIXED,
        error_429=RATES["error_429"],
        error_500=RATES["error_500"],
        truncate=RATES["truncate"],
        malformed=RATES["malformed"],
        contract_break=RATES["contract_break"],
    )
    plans = [make_plan(profile, 0, msgs(f"request {i}"), None) for i in range(n)]
    seen = Counter(p.injected for p in plans)
    expected = {**RATES, None: 1 - sum(RATES.values())}
    for kind, rate in expected.items():
        sigma = math.sqrt(rate * (1 - rate) / n)
        assert abs(seen[kind] / n - rate) < 4.5 * sigma, (kind, seen[kind])
    for p in plans:
        if p.injected in ("truncate", "malformed", "contract_break"):
            # For contract_break: the index of the chunk with the other id, never the first.
            assert p.inject_at is not None and 1 <= p.inject_at < p.completion_tokens
        else:
            assert p.inject_at is None


def test_stall_rate_is_per_token() -> None:
    profile = dataclasses.replace(SMALL, stall_probability=0.02)
    plans = [make_plan(profile, 0, msgs(f"q{i}"), None) for i in range(200)]
    tokens = sum(p.completion_tokens for p in plans)
    stalls = sum(len(p.stalls) for p in plans)
    assert abs(stalls / tokens - 0.02) < 4.5 * math.sqrt(0.02 * 0.98 / tokens)


def test_repeats_draw_anew_but_reproducibly() -> None:
    request = (SMALL, 7, msgs("Tell me a story."), 100)
    assert make_plan(*request, repeat=0) == make_plan(*request)
    first, again = make_plan(*request, repeat=1), make_plan(*request, repeat=1)
    assert first == again
    assert first.itl_ms != make_plan(*request).itl_ms


def test_fault_rates_hold_over_copies_of_one_request() -> None:
    """A replayed dataset repeats requests: the rates must hold over the copies too."""
    n = 2000
    profile = dataclasses.replace(FIXED, error_500=0.2)
    seen = Counter(make_plan(profile, 0, msgs("same"), None, repeat=k).injected for k in range(n))
    assert abs(seen["error_500"] / n - 0.2) < 4.5 * math.sqrt(0.2 * 0.8 / n)


def test_contract_break_of_a_one_token_reply_is_its_only_chunk() -> None:
    profile = dataclasses.replace(FIXED, contract_break=1.0)
    plans = [make_plan(profile, 0, msgs(f"q{i}"), 1) for i in range(20)]
    assert {(p.injected, p.inject_at, p.completion_tokens) for p in plans} == {
        ("contract_break", 0, 1)
    }


def test_prefill_is_charged_only_for_the_prompt_tokens_not_cached() -> None:
    profile = ModelProfile(name="p", ttft_base_ms=10.0, ttft_per_prompt_token_ms=2.0)
    messages = msgs(" ".join(["word"] * 100))
    cold = plan_from_seed(profile, 5, messages, 50)
    warm = plan_from_seed(profile, 5, messages, 50, cached_tokens=96)
    assert cold.cached_tokens is None and warm.cached_tokens == 96
    assert cold.ttft_ms - warm.ttft_ms == pytest.approx(96 * 2.0)
    assert warm.chunks == cold.chunks  # the cache changes the timing, not the reply
