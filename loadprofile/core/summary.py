"""``summary.json`` (a contract: docs/run-folder.md) from histograms and counts (pure).

Schema 2 (was 1): ``ttft_ms``/``e2e_ms`` run from the request's start, a new connection's
handshake included; ``ttft_ms``/``itl_ms`` also hold requests that failed after their first
token; rates divide by each model's ``window_s`` (first request's start to last one's end,
drain included); new ``window_s`` and ``failed_output_tokens``. Keys are otherwise as in 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from hdrh.histogram import HdrHistogram
from msgspec import UNSET, UnsetType

from loadprofile.client.apis.openai_chat import CHARS_PER_TOKEN
from loadprofile.contract.summary import (
    SCHEMA,
    Correctness,
    GeneratorHealth,
    Grounding,
    Latency,
    LoadSettings,
    ModelCost,
    ModelFigures,
    PhaseFigures,
    Retries,
    Summary,
    TargetInfo,
    Tokens,
    WorkersBrief,
)
from loadprofile.core.collector import ModelTotals
from loadprofile.core.counts import Counts
from loadprofile.core.hdr import mean_value, value_at_percentiles
from loadprofile.core.metrics import (
    CONNECT_MS,
    E2E,
    E2E_FIRST,
    E2E_SERVICE,
    ITL,
    PERCENTILES,
    TLS_MS,
    TPOT,
    TTFT,
    TTFT_FIRST,
    TTFT_SERVICE,
    TTFVT,
)

__all__ = ["SCHEMA", "Timeline", "build_summary", "histogram_summary", "latency_figures"]


def latency_figures(hist: HdrHistogram) -> Latency:
    """Percentiles in milliseconds (histograms hold microseconds); None when empty."""
    count = hist.get_total_count()
    if not count:
        return Latency()
    values = value_at_percentiles(hist, [p for _, p in PERCENTILES])
    ms = {key: round(values[p] / 1000.0, 3) for key, p in PERCENTILES}
    return Latency(
        p50=ms["p50"],
        p90=ms["p90"],
        p95=ms["p95"],
        p99=ms["p99"],
        p99_9=ms["p99_9"],
        max=round(hist.get_max_value() / 1000.0, 3),
        mean=round(mean_value(hist) / 1000.0, 3),
        count=count,
    )


def histogram_summary(hist: HdrHistogram) -> dict[str, float | int | None]:
    """``latency_figures`` as summary.json holds them (a dict of the percentile keys)."""
    out: dict[str, float | int | None] = msgspec.to_builtins(latency_figures(hist))
    return out


def model_summary(
    totals: ModelTotals, duration_s: float, retries: bool = False, request_window: bool = True
) -> ModelFigures:
    """One model's figures; the first-attempt metrics only for a run with --retries.

    Rates divide by ``window_s``, the window that produced the counts (the first request's
    start to the last one's end, the drain included); by ``duration_s`` when
    ``request_window`` is False (a phase's edges) or the counts carry no window (written
    by an older version)."""
    counts = totals.counts
    successes = counts.requests - counts.failures
    window_s = (counts.window_s if request_window else 0.0) or duration_s
    per_s = 1.0 / window_s if window_s > 0 else 0.0
    hist = totals.histograms

    def first_attempt(metric: str) -> Latency | UnsetType:
        return latency_figures(hist[metric]) if retries else UNSET

    return ModelFigures(
        requests=counts.requests,
        failures=counts.failures,
        error_rate=round(counts.failures / counts.requests, 6) if counts.requests else 0.0,
        errors=dict(sorted(counts.errors.items())),
        window_s=round(window_s, 3),
        ttft_ms=latency_figures(hist[TTFT]),
        itl_ms=latency_figures(hist[ITL]),
        tpot_ms=latency_figures(hist[TPOT]),
        e2e_ms=latency_figures(hist[E2E]),
        ttft_service_ms=latency_figures(hist[TTFT_SERVICE]),
        e2e_service_ms=latency_figures(hist[E2E_SERVICE]),
        ttft_first_attempt_ms=first_attempt(TTFT_FIRST),
        e2e_first_attempt_ms=first_attempt(E2E_FIRST),
        ttfvt_ms=latency_figures(hist[TTFVT]),
        output_tokens_per_s=round(counts.output_tokens * per_s, 3),
        requests_per_s=round(counts.requests * per_s, 3),
        good_requests=counts.good,
        goodput_per_s=round(counts.good * per_s, 3),
        successes=successes,
        output_tokens=counts.output_tokens,
        failed_output_tokens=counts.failed_output_tokens,
        prompt_tokens=counts.prompt_tokens,
        tokens_estimated_share=round(counts.estimated_tokens / successes, 4) if successes else 0.0,
        out_of_range_values=counts.out_of_range,
        cached_prompt_tokens=counts.cached_tokens if counts.cached_requests else None,
        connections={k: counts.connections[k] for k in sorted(counts.connections)}
        if counts.connections
        else UNSET,
        retries=retry_summary(counts),
        connect_ms=counted(hist[CONNECT_MS]),
        tls_ms=counted(hist[TLS_MS]),
    )


def counted(hist: HdrHistogram) -> Latency | UnsetType:
    """A distribution that only some runs have (TLS, new connections): left out if empty."""
    return latency_figures(hist) if hist.get_total_count() else UNSET


def retry_summary(counts: Counts) -> Retries:
    """--retries: how often the first attempt failed, how many requests were retried (with
    how many extra attempts, failing how) and how many of those then succeeded."""
    return Retries(
        first_attempt_failures=counts.first_attempt_failures,
        first_attempt_error_rate=round(counts.first_attempt_failures / counts.requests, 6)
        if counts.requests
        else 0.0,
        retried_requests=counts.retried,
        retry_attempts=counts.retry_attempts,
        recovered=counts.recovered,
        attempts=counts.requests + counts.retry_attempts,
        attempt_errors=dict(sorted(counts.attempt_errors.items())),
    )


def _per(numerator: int, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _vs_canonical(mine: float | None, base: float | None) -> float | None:
    return round(mine / base, 3) if mine is not None and base else None


def token_summary(counts: Counts, canonical: Counts | None) -> Tokens:
    """Tokenization per model, from successes whose server reported usage: tokens per
    request, per local estimate (characters / 4), and per character against the canonical
    model's (the run's first; the same prompts, so a prompt ratio of 1.4 means its
    tokenizer counts 40 % more tokens for the same text)."""
    c, base = counts, canonical
    return Tokens(
        usage_requests=c.usage_requests,
        prompt_tokens_per_request=_per(c.usage_prompt_tokens, c.usage_requests),
        output_tokens_per_request=_per(c.usage_output_tokens, c.usage_requests),
        prompt_tokens_per_estimate=_per(
            c.usage_prompt_tokens, c.usage_prompt_chars / CHARS_PER_TOKEN
        ),
        output_tokens_per_estimate=_per(
            c.usage_output_tokens, c.usage_output_chars / CHARS_PER_TOKEN
        ),
        prompt_tokens_vs_canonical=None
        if base is None
        else _vs_canonical(
            _per(c.usage_prompt_tokens, c.usage_prompt_chars),
            _per(base.usage_prompt_tokens, base.usage_prompt_chars),
        ),
        output_tokens_vs_canonical=None
        if base is None
        else _vs_canonical(
            _per(c.usage_output_tokens, c.usage_output_chars),
            _per(base.usage_output_tokens, base.usage_output_chars),
        ),
    )


def correctness_summary(counts: Counts, canonical: Counts | None = None) -> Correctness:
    """summary.json's "correctness" for one model: what came back, not how fast.

    ``contract_violations``: replies that broke the response contract (the ``contract``
    error class: chunk schema, ids, finish_reason, end of stream, --content-schema);
    ``json_valid_rate``: share of checked replies meeting --content-schema (None: no
    schema); ``notes``: tolerable deviations (no usage chunk although asked, no [DONE],
    reply not streamed), counted over all replies."""
    violations = counts.errors.get("contract", 0)
    return Correctness(
        responses=counts.requests,
        contract_violations=violations,
        contract_violation_rate=round(violations / counts.requests, 6) if counts.requests else 0.0,
        json_checked=counts.json_checked,
        json_valid_rate=round(counts.json_valid / counts.json_checked, 6)
        if counts.json_checked
        else None,
        notes=dict(sorted(counts.notes.items())),
        grounding=Grounding(
            checked=counts.grounding_checked,
            flagged=counts.grounding_flagged,
            flagged_rate=round(counts.grounding_flagged / counts.grounding_checked, 6),
        )
        if counts.grounding_checked
        else None,
        tokens=token_summary(counts, canonical),
    )


@dataclass(frozen=True)
class Timeline:
    """The summary's figures about the run's timeline (core.phases.summary_extras):
    "phases", and "recovery_s" (spike) or "max_concurrency_within_slo" (step with an SLO)."""

    phases: list[PhaseFigures] | UnsetType = UNSET
    recovery_s: dict[str, float | None] | UnsetType = UNSET
    max_concurrency_within_slo: dict[str, int] | UnsetType = UNSET


def build_summary(
    *,
    run_id: str,
    started_at: str,
    duration_s: float,
    target: TargetInfo,
    load: LoadSettings | None,
    models: dict[str, ModelTotals],
    partial: bool,
    timeline: Timeline | None = None,
    generator: GeneratorHealth | None = None,
    workers: WorkersBrief | None = None,
    canonical: str | None = None,
    cost: dict[str, ModelCost] | None = None,
) -> Summary:
    """The summary; ``timeline``, ``generator`` and ``workers`` add their top-level keys
    when given; ``canonical``: the model the others' tokenization is compared with (the
    run's first); ``cost``: per priced model (cost.cost_summary), present only when prices
    were given."""
    base = models[canonical].counts if canonical in models else None
    retries = bool(load is not None and load.retries)
    timeline = timeline or Timeline()
    return Summary(
        schema=SCHEMA,
        run_id=run_id,
        started_at=started_at,
        duration_s=round(duration_s, 3),
        partial=partial,
        target=target,
        load=load,
        models={name: model_summary(models[name], duration_s, retries) for name in sorted(models)},
        correctness={
            name: correctness_summary(models[name].counts, base) for name in sorted(models)
        },
        cost=cost or UNSET,
        phases=timeline.phases,
        recovery_s=timeline.recovery_s,
        max_concurrency_within_slo=timeline.max_concurrency_within_slo,
        generator=UNSET if generator is None else generator,
        workers=UNSET if workers is None else workers,
    )
