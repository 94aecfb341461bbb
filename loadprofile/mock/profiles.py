"""Latency profiles of the mock target: the built-in models and TOML overrides.

A profile is the whole behaviour of one mock model (timing, capacity, reply length,
injected faults), so a load run against the mock is reproducible from the profile and
the seed alone. This module is pure apart from reading the TOML file.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ProfileError(ValueError):
    """A profile file or a requested model list cannot be used (bad input, exit code 2)."""


@dataclass(frozen=True)
class ModelProfile:
    """Timing, capacity, reply length, reply content and fault rates of one mock model.

    Error rates (`ERROR_KINDS`) are probabilities per request and mutually exclusive (one
    draw picks at most one fault), so their sum must not exceed 1. `invalid_json` is drawn
    apart from them, per reply with `content = "json"`. The stall probability is per
    output token: a stall is a rare long gap before one token, the shape of tail ITL seen
    on real servers when a batch is preempted. `omit_usage` and `omit_done` mimic servers
    that leave out parts of OpenAI's stream (llama-cpp-python never sends usage).
    """

    name: str
    ttft_base_ms: float = 50.0
    ttft_per_prompt_token_ms: float = 0.0
    ttft_jitter_ms: float = 0.0
    itl_ms: float = 10.0
    itl_jitter_ms: float = 0.0
    stall_probability: float = 0.0
    stall_ms: float = 0.0
    max_concurrency: int = 0
    max_queue: int = 0
    output_tokens_min: int = 20
    output_tokens_max: int = 20
    error_429: float = 0.0
    error_500: float = 0.0
    truncate: float = 0.0
    malformed: float = 0.0
    contract_break: float = 0.0
    close_after_stream: bool = False  # "Connection: close" on every reply
    drop_after_stream: bool = False  # closed after every reply, keep-alive announced (llama.cpp)
    content: str = "prose"
    invalid_json: float = 0.0
    omit_usage: bool = False
    omit_done: bool = False
    invent_entities: float = 0.0  # share of prose replies naming a made-up product
    text_of: str | None = None  # answer with this model's text (and length) ...
    rewrite: float = 0.0  # ... except for this share of replies, written anew
    #: temperature 0 (or a seed) gives the same text for the same request, as on vLLM or
    #: llama.cpp; false: the model samples anyway, as some hosted APIs do
    greedy: bool = True
    prefix_cache: bool = False  # prompts whose leading messages were prefilled before are
    # charged ttft_per_prompt_token_ms only for the rest, and usage reports the cached tokens
    token_inflation: float = 1.0  # usage reports this many times the tokens sent (a tokenizer
    # that counts more tokens for the same text)
    reasoning_tokens: int = 0  # the first N chunks of each reply are reasoning (chat
    # reasoning_content, Anthropic thinking; plain text for legacy completions): TTFVT > TTFT
    slow_every: int = 0  # every N-th request the model receives waits slow_ms more for its
    slow_ms: float = 0.0  # first token: a known tail (exactly 1/N of requests) for benchmarks
    context_tokens: int = 0  # tokens one request may hold (0: unlimited, published nowhere),
    context_style: str = "llama.cpp"  # published and enforced as llama.cpp or vLLM do it

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ProfileError(f"model {self.name!r}: " + "; ".join(problems))


def _problems(p: ModelProfile) -> list[str]:
    """Every reason the profile is unusable, so one error message lists them all."""
    out: list[str] = []
    if not p.token_inflation > 0:
        out.append("token_inflation must be > 0")
    if not p.name or any(c.isspace() or c == "," for c in p.name):
        out.append("name must be non-empty, without spaces or commas")
    for f in (
        "ttft_base_ms",
        "ttft_per_prompt_token_ms",
        "ttft_jitter_ms",
        "itl_ms",
        "itl_jitter_ms",
        "stall_ms",
        "max_concurrency",
        "max_queue",
        "reasoning_tokens",
        "slow_every",
        "slow_ms",
        "context_tokens",
    ):
        if getattr(p, f) < 0:
            out.append(f"{f} must be >= 0")
    # Jitter larger than the mean would need negative delays.
    if p.itl_jitter_ms > p.itl_ms:
        out.append("itl_jitter_ms must be <= itl_ms")
    if p.ttft_jitter_ms > p.ttft_base_ms:
        out.append("ttft_jitter_ms must be <= ttft_base_ms")
    rates = ("stall_probability", *ERROR_KINDS, "invalid_json", "invent_entities", "rewrite")
    out += [f"{f} must be within [0, 1]" for f in rates if not 0.0 <= getattr(p, f) <= 1.0]
    if sum(getattr(p, f) for f in ERROR_KINDS) > 1.0 + 1e-9:
        out.append(" + ".join(ERROR_KINDS) + " must be <= 1")
    if not 1 <= p.output_tokens_min <= p.output_tokens_max:
        out.append("need 1 <= output_tokens_min <= output_tokens_max")
    if p.content not in CONTENT_KINDS:
        out.append(
            f"content must be one of {', '.join(map(repr, CONTENT_KINDS))}, got {p.content!r}"
        )
    elif p.content == "json":
        if p.output_tokens_min < JSON_MIN_TOKENS:
            out.append(
                f'content = "json" needs output_tokens_min >= {JSON_MIN_TOKENS} '
                "(the smallest reply object)"
            )
    elif p.invalid_json:
        out.append('invalid_json needs content = "json"')
    if p.content == "json" and p.invent_entities:
        out.append('invent_entities needs content = "prose"')
    if p.content == "json" and p.reasoning_tokens:
        out.append('reasoning_tokens needs content = "prose" (it would eat the JSON object)')
    if p.rewrite and (p.text_of is None or p.content != "prose"):
        out.append('rewrite needs text_of (whose text is rewritten) and content = "prose"')
    if p.context_style not in CONTEXT_STYLES:
        out.append(
            f"context_style must be one of {', '.join(map(repr, CONTEXT_STYLES))}, "
            f"got {p.context_style!r}"
        )
    return out


#: Injected fault kinds, in the order one uniform draw is mapped onto them (new kinds go
#: last, so that a profile without them draws exactly what it drew before).
ERROR_KINDS: tuple[str, ...] = (
    "error_429",
    "error_500",
    "truncate",
    "malformed",
    "contract_break",
)

#: What a reply's text is: English-ish sentences, or one JSON object (see json_reply.py).
CONTENT_KINDS: tuple[str, ...] = ("prose", "json")

#: How a model with ``context_tokens`` publishes and enforces it (see ``mock/context.py``):
#: llama.cpp's ``GET /props`` n_ctx, a prompt that does not fit rejected and a reply cut at
#: the context; or vLLM's ``max_model_len`` in /v1/models, prompt + max_tokens over it rejected.
CONTEXT_STYLES: tuple[str, ...] = ("llama.cpp", "vllm")

#: Tokens of the smallest JSON reply, `{"answer": "Word"}`: 9 by the mock's tokenizer.
JSON_MIN_TOKENS = 9

BUILTIN_PROFILES: dict[str, ModelProfile] = {
    p.name: p
    for p in (
        ModelProfile(
            name="mock-small",
            prefix_cache=True,  # as vLLM (on by default) and llama.cpp's slots
            ttft_base_ms=35.0,
            ttft_per_prompt_token_ms=0.03,
            ttft_jitter_ms=5.0,
            itl_ms=12.0,
            itl_jitter_ms=4.0,
            stall_probability=0.005,
            stall_ms=250.0,
            max_concurrency=48,
            output_tokens_min=30,
            output_tokens_max=250,
        ),
        ModelProfile(
            name="mock-large",
            prefix_cache=True,  # as vLLM (on by default) and llama.cpp's slots
            ttft_base_ms=120.0,
            ttft_per_prompt_token_ms=0.15,
            ttft_jitter_ms=20.0,
            itl_ms=28.0,
            itl_jitter_ms=8.0,
            stall_probability=0.01,
            stall_ms=600.0,
            max_concurrency=12,
            output_tokens_min=40,
            output_tokens_max=300,
        ),
        ModelProfile(
            name="mock-fixed",
            ttft_base_ms=50.0,
            itl_ms=10.0,
            output_tokens_min=20,
            output_tokens_max=20,
        ),
        # Structured output: every reply is one JSON object (served, but not loaded by
        # default: `loadprofile run` targets mock-small and mock-large only).
        ModelProfile(
            name="mock-json",
            ttft_base_ms=35.0,
            ttft_per_prompt_token_ms=0.03,
            ttft_jitter_ms=5.0,
            itl_ms=12.0,
            itl_jitter_ms=4.0,
            max_concurrency=48,
            output_tokens_min=30,
            output_tokens_max=200,
            content="json",
        ),
        # Capacity known exactly: 8 slots, each request holds one for 40 ms + 5 x 10 ms =
        # 90 ms (no jitter, no prompt cost); a 9th concurrent user always queues behind a
        # slot, so `loadprofile capacity` with a TTFT p99 bound between 40 and 130 ms finds 8
        # users (docs/capacity.md). Served, not loaded by default.
        ModelProfile(
            name="mock-slots",
            ttft_base_ms=40.0,
            itl_ms=10.0,
            max_concurrency=8,
            output_tokens_min=6,
            output_tokens_max=6,
        ),
    )
}

_FIELDS: dict[str, dataclasses.Field[Any]] = {
    f.name: f for f in dataclasses.fields(ModelProfile) if f.name != "name"
}
_BASE_KEY = "base"


def load_profiles(path: Path | None, only: list[str] | None) -> dict[str, ModelProfile]:
    """The profiles to serve: built-ins, overridden or extended by `path`, filtered by `only`.

    In the file, `[models.NAME]` overrides the listed fields of built-in NAME, or defines a
    new model from the dataclass defaults (or from `base = "mock-small"` if given).
    """
    profiles = dict(BUILTIN_PROFILES)
    if path is not None:
        for name, table in _read_models_table(path).items():
            profiles[name] = _profile_from_table(name, table, profiles, path)
    if only is None:
        return profiles
    unknown = [n for n in only if n not in profiles]
    if unknown:
        raise ProfileError(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(profiles)}")
    if not only:
        raise ProfileError("no models selected")
    return {n: profiles[n] for n in dict.fromkeys(only)}


def _read_models_table(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            doc = tomllib.load(f)
    except OSError as exc:
        raise ProfileError(f"cannot read profile file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: invalid TOML: {exc}") from exc
    extra = sorted(set(doc) - {"models"})
    if extra:
        raise ProfileError(
            f"{path}: unknown top-level key(s) {', '.join(extra)}; "
            "expected only [models.NAME] tables"
        )
    models = doc.get("models", {})
    if not isinstance(models, dict) or not all(isinstance(v, dict) for v in models.values()):
        raise ProfileError(f"{path}: 'models' must hold [models.NAME] tables")
    return models


def _profile_from_table(
    name: str, table: dict[str, Any], known: dict[str, ModelProfile], path: Path
) -> ModelProfile:
    where = f"{path}: [models.{name}]"
    unknown = sorted(set(table) - set(_FIELDS) - {_BASE_KEY})
    if unknown:
        raise ProfileError(
            f"{where}: unknown key(s) {', '.join(unknown)}; "
            f"allowed: {_BASE_KEY}, {', '.join(_FIELDS)}"
        )
    base_name = table.get(_BASE_KEY, name)
    if base_name in known:
        base = known[base_name]
    elif _BASE_KEY in table:
        raise ProfileError(f"{where}: base {base_name!r} is not a known model")
    else:
        base = ModelProfile(name=name)
    values = {k: _coerce(where, k, v) for k, v in table.items() if k != _BASE_KEY}
    try:
        return dataclasses.replace(base, name=name, **values)
    except ProfileError as exc:
        raise ProfileError(f"{path}: {exc}") from exc


def _coerce(where: str, key: str, value: Any) -> Any:
    """Check one TOML value against the field's type; TOML ints are fine for floats."""
    kind = _FIELDS[key].type
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind in ("str", "str | None"):
        ok = isinstance(value, str)
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    if not ok:
        raise ProfileError(f"{where}: {key} must be a {kind}, got {value!r}")
    return value
