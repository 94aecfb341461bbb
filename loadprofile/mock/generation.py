"""Deterministic reply plans: what the mock will send for a request, and when.

The plan is a pure function of (seed, model, messages, max_tokens), so the same request
gets the same reply, timing and fault whatever the order or concurrency of the run; the
server only has to follow it against a monotonic clock (queue time excluded).
"""

from __future__ import annotations

import hashlib
import json
import random
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from loadprofile.mock.json_reply import json_reply_chunks
from loadprofile.mock.profiles import ERROR_KINDS, ModelProfile
from loadprofile.mock.prose import reply_chunks
from loadprofile.mock.tokens import prompt_tokens


@dataclass(frozen=True)
class Plan:
    """One reply: content chunks, their delays, and the injected fault if any.

    `ttft_ms` runs from service start (slot acquired) to the first content chunk;
    `itl_ms[i]` is the gap between chunk i and chunk i + 1; both include stalls.
    `inject_at` is the number of content chunks sent before the fault: for `truncate` the
    connection is then cut, for `malformed` one bad event is sent and the stream goes on,
    for `contract_break` the next content chunk (the first only when there is no other)
    carries another completion id. `invalid_json` says the text of a JSON reply was made
    invalid on purpose; drawn apart from `injected`, it is never set with the HTTP errors
    (they send no reply). A reply cut by `max_tokens` (finish reason "length") is the
    start of its natural text, as from a real server: for JSON, not a whole object.
    """

    chunks: tuple[str, ...]
    prompt_tokens: int
    ttft_ms: float
    itl_ms: tuple[float, ...]
    stalls: tuple[int, ...]
    finish_reason: str
    injected: str | None
    inject_at: int | None
    invalid_json: bool = False
    invented: str | None = None  # a made-up product named in the reply (invent_entities)
    rewritten: bool = False  # text_of + rewrite: this reply was written anew
    cached_tokens: int | None = None  # prompt tokens the prefix cache served (None: no cache)

    @property
    def completion_tokens(self) -> int:
        return len(self.chunks)

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def offsets_ms(self) -> list[float]:
        """When each chunk is due, from service start: absolute targets do not drift."""
        return list(accumulate(self.itl_ms, initial=self.ttft_ms))


def request_seed(
    seed: int, model: str, messages: Sequence[Mapping[str, Any]], max_tokens: int | None
) -> int:
    """A 64-bit RNG seed from the whole request, stable across processes and runs."""
    blob = json.dumps(
        [seed, model, messages, max_tokens],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return int.from_bytes(hashlib.blake2b(blob.encode(), digest_size=8).digest(), "big")


def repeat_seed(base: int, repeat: int) -> int:
    """The RNG seed for the `repeat`-th earlier-seen copy of a request (0: its own seed).

    A replayed dataset sends the same request many times; were every copy to get the
    same plan, a 1 % fault rate would hit a few prompts every time and none of the others,
    and tails would hold a handful of distinct values.
    """
    if not repeat:
        return base
    blob = base.to_bytes(8, "big") + repeat.to_bytes(8, "big")
    return int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "big")


def make_plan(
    profile: ModelProfile,
    seed: int,
    messages: Sequence[Mapping[str, Any]],
    max_tokens: int | None,
    repeat: int = 0,
) -> Plan:
    """The reply the mock sends for this request under `profile` (its `repeat`-th copy)."""
    base = request_seed(seed, profile.text_of or profile.name, messages, max_tokens)
    return plan_from_seed(profile, repeat_seed(base, repeat), messages, max_tokens)


def plan_from_seed(
    profile: ModelProfile,
    rng_seed: int,
    messages: Sequence[Mapping[str, Any]],
    max_tokens: int | None,
    cached_tokens: int | None = None,
    text_seed: int | None = None,
) -> Plan:
    """The plan drawn from `rng_seed` (see `request_seed` and `repeat_seed`); prefill is
    charged for the prompt tokens the prefix cache did not serve (``cached_tokens``).

    ``text_seed`` (a deterministic request: temperature 0 or a seed) draws the text and its
    length apart, so every copy of the request reads the same while its timing and faults
    still vary by copy; without it one stream draws everything, as it always has."""
    rng = random.Random(rng_seed)
    text = rng if text_seed is None else random.Random(text_seed)
    injected = _draw_fault(rng, profile)
    natural = text.randint(profile.output_tokens_min, profile.output_tokens_max)
    n = natural if max_tokens is None else min(natural, max_tokens)
    n_prompt = prompt_tokens(messages)
    ttft = (
        profile.ttft_base_ms
        + profile.ttft_per_prompt_token_ms * (n_prompt - (cached_tokens or 0))
        + _jitter(rng, profile.ttft_jitter_ms)
    )
    gaps = _gaps(rng, profile.itl_ms, profile.itl_jitter_ms, n - 1)
    p_stall, draw = profile.stall_probability, rng.random
    stalls = tuple(i for i in range(n) if draw() < p_stall) if p_stall else ()
    for i in stalls:
        if i == 0:
            ttft += profile.stall_ms
        else:
            gaps[i - 1] += profile.stall_ms
    inject_at = None
    if injected in ("truncate", "malformed", "contract_break"):
        inject_at = rng.randint(1, max(1, n - 1))
        if injected == "contract_break":
            inject_at = min(inject_at, n - 1)  # the index of the chunk with the other id
    invalid_json = False
    if profile.content == "json":
        invalid_json = text.random() < profile.invalid_json
        chunks = json_reply_chunks(text, natural, invalid_json)[:n]
        invalid_json = invalid_json and injected not in _HTTP_ERRORS
    else:
        chunks = reply_chunks(text, n, complete=n == natural)
    rewritten = False
    if profile.rewrite and profile.content == "prose":
        # The model whose text this is drew the plan; a stream of our own decides and writes.
        own_seed = rng_seed if text_seed is None else text_seed
        own = random.Random(own_seed ^ zlib.crc32(profile.name.encode("utf-8")))
        if own.random() < profile.rewrite:
            chunks, rewritten = reply_chunks(own, n, complete=n == natural), True
    invented = None
    if profile.invent_entities and text.random() < profile.invent_entities and len(chunks) >= 6:
        invented = name_product(text, chunks)
    return Plan(
        chunks=tuple(chunks),
        prompt_tokens=n_prompt,
        ttft_ms=ttft,
        itl_ms=tuple(gaps),
        stalls=stalls,
        finish_reason="stop" if n == natural else "length",
        injected=injected,
        inject_at=inject_at,
        invalid_json=invalid_json,
        invented=invented if injected not in _HTTP_ERRORS else None,
        rewritten=rewritten and injected not in _HTTP_ERRORS,
        cached_tokens=cached_tokens,
    )


#: Made-up brands for invent_entities: names no catalogue or prompt holds.
_BRANDS = ("Zorvex", "Quantrel", "Velorix", "Nimbrant", "Kestova", "Draxil")


def name_product(rng: random.Random, chunks: list[str]) -> str:
    """Put a made-up product (brand and model code, two tokens) in the middle of a reply,
    in place of two of its tokens so the token count stays; returns its name."""
    brand, code = rng.choice(_BRANDS), f"X{rng.randint(100, 999)}"
    at = rng.randint(2, len(chunks) - 4)
    # two words, not a full stop or comma: a sentence break replaced would run the next
    # sentence's first word into the name ("Zorvex X975 Another")
    words = [
        i for i in range(2, len(chunks) - 3) if _is_word(chunks[i]) and _is_word(chunks[i + 1])
    ]
    if words:
        at = min(words, key=lambda i: (abs(i - at), i))
    chunks[at], chunks[at + 1] = f" {brand}", f" {code}"
    return f"{brand} {code}"


def _is_word(chunk: str) -> bool:
    return chunk.strip() not in (".", ",", "")


#: Faults answered with an HTTP error instead of a reply.
_HTTP_ERRORS = ("error_429", "error_500")


def _draw_fault(rng: random.Random, profile: ModelProfile) -> str | None:
    """At most one fault per request: one uniform draw against the cumulative rates."""
    u = rng.random()
    edge = 0.0
    for kind in ERROR_KINDS:
        edge += getattr(profile, kind)
        if u < edge:
            return kind
    return None


def _gaps(rng: random.Random, itl_ms: float, jitter_ms: float, count: int) -> list[float]:
    """Inter-token gaps, uniform in itl ± jitter (inlined: it runs once per output token)."""
    if not jitter_ms:
        return [itl_ms] * count
    draw, low, width = rng.random, itl_ms - jitter_ms, 2.0 * jitter_ms
    return [low + width * draw() for _ in range(count)]


def _jitter(rng: random.Random, width_ms: float) -> float:
    return rng.uniform(-width_ms, width_ms) if width_ms else 0.0
