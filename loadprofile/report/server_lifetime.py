"""Server gauges that are averages since the server started, and what the run can say of them.

llama.cpp's ``llamacpp:n_busy_slots_per_decode`` is busy slots summed over every
``llama_decode()`` call since start, divided by those calls (both lifetime totals); vLLM V0's
prefix-cache hit rates are hit rates since start too. Drawn over a run, such a line creeps
towards the server's lifetime mean whatever the load does, and would be read as the load's
doing. So they get no chart: the report lists their values at the run's first and last
scrape, and, where the server also exports the count that weighs the average
(``llamacpp:n_decode_total``), the run's own average recovered from the two scrapes:
(a₁·n₁ − a₀·n₀) / (n₁ − n₀). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from loadprofile.client.server_metrics import Series, SeriesKey, labels_of

#: name -> (the counter that weighs the average, or None; what it averages, in words).
SINCE_START: dict[str, tuple[str | None, str]] = {
    "llamacpp:n_busy_slots_per_decode": (
        "llamacpp:n_decode_total",
        "busy slots per llama_decode() call",
    ),
    "vllm:gpu_prefix_cache_hit_rate": (None, "GPU prefix-cache hit rate (vLLM V0)"),
    "vllm:cpu_prefix_cache_hit_rate": (None, "CPU prefix-cache hit rate (vLLM V0)"),
}
#: The run's own average is given only when the run made at least this share of the
#: weighing count since the server started: servers print these values rounded (llama.cpp
#: to 6 significant digits), and the difference of two large products would amplify that.
MIN_RUN_SHARE = 0.05


@dataclass(frozen=True)
class SinceStart:
    source: str
    name: str
    labels: str  # as the server gave them: "model_name=x, ..." ("" for none)
    meaning: str
    first: float
    last: float
    during_run: float | None  # the run's own average; None when it cannot be recovered
    why_not: str = ""  # why ``during_run`` is None, in a few words


def without_since_start(series: dict[SeriesKey, Series]) -> dict[SeriesKey, Series]:
    """The series fit to be drawn over time: every one but the since-start averages."""
    return {key: s for key, s in series.items() if key[1] not in SINCE_START}


def since_start(series: dict[SeriesKey, Series]) -> list[SinceStart]:
    """Every since-start average the server exported, with what the run can say of it."""
    out = []
    for key in sorted(k for k in series if k[1] in SINCE_START):
        source, name, labels = key
        points = _finite(series[key])
        if not points:
            continue
        weight_name, meaning = SINCE_START[name]
        weights = series.get((source, weight_name, labels)) if weight_name else None
        during, why = _run_average(points, _finite(weights) if weights else {})
        if weight_name is None:
            why = "the server exports no count to weigh it by"
        first, last = points[min(points)], points[max(points)]
        shown = ", ".join(f"{k}={v}" for k, v in labels_of(labels).items())
        out.append(SinceStart(source, name, shown, meaning, first, last, during, why))
    return out


def _run_average(
    average: dict[float, float], count: dict[float, float]
) -> tuple[float | None, str]:
    """(a₁·n₁ − a₀·n₀) / (n₁ − n₀) between the first and last scrape with both values."""
    both = sorted(t for t in average if t in count)
    if len(both) < 2:
        return None, "not scraped twice with its count"
    t0, t1 = both[0], both[-1]
    n0, n1 = count[t0], count[t1]
    made = n1 - n0
    if made <= 0:
        return None, "the server counted no events during the run"
    if made < MIN_RUN_SHARE * n1:
        return None, (
            f"the run made only {100 * made / n1:.1f} % of the events since the "
            "server started: too few to recover its own average"
        )
    return (average[t1] * n1 - average[t0] * n0) / made, ""


def _finite(s: Series) -> dict[float, float]:
    return {t: v for t, v in zip(s.t, s.v, strict=True) if v == v and abs(v) != float("inf")}
