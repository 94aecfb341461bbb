"""The report's decision figures: cost per transaction, retries, and the gate's verdicts.

Cost and retries come from summary.json (like every other table); the verdicts from the
run folder's gate.json and webhook.json, written when the run was gated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from msgspec import UnsetType

from loadprofile.config.redaction import redact_url
from loadprofile.contract.summary import (
    Latency,
    ModelCost,
    ModelFigures,
    Retries,
    Summary,
    given,
)
from loadprofile.report.money import fmt_usd
from loadprofile.report.tables import (
    EMPTY,
    ZERO,
    Pick,
    Row,
    Table,
    _cells,
    fmt_int,
    fmt_ms,
    fmt_share,
)


def _row(
    label: str,
    values: list[Any],
    fmt: Callable[[Any], str],
    pick: Pick | None = None,
    kind: str = "",
) -> Row:
    return Row(label, _cells(values, fmt, pick), kind)


def cost_table(models: list[str], summary: Summary) -> Table | None:
    """Cost per transaction and per 1,000 successful transactions, models side by side."""
    cost = summary.cost or {}
    if not any(m in cost for m in models):
        return None
    entries = [cost.get(m) for m in models]

    def values(get: Callable[[ModelCost], object]) -> list[object]:
        return [get(e) if e is not None else None for e in entries]

    unit = next((e.transaction_unit for e in entries if e is not None), "conversation")
    rows = [
        _row(
            "per 1,000 successful transactions",
            values(lambda e: e.per_1k_successful_transactions),
            fmt_usd,
            min,
        ),
        _row("per transaction, mean", values(lambda e: e.per_transaction.mean), fmt_usd, min),
        _row("p50", values(lambda e: e.per_transaction.p50), fmt_usd, min, "sub"),
        _row("p95", values(lambda e: e.per_transaction.p95), fmt_usd, min, "sub"),
        _row("p99", values(lambda e: e.per_transaction.p99), fmt_usd, min, "sub"),
        _row("transactions (finished)", values(lambda e: e.transactions), fmt_int),
        _row("successful", values(lambda e: e.successful_transactions), fmt_int, kind="sub"),
        _row("per request, mean", values(lambda e: e.per_request.mean), fmt_usd, min),
        _row("p95", values(lambda e: e.per_request.p95), fmt_usd, min, "sub"),
        _row(
            "spent on failed attempts",
            values(lambda e: e.failed_attempt_share),
            fmt_share,
            min,
        ),
        _row("total spent", values(lambda e: e.total_usd), fmt_usd),
    ]
    note = (
        f"A transaction is one {unit}"
        + (" (one user's pass through it)" if unit == "conversation" else "")
        + "; its cost sums every attempt the model ran (retries and failed attempts "
        "included; attempts refused with an HTTP error are not billed). Per 1,000 "
        "successful transactions divides everything spent on finished transactions by "
        "the successful ones. Models without prices ([prices.NAME] in the config) show "
        f"{EMPTY}."
    )
    return Table("cost", "Cost (USD)", models, rows, note)


def retry_table(models: list[str], summary: Summary) -> Table | None:
    """First attempt against what the user felt; shown when the run retried (--retries)."""
    if summary.load is None or not summary.load.retries:
        return None
    entries = [summary.models.get(m) for m in models]
    retries = [e.retries if e is not None else None for e in entries]

    def tried(get: Callable[[Retries], object]) -> list[object]:
        return [get(r) if r is not None else None for r in retries]

    def p99(get: Callable[[ModelFigures], Latency | UnsetType]) -> list[object]:
        found = [given(get(e)) if e is not None else None for e in entries]
        return [latency.p99 if latency is not None else None for latency in found]

    rows = [
        _row("first attempt failed", tried(lambda r: r.first_attempt_error_rate), fmt_share, min),
        _row("retried requests", tried(lambda r: r.retried_requests), fmt_int),
        _row("extra attempts", tried(lambda r: r.retry_attempts), fmt_int, kind="sub"),
        _row("recovered by a retry", tried(lambda r: r.recovered), fmt_int, kind="sub"),
        _row(
            "failed after every retry",
            [e.error_rate if e is not None else None for e in entries],
            fmt_share,
            min,
        ),
    ]
    classes = sorted({c for r in retries if r is not None for c in r.attempt_errors})
    rows += [
        _row(
            f"retried after {c}",
            [r.attempt_errors.get(c, 0) if r is not None else None for r in retries],
            lambda v: fmt_int(v, ZERO),
            kind="sub",
        )
        for c in classes
    ]
    rows += [
        _row("TTFT p99, as felt (ms)", p99(lambda e: e.ttft_ms), fmt_ms, min),
        _row(
            "TTFT p99, first attempt (ms)",
            p99(lambda e: e.ttft_first_attempt_ms),
            fmt_ms,
            min,
            "sub",
        ),
        _row("E2E p99, as felt (ms)", p99(lambda e: e.e2e_ms), fmt_ms, min),
        _row(
            "E2E p99, first attempt (ms)", p99(lambda e: e.e2e_first_attempt_ms), fmt_ms, min, "sub"
        ),
    ]
    note = (
        "As felt: from the first attempt's start to the final answer, backoff included "
        "(the main latency tables). First attempt: requests whose first attempt succeeded."
    )
    return Table("retries", "Retries", models, rows, note)


def gate_section(run_dir: Path) -> dict[str, Any] | None:
    """gate.json (and webhook.json) as the report shows them; None when never gated."""
    path = run_dir / "gate.json"
    if not path.exists():
        return None
    try:
        gate = json.loads(path.read_text(encoding="utf-8"))
        hook_path = run_dir / "webhook.json"
        hook = json.loads(hook_path.read_text(encoding="utf-8")) if hook_path.exists() else None
    except (OSError, ValueError):  # ValueError: bad JSON or bad UTF-8
        return None
    if not isinstance(gate, dict) or not isinstance(gate.get("verdicts", []), list):
        return None
    if not isinstance(hook, dict):
        hook = None
    elif isinstance(hook.get("url"), str):  # an older loadprofile wrote it verbatim
        hook = {**hook, "url": redact_url(hook["url"])}
    verdicts = sorted(
        (v for v in gate.get("verdicts") or [] if isinstance(v, dict)),
        key=lambda v: bool(v.get("passed")),
    )
    return {
        "passed": bool(gate.get("passed")),
        "slo": gate.get("slo_source"),
        "canary": gate.get("canary"),
        "verdicts": verdicts,
        "webhook": hook,
        # how warm each side's prefix cache was (the gate's own line for each pair)
        "cache": [
            c["note"] for c in gate.get("cache") or [] if isinstance(c, dict) and c.get("note")
        ],
        "failed": sum(1 for v in verdicts if not v.get("passed")),
        # failed for being partial, whatever the bounds said
        "partial": bool(gate.get("partial")) and not gate.get("allow_partial"),
    }
