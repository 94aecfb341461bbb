"""Temperature 0 (or a seed) on the mock, as on a real server: the same request reads the
same every time, while its timing and faults still vary by copy; a request that samples
reads differently per copy, and a profile with ``greedy = false`` samples regardless."""

from __future__ import annotations

import dataclasses
import hashlib

from loadprofile.mock.chat_request import text_key
from loadprofile.mock.generation import plan_from_seed, repeat_seed
from loadprofile.mock.profiles import BUILTIN_PROFILES

MESSAGES = [{"role": "user", "content": "Say something long."}]


def test_text_key_reads_temperature_and_seed() -> None:
    assert text_key({"temperature": 0}) == 0 and text_key({"temperature": 0.0}) == 0
    assert text_key({"temperature": 0, "seed": 5}) == 0  # greedy ignores the seed
    assert text_key({"temperature": 0.7}) is None and text_key({}) is None
    assert (
        text_key({"temperature": 0.7, "seed": 5}) == text_key({"seed": 5}) != text_key({"seed": 6})
    )
    assert len({text_key({"seed": s}) for s in (-1, 0, 1, 2**40)} | {0}) == 5
    assert text_key({"temperature": False, "seed": True}) is None  # not numbers


def test_a_text_seed_fixes_the_text_and_leaves_the_timing_to_the_copy() -> None:
    profile = dataclasses.replace(
        BUILTIN_PROFILES["mock-small"], ttft_jitter_ms=20.0, itl_jitter_ms=5.0
    )
    copies = [
        plan_from_seed(profile, repeat_seed(1234, k), MESSAGES, 64, text_seed=99) for k in range(5)
    ]
    assert len({c.chunks for c in copies}) == 1
    assert len({c.ttft_ms for c in copies}) == 5  # timing drawn per copy
    other = plan_from_seed(profile, repeat_seed(1234, 0), MESSAGES, 64, text_seed=100)
    assert other.chunks != copies[0].chunks
    sampled = [plan_from_seed(profile, repeat_seed(1234, k), MESSAGES, 64) for k in range(5)]
    assert len({c.chunks for c in sampled}) == 5


def test_without_a_text_seed_the_plan_is_what_it_always_was() -> None:
    """One stream draws everything, in the old order: a sampled request gets the plan it
    got before text seeds existed (digests made by the code at 8a0377c)."""
    for name, digest in (("mock-small", "c784bcec5de032c9"), ("mock-large", "b9d54cc70eda1500")):
        plan = plan_from_seed(BUILTIN_PROFILES[name], 42, MESSAGES, 64)
        assert hashlib.sha256(repr(plan).encode()).hexdigest()[:16] == digest, name
