"""Seeded synthetic measurements recorded with the real Collector (shared by core tests).

A plain module with a unique name (not conftest) so test modules can import it safely.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from loadprofile.core.collector import Collector, ModelInterval
from loadprofile.core.results import ErrorClass, RequestResult

START_UNIX = 1_790_000_000.123
#: model label -> (median TTFT ms, median inter-token gap ms); labels need slugging.
MODELS = {"org/alpha:7b": (180.0, 14.0), "beta": (420.0, 38.0)}
METRIC_NAMES = ("ttft_ms", "itl_ms", "tpot_ms", "e2e_ms")


@dataclass
class Recorded:
    """Everything that went into a Collector, for checking what came out."""

    collector: Collector
    results: list[RequestResult]
    #: (start_s, end_s, closed intervals) for every roll, in order.
    rolls: list[tuple[float, float, list[ModelInterval]]]
    #: model -> metric -> every value (ms) of successful requests (TTFT and ITL: also of
    #: requests that failed after their first token).
    raw: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    @property
    def end_s(self) -> float:
        return self.rolls[-1][1]


def synthetic_result(
    rng: np.random.Generator, model: str, i: int, fail_rate: float
) -> RequestResult:
    ttft_med, gap_med = MODELS.get(model, (100.0, 20.0))
    result = RequestResult(
        model=model,
        conversation_id=f"c{i % 37}",
        turn=1 + i % 4,
        start_unix=START_UNIX + i * 0.01,
        request_id=f"r{i}",
        prompt_chars=400,
        prompt_tokens=100 + i % 50,
        status=200,
    )
    n = int(rng.integers(2, 25))
    ttft = float(rng.lognormal(np.log(ttft_med), 0.7))
    itl = [float(v) for v in rng.lognormal(np.log(gap_med), 0.6, n - 1)]
    if rng.random() < fail_rate:
        # Half the failures came after their first token: its TTFT and the gaps after it
        # reach the histograms, E2E and TPOT (stale values here) must not.
        cls = list(ErrorClass)[int(rng.integers(0, len(ErrorClass)))]
        result.error_class = cls
        result.error = f"synthetic {cls}"
        result.e2e_ms, result.tpot_ms = ttft * 50, 1e6
        if rng.random() < 0.5:
            result.ttft_ms, result.itl_ms, result.output_tokens = ttft * 50, itl, n
        return result
    result.ttft_ms = ttft
    result.itl_ms = itl
    result.output_tokens = n
    result.tokens_estimated = bool(rng.random() < 0.2)
    result.e2e_ms = ttft + sum(itl)
    result.tpot_ms = (result.e2e_ms - ttft) / (n - 1)
    result.chunks = n
    return result


def record_run(
    *, seed: int = 11, requests: int = 4000, intervals: int = 5, fail_rate: float = 0.06
) -> Recorded:
    """Seeded requests for two models recorded over `intervals` rolls of 1 s each."""
    rng = np.random.default_rng(seed)
    collector = Collector(start_ns=1_000)
    out = Recorded(collector, [], [])
    models = list(MODELS)
    per = requests // intervals
    for k in range(intervals):
        for j in range(per):
            i = k * per + j
            r = synthetic_result(rng, models[int(rng.integers(0, 2))], i, fail_rate)
            collector.record(r)
            out.results.append(r)
            m = out.raw.setdefault(r.model, {name: [] for name in METRIC_NAMES})
            if not r.ok:
                if r.ttft_ms is not None:  # failed after its first token
                    m["ttft_ms"].append(r.ttft_ms)
                    m["itl_ms"].extend(r.itl_ms)
            else:
                m["ttft_ms"].append(r.ttft_ms or 0.0)
                m["tpot_ms"].append(r.tpot_ms or 0.0)
                m["e2e_ms"].append(r.e2e_ms or 0.0)
                m["itl_ms"].extend(r.itl_ms)
        closed = collector.roll(1_000 + (k + 1) * 1_000_000_000)
        out.rolls.append((float(k), float(k + 1), closed))
    return out
