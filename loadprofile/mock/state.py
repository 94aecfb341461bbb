"""Run-time state of the mock: per-model slots and queues, counters, records, freezes.

Slots are what make bursts visible: when more requests arrive than a model has slots,
later ones wait and their TTFT grows, as on a real batch-limited server.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from array import array
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loadprofile.mock.profiles import ModelProfile
from loadprofile.mock.tokens import prompt_tokens

MAX_RECORDS = 200_000
#: Distinct requests whose copies are counted; beyond it counting starts afresh.
MAX_COUNTED_REQUESTS = 1_000_000
#: Prompt prefixes a model's prefix cache holds (least recently used go first).
MAX_CACHED_PREFIXES = 200_000
#: Prefix caches work in blocks of tokens (vLLM: 16); a partial block is prefilled again.
CACHE_BLOCK_TOKENS = 16
#: Longest freeze one `POST /mock/freeze` may ask for: a typo must not hang a test run.
MAX_FREEZE_S = 60.0
#: The nominal KV cache of `GET /metrics`: tokens per concurrency slot (64 slots if unlimited).
KV_TOKENS_PER_SLOT = 2048


class ModelSlots:
    """Concurrency slots, a bounded wait queue and the counters of one model.

    Admission is decided at once on arrival (so a 429 goes out before any stream starts)
    and reserves a place: `admitted` counts requests holding or awaiting a slot.
    """

    def __init__(self, profile: ModelProfile) -> None:
        self.limit = profile.max_concurrency
        self.max_queue = profile.max_queue
        self._sem = asyncio.Semaphore(self.limit) if self.limit else None
        self.admitted = 0
        self.in_flight = 0
        self.received = 0
        self.completed = 0
        self.disconnected = 0
        self.rejected_429 = 0
        self.max_in_flight_seen = 0
        self.max_queue_seen = 0
        self.injected: dict[str, int] = {}
        # For `GET /metrics`: the requests in service (by id) and the tokens counted so far.
        self.serving: dict[int, Record] = {}
        self.prompt_tokens_total = 0
        self.cached_tokens_total = 0
        self._generated_done = 0
        self.kv_capacity = (self.limit or 64) * KV_TOKENS_PER_SLOT

    @property
    def queued(self) -> int:
        return self.admitted - self.in_flight

    def admit(self) -> bool:
        """Take a place (slot or queue) now, or say no: the caller answers 429."""
        if self.limit and self.max_queue and self.admitted >= self.limit + self.max_queue:
            self.rejected_429 += 1
            return False
        self.admitted += 1
        return True

    async def acquire(self) -> None:
        """Wait for a slot; the caller calls `release` whatever happens, even if cancelled."""
        if self._sem is not None:
            # Only waiters beyond the free slots are a queue a client would feel.
            self.max_queue_seen = max(self.max_queue_seen, self.admitted - self.limit)
            await self._sem.acquire()
        self.in_flight += 1
        self.max_in_flight_seen = max(self.max_in_flight_seen, self.in_flight)

    def release(self, in_service: bool) -> None:
        """Give back the place taken by `admit` (and the slot when it was acquired)."""
        self.admitted -= 1
        if in_service:
            self.in_flight -= 1
            if self._sem is not None:
                self._sem.release()

    def start_service(self, rec: Record) -> None:
        """The request got its slot: its prompt is prefilled, its tokens held in the KV cache."""
        self.serving[id(rec)] = rec
        self.prompt_tokens_total += rec.prompt_tokens or 0
        self.cached_tokens_total += rec.cached_tokens or 0

    def end_service(self, rec: Record) -> None:
        """The request left its slot (call it whatever happened; twice is harmless)."""
        if self.serving.pop(id(rec), None) is not None:
            self._generated_done += rec.output_tokens

    @property
    def generation_tokens_total(self) -> int:
        return self._generated_done + sum(r.output_tokens for r in self.serving.values())

    @property
    def kv_usage(self) -> float:
        """Tokens held by the requests in service over the nominal capacity, at most 1."""
        held = sum((r.prompt_tokens or 0) + r.output_tokens for r in self.serving.values())
        return min(1.0, held / self.kv_capacity)

    def stats(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "completed": self.completed,
            "in_flight": self.in_flight,
            "queued": self.queued,
            "max_in_flight_seen": self.max_in_flight_seen,
            "max_queue_seen": self.max_queue_seen,
            "rejected_429": self.rejected_429,
            "disconnected": self.disconnected,
            "injected": dict(self.injected),
        }


class Freeze:
    """Whole-server stalls asked for by `POST /mock/freeze`, on the perf_counter_ns clock.

    Timing follows the *service clock*: real time minus the time frozen. It stands still
    during a freeze, so a schedule kept on it resumes with its gaps unchanged when the
    freeze ends, instead of catching up in a burst that would hide the stall.
    """

    def __init__(self) -> None:
        self.count = 0
        #: The current (or last) stall: one interval, however often it was extended.
        self.from_ns = 0
        self.until_ns = 0
        self._earlier_ns = 0  # frozen time of the stalls before the current one

    def is_frozen(self, now_ns: int) -> bool:
        return now_ns < self.until_ns

    def freeze(self, now_ns: int, seconds: float) -> None:
        """Freeze until `now_ns + seconds`; while frozen, the freeze only ever lengthens."""
        until_ns = now_ns + round(seconds * 1e9)
        if self.is_frozen(now_ns):
            self.until_ns = max(self.until_ns, until_ns)
        else:
            self._earlier_ns += self.until_ns - self.from_ns
            self.from_ns, self.until_ns = now_ns, until_ns
        self.count += 1

    def frozen_ns(self, now_ns: int) -> int:
        """Time spent frozen up to `now_ns` (a freeze still running counts so far)."""
        current = min(max(now_ns - self.from_ns, 0), self.until_ns - self.from_ns)
        return self._earlier_ns + current

    def service_ns(self, now_ns: int) -> int:
        """The service clock at `now_ns`: stands still while frozen."""
        return now_ns - self.frozen_ns(now_ns)

    def stats(self, now_ns: int) -> dict[str, Any]:
        return {"freezes": self.count, "frozen_s": self.frozen_ns(now_ns) / 1e9}


@dataclass(slots=True)
class Record:
    """What happened to one chat request, with `time.perf_counter_ns()` timestamps.

    perf_counter is CLOCK_MONOTONIC on Linux, so a client on the same machine can compare
    its receive times with `token_ns` directly. `injected` is the fault kind injected, one
    of `profiles.ERROR_KINDS` or None; `invalid_json` is True when the reply's JSON text
    was made invalid on purpose, which may come with a fault in `injected` (a truncated or
    contract-breaking stream) or alone (a well-formed stream whose text does not parse).
    """

    request_id: str
    received_ns: int
    model: str | None = None
    messages: Any = None
    stream: bool | None = None
    max_tokens: int | None = None
    prompt_tokens: int | None = None
    cached_tokens: int | None = None  # served by the prefix cache (None: the model has none)
    repeat: int = 0
    role_ns: int | None = None
    service_start_ns: int | None = None
    first_content_ns: int | None = None
    # 8 bytes a token instead of ~36 for a list of ints: 200k long records must fit in RAM.
    token_ns: array[int] = field(default_factory=lambda: array("q"))
    end_ns: int | None = None
    status: int | None = None
    injected: str | None = None
    invalid_json: bool = False
    invented: str | None = None
    rewritten: bool = False
    finish_reason: str | None = None
    output_tokens: int = 0
    # The body's other fields (sampling options, --extra-body's): what the client asked for.
    options: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__slots__}
        out["token_ns"] = self.token_ns.tolist()
        return out


class RepeatCounter:
    """How many copies of each distinct request (by its seed) this process has seen."""

    def __init__(self, vary: bool, limit: int = MAX_COUNTED_REQUESTS) -> None:
        self.vary = vary
        self._seen: dict[int, int] = {}
        self._limit = limit

    def next(self, request_seed: int) -> int:
        """0 for the first copy, then 1, 2, ...; always 0 when copies must get the same plan."""
        if not self.vary:
            return 0
        if len(self._seen) >= self._limit:
            self._seen.clear()  # bounded memory; repeats then restart from their own seed
        k = self._seen.get(request_seed, 0)
        self._seen[request_seed] = k + 1
        return k


class PrefixCache:
    """The prompt prefixes one model has prefilled, by whole messages (bounded LRU).

    Real servers (vLLM's automatic prefix caching, llama.cpp's slot cache) keep the KV of
    prompts they have seen and skip their prefill when a new prompt starts the same way: a
    replayed conversation's later turns, or a system prompt shared by many conversations.
    The mock keys on whole leading messages (a real cache on token blocks; it counts whole
    blocks here too) and caches prompts only, not the replies it generated.
    """

    def __init__(self, capacity: int = MAX_CACHED_PREFIXES) -> None:
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._capacity = capacity

    def lookup(self, messages: Sequence[Mapping[str, Any]]) -> tuple[int, list[bytes]]:
        """(prompt tokens of ``messages`` the cache would serve, the keys of its prefixes for
        ``remember``): a lookup, nothing changes; each prefix is hashed once per request."""
        prefixes = _prefix_keys(messages)
        cached_messages = 0
        for key in prefixes:
            if key not in self._seen:
                break
            cached_messages += 1
        if not cached_messages:
            return 0, prefixes
        total = prompt_tokens(messages)
        cached = prompt_tokens(messages[:cached_messages])
        # Whole blocks only, and the last prompt token is always computed (it yields a token).
        return min(cached // CACHE_BLOCK_TOKENS * CACHE_BLOCK_TOKENS, max(0, total - 1)), prefixes

    def remember(self, prefixes: list[bytes]) -> None:
        """The prompt was prefilled: every prefix of it is cached (most recently used)."""
        for key in prefixes:
            self._seen[key] = None
            self._seen.move_to_end(key)
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)


def _prefix_keys(messages: Sequence[Mapping[str, Any]]) -> list[bytes]:
    """One digest per leading run of messages: key k stands for messages[:k]."""
    digest, keys = b"", []
    for message in messages:
        blob = json.dumps(message, sort_keys=True, ensure_ascii=False, default=str)
        digest = hashlib.blake2b(digest + blob.encode(), digest_size=16).digest()
        keys.append(digest)
    return keys


class RecordStore:
    """The last `MAX_RECORDS` records, kept only when the server runs with `--record`."""

    def __init__(self, enabled: bool, maxlen: int = MAX_RECORDS) -> None:
        self.enabled = enabled
        self._records: deque[Record] = deque(maxlen=maxlen)

    def add(self, record: Record) -> None:
        if self.enabled:
            self._records.append(record)

    def to_json(
        self, request_id: str | None = None, last: int | None = None
    ) -> list[dict[str, Any]]:
        """Records, oldest first: only `request_id`'s, and/or only the `last` ones.

        The filters keep a mid-run query from serializing 200k records on the event loop.
        """
        records: Any = self._records
        if request_id is not None:
            records = [r for r in records if r.request_id == request_id]
        if last is not None:
            records = list(records)[-last:] if last > 0 else []
        return [r.to_json() for r in records]

    def clear(self) -> None:
        self._records.clear()
