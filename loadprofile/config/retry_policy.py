"""The client's retry policy (off by default), as real SDKs retry (pure).

OpenAI's and Anthropic's SDKs retry 429, 5xx, timeouts and connection errors with
exponential backoff and jitter; a user of such a client feels every attempt. ``--retries N``
makes loadprofile do the same, so the run shows both what the first attempt got and what
the user felt (first send to final answer), and what the retries cost.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loadprofile.core.results import ErrorClass, RequestResult
from loadprofile.errors import ConfigError

DEFAULT_RETRY_ON: tuple[str, ...] = (
    ErrorClass.HTTP_429,
    ErrorClass.HTTP_5XX,
    ErrorClass.TIMEOUT,
    ErrorClass.CONNECT,
)
MAX_RETRIES = 10


@dataclass(frozen=True)
class RetryPolicy:
    """``retries`` extra attempts at most; the wait before attempt n+1 is drawn uniformly
    from [b/2, b] with b = min(backoff_s x 2^(n-1), backoff_max_s) ("equal jitter": never
    zero, so a burst of 429s is not re-sent in lock step)."""

    retries: int = 0
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0
    retry_on: tuple[str, ...] = DEFAULT_RETRY_ON

    def should_retry(self, attempt: RequestResult, attempts_so_far: int) -> bool:
        return (
            not attempt.ok
            and attempts_so_far <= self.retries
            and str(attempt.error_class) in self.retry_on
        )

    def delay_s(self, attempts_so_far: int, rng: random.Random) -> float:
        ceiling = min(self.backoff_s * 2 ** (attempts_so_far - 1), self.backoff_max_s)
        return rng.uniform(ceiling / 2, ceiling)


def resolve_retry(
    retries: object, backoff: object, retry_on: object, parse_duration: Callable[[Any, str], float]
) -> RetryPolicy:
    """From the flags / [load] keys (None = not given)."""
    d = RetryPolicy()
    n = d.retries if retries is None else retries
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_RETRIES:
        raise ConfigError(f"retries must be a whole number from 0 to {MAX_RETRIES}, got {n!r}")
    base, ceiling = d.backoff_s, d.backoff_max_s
    if backoff is not None:
        low, sep, high = str(backoff).partition(":")
        base = parse_duration(low, "retry backoff")
        ceiling = parse_duration(high, "retry backoff maximum") if sep else max(ceiling, base)
        if base <= 0 or ceiling < base:
            raise ConfigError(
                f"bad retry backoff {backoff!r} (use BASE or BASE:MAX, e.g. "
                "0.5s:8s, with 0 < BASE <= MAX)"
            )
    classes = d.retry_on
    if retry_on is not None:
        items = retry_on if isinstance(retry_on, list | tuple) else str(retry_on).split(",")
        classes = tuple(str(c).strip() for c in items if str(c).strip())
        known = {str(c) for c in ErrorClass}
        bad = [c for c in classes if c not in known]
        if bad or not classes:
            raise ConfigError(
                f"retry-on: unknown error class(es) {', '.join(bad) or '(none)'} "
                f"(known: {', '.join(sorted(known))})"
            )
    return RetryPolicy(n, base, ceiling, classes)
