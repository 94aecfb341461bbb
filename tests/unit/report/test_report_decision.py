"""The report's cost, retries and gate sections (pure tables; the gate read from gate.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadprofile.report.decision import cost_table, fmt_usd, gate_section, retry_table
from tests.models import summary_of

SUMMARY = {
    "load": {"retries": 2},
    "models": {
        "cheap": {
            "error_rate": 0.02,
            "ttft_ms": {"p99": 900.0},
            "ttft_first_attempt_ms": {"p99": 400.0},
            "retries": {
                "first_attempt_error_rate": 0.2,
                "retried_requests": 40,
                "retry_attempts": 55,
                "recovered": 36,
                "attempt_errors": {"http_429": 50, "http_5xx": 5},
            },
        },
        "dear": {
            "error_rate": 0.0,
            "ttft_ms": {"p99": 300.0},
            "ttft_first_attempt_ms": {"p99": 300.0},
            "retries": {
                "first_attempt_error_rate": 0.0,
                "retried_requests": 0,
                "retry_attempts": 0,
                "recovered": 0,
                "attempt_errors": {},
            },
        },
    },
    "cost": {
        "cheap": {
            "transaction_unit": "conversation",
            "per_1k_successful_transactions": 4.2,
            "per_transaction": {"mean": 0.0039, "p50": 0.003, "p95": 0.009, "p99": 0.02},
            "per_request": {"mean": 0.001, "p95": 0.002},
            "transactions": 100,
            "successful_transactions": 93,
            "failed_attempt_share": 0.08,
            "total_usd": 0.39,
        },
        "dear": {
            "transaction_unit": "conversation",
            "per_1k_successful_transactions": 3.9,
            "per_transaction": {"mean": 0.0039},
            "transactions": 100,
            "successful_transactions": 100,
            "failed_attempt_share": 0.0,
            "total_usd": 0.39,
        },
    },
}


def _row(table: object, label: str) -> list[str]:
    rows = table.rows
    return [c.text for c in next(r for r in rows if r.label == label).cells]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0001234, "$0.0001234"),
        (1.23456, "$1.235"),
        (1234.5, "$1,234"),
        (0, "$0"),
        (None, "–"),
    ],
)
def test_money_is_shown_with_four_significant_digits(value: float | None, text: str) -> None:
    assert fmt_usd(value) == text


def test_cost_per_success_puts_the_failing_cheap_model_behind() -> None:
    table = cost_table(["cheap", "dear", "unpriced"], summary_of(SUMMARY))
    assert table is not None
    assert _row(table, "per 1,000 successful transactions") == ["$4.2", "$3.9", "–"]
    best = [
        c.best
        for c in next(r for r in table.rows if r.label == "per 1,000 successful transactions").cells
    ]
    assert best == [False, True, False]
    assert _row(table, "spent on failed attempts") == ["8.00 %", "0 %", "–"]
    assert cost_table(["cheap"], summary_of({"models": {}})) is None  # no prices: no table


def test_retry_table_sets_the_first_attempt_beside_what_was_felt() -> None:
    table = retry_table(["cheap", "dear"], summary_of(SUMMARY))
    assert table is not None
    assert _row(table, "first attempt failed") == ["20.0 %", "0 %"]
    assert _row(table, "retried after http_429") == ["50", "·"]
    assert _row(table, "TTFT p99, as felt (ms)") == ["900.0", "300.0"]
    assert _row(table, "TTFT p99, first attempt (ms)") == ["400.0", "300.0"]
    assert retry_table(["cheap"], summary_of({**SUMMARY, "load": {"retries": 0}})) is None


def test_gate_section_reads_gate_and_webhook_files(tmp_path: Path) -> None:
    assert gate_section(tmp_path) is None
    (tmp_path / "gate.json").write_text(
        json.dumps(
            {
                "passed": False,
                "slo_source": "slo.toml",
                "canary": None,
                "verdicts": [{"passed": True, "bound": "a"}, {"passed": False, "bound": "b"}],
            }
        )
    )
    hook = {"url": "http://127.0.0.1:1/", "status": 200}
    (tmp_path / "webhook.json").write_text(json.dumps(hook))
    section = gate_section(tmp_path)
    assert section is not None
    assert section["failed"] == 1 and section["verdicts"][0]["bound"] == "b"  # failures first
    assert section["webhook"]["status"] == 200
