"""Turn the receive times of one stream into the metrics core/metrics.py defines (pure)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

_NS_PER_MS = 1_000_000.0


@dataclass(frozen=True)
class StreamTimings:
    ttft_ms: float | None
    itl_ms: list[float]
    tpot_ms: float | None
    e2e_ms: float


def stream_timings(
    sent_ns: int, content_ns: list[int], end_ns: int, output_tokens: int
) -> StreamTimings:
    """Metrics of one request from monotonic nanosecond timestamps.

    ``content_ns`` holds the receive time of every content-carrying chunk, in order.
    TPOT divides by tokens - 1 because the first token's time is TTFT, not a gap.
    """
    e2e = (end_ns - sent_ns) / _NS_PER_MS
    if not content_ns:
        return StreamTimings(None, [], None, e2e)
    ttft = (content_ns[0] - sent_ns) / _NS_PER_MS
    itl = [(b - a) / _NS_PER_MS for a, b in itertools.pairwise(content_ns)]
    tpot = (e2e - ttft) / (output_tokens - 1) if output_tokens > 1 else None
    return StreamTimings(ttft, itl, tpot, e2e)
