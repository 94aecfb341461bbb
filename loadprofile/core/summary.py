"""``summary.json`` (a contract: README's run folder) from histograms and counts (pure).

Schema 2 (was 1): ``ttft_ms``/``e2e_ms`` run from the request's start, a new connection's
handshake included; ``ttft_ms``/``itl_ms`` also hold requests that failed after their first
token; rates divide by each model's ``window_s`` (first request's start to last one's end,
drain included); new ``window_s`` and ``failed_output_tokens``. Keys are otherwise as in 1.
"""

from __future__ import annotations

from typing import Any

from hdrh.histogram import HdrHistogram

from loadprofile.client.apis.openai_chat import CHARS_PER_TOKEN
from loadprofile.core.collector import ModelTotals
from loadprofile.core.counts import Counts
from loadprofile.core.hdr import mean_value, value_at_percentiles
from loadprofile.core.metrics import FIRST_ATTEMPT_METRICS, HISTOGRAM_METRICS, PERCENTILES

SCHEMA = 2


def histogram_summary(hist: HdrHistogram) -> dict[str, float | int | None]:
    """Percentile keys in milliseconds (histograms hold microseconds); None when empty."""
    count = hist.get_total_count()
    if not count:
        empty: dict[str, float | int | None] = {key: None for key, _ in PERCENTILES}
        return empty | {"max": None, "mean": None, "count": 0}
    values = value_at_percentiles(hist, [p for _, p in PERCENTILES])
    out: dict[str, float | int | None] = {
        key: round(values[p] / 1000.0, 3) for key, p in PERCENTILES
    }
    out["max"] = round(hist.get_max_value() / 1000.0, 3)
    out["mean"] = round(mean_value(hist) / 1000.0, 3)
    out["count"] = count
    return out


def model_summary(
    totals: ModelTotals, duration_s: float, retries: bool = False, request_window: bool = True
) -> dict[str, Any]:
    """One model's figures; the first-attempt metrics only for a run with --retries.

    Rates divide by ``window_s``, the window that produced the counts (the first request's
    start to the last one's end, the drain included); by ``duration_s`` when
    ``request_window`` is False (a phase's edges) or the counts carry no window (written
    by an older version)."""
    counts = totals.counts
    successes = counts.requests - counts.failures
    window_s = (counts.window_s if request_window else 0.0) or duration_s
    per_s = 1.0 / window_s if window_s > 0 else 0.0
    entry: dict[str, Any] = {
        "requests": counts.requests,
        "failures": counts.failures,
        "error_rate": round(counts.failures / counts.requests, 6) if counts.requests else 0.0,
        "errors": dict(sorted(counts.errors.items())),
        "window_s": round(window_s, 3),
    }
    for metric in HISTOGRAM_METRICS:
        if retries or metric not in FIRST_ATTEMPT_METRICS:
            entry[metric] = histogram_summary(totals.histograms[metric])
    entry["output_tokens_per_s"] = round(counts.output_tokens * per_s, 3)
    entry["requests_per_s"] = round(counts.requests * per_s, 3)
    entry["good_requests"] = counts.good
    entry["goodput_per_s"] = round(counts.good * per_s, 3)
    entry["successes"] = successes
    entry["output_tokens"] = counts.output_tokens
    entry["failed_output_tokens"] = counts.failed_output_tokens
    entry["prompt_tokens"] = counts.prompt_tokens
    entry["tokens_estimated_share"] = (
        round(counts.estimated_tokens / successes, 4) if successes else 0.0
    )
    entry["out_of_range_values"] = counts.out_of_range
    entry["cached_prompt_tokens"] = counts.cached_tokens if counts.cached_requests else None
    if counts.connections:
        entry["connections"] = {k: counts.connections[k] for k in sorted(counts.connections)}
    entry["retries"] = retry_summary(counts)
    return entry


def retry_summary(counts: Counts) -> dict[str, Any]:
    """--retries: how often the first attempt failed, how many requests were retried (with
    how many extra attempts, failing how) and how many of those then succeeded."""
    return {
        "first_attempt_failures": counts.first_attempt_failures,
        "first_attempt_error_rate": round(counts.first_attempt_failures / counts.requests, 6)
        if counts.requests
        else 0.0,
        "retried_requests": counts.retried,
        "retry_attempts": counts.retry_attempts,
        "recovered": counts.recovered,
        "attempts": counts.requests + counts.retry_attempts,
        "attempt_errors": dict(sorted(counts.attempt_errors.items())),
    }


def _per(numerator: int, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def token_summary(counts: Counts, canonical: Counts | None) -> dict[str, Any]:
    """Tokenization per model, from successes whose server reported usage: tokens per
    request, per local estimate (characters / 4), and per character against the canonical
    model's (the run's first; the same prompts, so a prompt ratio of 1.4 means its
    tokenizer counts 40 % more tokens for the same text)."""
    c = counts
    out: dict[str, Any] = {
        "usage_requests": c.usage_requests,
        "prompt_tokens_per_request": _per(c.usage_prompt_tokens, c.usage_requests),
        "output_tokens_per_request": _per(c.usage_output_tokens, c.usage_requests),
        "prompt_tokens_per_estimate": _per(
            c.usage_prompt_tokens, c.usage_prompt_chars / CHARS_PER_TOKEN
        ),
        "output_tokens_per_estimate": _per(
            c.usage_output_tokens, c.usage_output_chars / CHARS_PER_TOKEN
        ),
        "prompt_tokens_vs_canonical": None,
        "output_tokens_vs_canonical": None,
    }
    if canonical is not None:
        for kind in ("prompt", "output"):
            mine = _per(getattr(c, f"usage_{kind}_tokens"), getattr(c, f"usage_{kind}_chars"))
            base = _per(
                getattr(canonical, f"usage_{kind}_tokens"),
                getattr(canonical, f"usage_{kind}_chars"),
            )
            if mine is not None and base:
                out[f"{kind}_tokens_vs_canonical"] = round(mine / base, 3)
    return out


def correctness_summary(counts: Counts, canonical: Counts | None = None) -> dict[str, Any]:
    """summary.json's "correctness" for one model: what came back, not how fast.

    ``contract_violations``: replies that broke the response contract (the ``contract``
    error class: chunk schema, ids, finish_reason, end of stream, --content-schema);
    ``json_valid_rate``: share of checked replies meeting --content-schema (None: no
    schema); ``notes``: tolerable deviations (no usage chunk although asked, no [DONE],
    reply not streamed), counted over all replies."""
    violations = counts.errors.get("contract", 0)
    return {
        "responses": counts.requests,
        "contract_violations": violations,
        "contract_violation_rate": round(violations / counts.requests, 6)
        if counts.requests
        else 0.0,
        "json_checked": counts.json_checked,
        "json_valid_rate": round(counts.json_valid / counts.json_checked, 6)
        if counts.json_checked
        else None,
        "notes": dict(sorted(counts.notes.items())),
        "grounding": {
            "checked": counts.grounding_checked,
            "flagged": counts.grounding_flagged,
            "flagged_rate": round(counts.grounding_flagged / counts.grounding_checked, 6),
        }
        if counts.grounding_checked
        else None,
        "tokens": token_summary(counts, canonical),
    }


def build_summary(
    *,
    run_id: str,
    started_at: str,
    duration_s: float,
    target: dict[str, Any],
    load: dict[str, Any],
    models: dict[str, ModelTotals],
    partial: bool,
    extra: dict[str, Any] | None = None,
    canonical: str | None = None,
    cost: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The summary; ``extra`` adds top-level keys (phases, recovery, generator health);
    ``canonical``: the model the others' tokenization is compared with (the run's first);
    ``cost``: per priced model (cost.cost_summary), present only when prices were given."""
    base = models[canonical].counts if canonical in models else None
    return {
        "schema": SCHEMA,
        "run_id": run_id,
        "started_at": started_at,
        "duration_s": round(duration_s, 3),
        "partial": partial,
        "target": target,
        "load": load,
        "models": {
            name: model_summary(models[name], duration_s, bool(load.get("retries")))
            for name in sorted(models)
        },
        "correctness": {
            name: correctness_summary(models[name].counts, base) for name in sorted(models)
        },
        **({"cost": cost} if cost else {}),
        **(extra or {}),
    }
