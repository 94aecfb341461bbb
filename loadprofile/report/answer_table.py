"""The table under the report's opening sentences: the headline figures, models side by side.

Only rows the run has figures for: cost without prices, drift without a baseline and the
gate's row without a gate are left out, not shown empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loadprofile.report.headline import Headline, ModelFigures
from loadprofile.report.money import fmt_usd, usd_formatter
from loadprofile.report.tables import (
    EMPTY,
    Cell,
    Pick,
    Row,
    Table,
    _cells,
    fmt_distance,
    fmt_int,
    fmt_ms,
    fmt_rate,
    fmt_share,
)


def answer_table(head: Headline) -> Table:
    models = list(head.models)

    def row(
        label: str,
        get: Callable[[ModelFigures], Any],
        fmt: Callable[[Any], str],
        pick: Pick | None = None,
        kind: str = "",
    ) -> Row:
        return Row(label, _cells([get(m) for m in models], fmt, pick), kind)

    counts = [Cell(f"{fmt_int(m.failures)} / {fmt_int(m.requests)}") for m in models]
    rows = [
        row("TTFT p50 (ms)", lambda m: m.ttft.p50, fmt_ms, min),
        row("p95", lambda m: m.ttft.p95, fmt_ms, min, "sub"),
        row("p99", lambda m: m.ttft.p99, fmt_ms, min, "sub"),
        row("E2E p50 (ms)", lambda m: m.e2e.p50, fmt_ms, min),
        row("p95", lambda m: m.e2e.p95, fmt_ms, min, "sub"),
        row("p99", lambda m: m.e2e.p99, fmt_ms, min, "sub"),
        row("error rate", lambda m: m.error_rate, fmt_share, min),
        Row("failed / requests", counts, "sub"),
        row("requests/s", lambda m: m.requests_per_s, fmt_rate, max),
        row("output tokens/s", lambda m: m.output_tokens_per_s, fmt_rate, max),
    ]
    if any(
        m.cost_per_1k_successful is not None or m.cost_per_transaction is not None for m in models
    ):
        rows += [
            row(
                f"cost per {head.unit}, mean",
                lambda m: m.cost_per_transaction,
                usd_formatter(m.cost_per_transaction for m in models),
                min,
            ),
            row(
                f"per 1,000 successful {head.unit}s",
                lambda m: m.cost_per_1k_successful,
                fmt_usd,
                min,
                "sub",
            ),
        ]
    if any(m.drift_exact_match is not None for m in models):
        rows += [
            row(
                "replies equal to the calm baseline", lambda m: m.drift_exact_match, fmt_share, max
            ),
            row(
                "edit distance to it (mean)",
                lambda m: m.drift_edit_distance,
                fmt_distance,
                min,
                "sub",
            ),
        ]
    if head.gate is not None:
        rows.append(Row("gate", [Cell(_verdict(m)) for m in models]))
    names = [m.model for m in models]
    note = (
        "TTFT: request start to the first generated token; E2E: to the end of the reply. "
        "Exact percentiles from summary.json; the best value in each row is highlighted. "
        "Every figure is explained further down."
    )
    return Table("answer", "The models side by side", names, rows, note)


def _verdict(m: ModelFigures) -> str:
    if m.gate is None:
        return EMPTY
    if m.gate.passed:
        return "passed"
    return "FAILED: " + "; ".join(m.gate.broken)
