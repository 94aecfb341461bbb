"""Slots and queue: admission is instant, bounded by slots + queue, and released on exit.

No event loop here: the whole test suite may share a process with locust's gevent
patches, so waiting for slots is covered by the real-process integration tests.
"""

from __future__ import annotations

import dataclasses

from loadprofile.mock.profiles import BUILTIN_PROFILES
from loadprofile.mock.state import (
    ModelSlots,
    PrefixCache,
    Record,
    RecordStore,
    RepeatCounter,
)
from loadprofile.mock.tokens import prompt_tokens

FIXED = BUILTIN_PROFILES["mock-fixed"]


def test_unbounded_queue_admits_everyone() -> None:
    slots = ModelSlots(dataclasses.replace(FIXED, max_concurrency=1, max_queue=0))
    assert all(slots.admit() for _ in range(100))


def test_bounded_queue_rejects_beyond_slots_plus_queue() -> None:
    slots = ModelSlots(dataclasses.replace(FIXED, max_concurrency=2, max_queue=1))
    assert [slots.admit() for _ in range(4)] == [True, True, True, False]
    assert slots.rejected_429 == 1
    slots.release(in_service=False)
    assert slots.admit()


def test_records_only_when_enabled_and_bounded() -> None:
    off = RecordStore(enabled=False)
    off.add(Record(request_id="a", received_ns=1))
    assert off.to_json() == []
    on = RecordStore(enabled=True, maxlen=2)
    for i in range(3):
        on.add(Record(request_id=str(i), received_ns=i))
    assert [r["request_id"] for r in on.to_json()] == ["1", "2"]
    assert set(on.to_json()[0]) >= {"request_id", "token_ns", "service_start_ns", "injected"}
    assert [r["request_id"] for r in on.to_json(request_id="2")] == ["2"]
    assert [r["request_id"] for r in on.to_json(last=1)] == ["2"]
    assert on.to_json(last=0) == [] and on.to_json(request_id="0") == []
    on.clear()
    assert on.to_json() == []


def test_repeat_counter_counts_copies_per_request() -> None:
    counter = RepeatCounter(vary=True, limit=3)
    assert [counter.next(s) for s in (10, 10, 11, 10, 11)] == [0, 1, 0, 2, 1]
    counter.next(12)
    assert counter.next(13) == 0  # over the limit: counting starts afresh
    assert counter.next(10) == 0
    same = RepeatCounter(vary=False)
    assert [same.next(10) for _ in range(3)] == [0, 0, 0]


def _conv(system: str, *turns: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, *({"role": "user", "content": t} for t in turns)]


def _cached(cache: PrefixCache, messages: list[dict[str, str]]) -> int:
    return cache.lookup(messages)[0]


def _prefill(cache: PrefixCache, messages: list[dict[str, str]]) -> None:
    cache.remember(cache.lookup(messages)[1])


def test_prefix_cache_counts_whole_leading_messages_in_whole_blocks() -> None:
    cache = PrefixCache()
    system = " ".join(["w"] * 60)  # 64 tokens with the per-message overhead: 4 blocks
    first = _conv(system, "one two three")
    assert _cached(cache, first) == 0
    _prefill(cache, first)
    assert _cached(cache, _conv(system, "other")) == 64
    assert _cached(cache, first) == prompt_tokens(first) // 16 * 16  # seen whole
    assert _cached(cache, _conv("x " + system, "one two three")) == 0  # new start
    short = _conv("hi")
    _prefill(cache, short)
    assert _cached(cache, short) == 0  # under one block: prefilled again


def test_prefix_cache_forgets_the_least_recently_used() -> None:
    cache = PrefixCache(capacity=2)
    a, b = _conv(" ".join(["a"] * 40)), _conv(" ".join(["b"] * 40))
    _prefill(cache, a)
    _prefill(cache, b)
    _prefill(cache, a)  # a is now the most recent
    _prefill(cache, _conv(" ".join(["c"] * 40)))
    assert _cached(cache, a) > 0 and _cached(cache, b) == 0
