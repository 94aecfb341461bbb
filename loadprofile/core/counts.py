"""A model's counts over an interval or a run: requests, failures by class, tokens, retries,
connections and the window that produced them (pure). Summed when intervals are folded or
workers merged, except the window's edges (min and max)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from loadprofile.core.results import RequestResult


@dataclass
class Counts:
    """What is counted rather than timed, per model (whole run or one interval)."""

    requests: int = 0
    failures: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    output_tokens: int = 0
    prompt_tokens: int = 0
    estimated_tokens: int = 0
    out_of_range: int = 0
    good: int = 0  # successes that met the per-request SLOs (goodput)
    notes: Counter[str] = field(default_factory=Counter)  # tolerable contract deviations
    json_checked: int = 0  # replies checked against --content-schema ...
    json_valid: int = 0  # ... and those that met it
    grounding_checked: int = 0  # replies checked against --entities ...
    grounding_flagged: int = 0  # ... and those naming something found nowhere
    # Successes whose server reported usage, with their tokens and characters: tokens per
    # character is the tokenizer's rate (tokenization drift between models).
    usage_requests: int = 0
    usage_prompt_tokens: int = 0
    usage_output_tokens: int = 0
    usage_prompt_chars: int = 0
    usage_output_chars: int = 0
    cached_requests: int = 0  # successes whose usage reported cached prompt tokens ...
    cached_tokens: int = 0  # ... and how many
    failed_output_tokens: int = 0  # tokens received by requests that failed after them
    # --retries: requests retried, the extra attempts, retried requests that then succeeded,
    # requests whose first attempt failed, and the error classes of the retried attempts.
    retried: int = 0
    retry_attempts: int = 0
    recovered: int = 0
    first_attempt_failures: int = 0
    attempt_errors: Counter[str] = field(default_factory=Counter)
    # How each attempt's connection came about (http.client: new, reused, stale).
    connections: Counter[str] = field(default_factory=Counter)

    # The window that produced these counts: the first request's start and the last one's
    # end, Unix µs (0: no request yet). Merged by min and max, not summed (WINDOW_EDGES).
    first_start_us: int = 0
    last_end_us: int = 0

    @property
    def window_s(self) -> float:
        """Seconds from the first request's start to the last one's end (0: none)."""
        if not (self.first_start_us and self.last_end_us):
            return 0.0
        return max(0.0, (self.last_end_us - self.first_start_us) / 1e6)

    def add(self, other: Counts) -> None:
        """Sum every field (Counters by key, the window's edges by min and max), so a new
        count needs no line here."""
        for f in fields(self):
            mine = getattr(self, f.name)
            if f.name in WINDOW_EDGES:
                setattr(self, f.name, WINDOW_EDGES[f.name](mine, getattr(other, f.name)))
            elif isinstance(mine, Counter):
                mine.update(getattr(other, f.name))
            else:
                setattr(self, f.name, mine + getattr(other, f.name))

    def to_json(self) -> dict[str, Any]:
        return {
            f.name: dict(v) if isinstance(v := getattr(self, f.name), Counter) else v
            for f in fields(self)
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Counts:
        """The inverse of ``to_json``; fields it lacks (an older writer) are zero."""
        out = cls()
        for f in fields(cls):
            if f.name not in raw:
                continue
            if isinstance(getattr(out, f.name), Counter):
                setattr(out, f.name, Counter({str(k): int(v) for k, v in raw[f.name].items()}))
            else:
                setattr(out, f.name, int(raw[f.name]))
        return out


def _earliest(a: int, b: int) -> int:
    return min(a, b) if a and b else a or b


WINDOW_EDGES: dict[str, Callable[[int, int], int]] = {
    "first_start_us": _earliest,
    "last_end_us": max,
}


def widen_window(counts: Counts, start_unix: float, taken_ms: float | None) -> None:
    """A request's span (its start, and its end ``taken_ms`` later) joins the counts'
    window; the same rule live and when a summary is rebuilt from requests.csv."""
    start_us = round(start_unix * 1e6)
    if start_us <= 0:
        return
    end_us = start_us + round(taken_ms * 1e3) if taken_ms else start_us
    first = counts.first_start_us  # _earliest and max, inline: this runs per request
    if not first or start_us < first:
        counts.first_start_us = start_us
    if end_us > counts.last_end_us:
        counts.last_end_us = end_us


def count_attempts(counts: Counts, result: RequestResult) -> None:
    """The retry counts of one request (every request passes here, failed or not)."""
    if result.earlier:
        counts.retried += 1
        counts.retry_attempts += len(result.earlier)
        counts.recovered += result.ok
        counts.attempt_errors.update(str(a.error_class) for a in result.earlier)
    counts.first_attempt_failures += not result.first_attempt.ok
    counts.connections.update(a.connection for a in (*result.earlier, result) if a.connection)


def count_usage(
    counts: Counts,
    prompt_tokens: int | None,
    output_tokens: int,
    prompt_chars: int,
    output_chars: int,
) -> None:
    """A success whose server reported its token counts."""
    counts.usage_requests += 1
    counts.usage_prompt_tokens += prompt_tokens or 0
    counts.usage_output_tokens += output_tokens
    counts.usage_prompt_chars += prompt_chars
    counts.usage_output_chars += output_chars
