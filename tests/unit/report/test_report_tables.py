"""Number formatting and side-by-side tables (pure functions on summary dicts)."""

from __future__ import annotations

import pytest

from loadprofile.core.results import ErrorClass
from loadprofile.report.data import generator_bound
from loadprofile.report.meta import fmt_duration, generator_health, show
from loadprofile.report.tables import (
    fmt_int,
    fmt_ms,
    fmt_rate,
    fmt_share,
    metric_table,
    overview_table,
)
from tests.models import generator_of, summary_of


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.4123, "0.412"),
        (12.345, "12.35"),
        (123.45, "123.5"),
        (1234.5, "1,234"),
        (None, "–"),
        (float("nan"), "–"),
        (0, "0.000"),
    ],
)
def test_fmt_ms(value: float | None, text: str) -> None:
    assert fmt_ms(value) == text


@pytest.mark.parametrize(
    ("fmt", "value", "text"),
    [
        (fmt_int, 12345, "12,345"),
        (fmt_rate, 3.14159, "3.14"),
        (fmt_rate, 1234.4, "1,234"),
        (fmt_share, 0.0, "0 %"),
        (fmt_share, 0.01234, "1.23 %"),
        (fmt_share, 0.5, "50.0 %"),
        (show, [1, 3], "1, 3"),
        (show, 1.0, "1"),
        (fmt_duration, 30, "30.0 s"),
        (fmt_duration, 3725, "1 h 02 min 05 s"),
        (fmt_duration, 90, "1 min 30 s"),
    ],
)
def test_formatters(fmt: object, value: object, text: str) -> None:
    assert callable(fmt) and fmt(value) == text


SUMMARY = summary_of(
    {
        "models": {
            "a": {
                "requests": 10,
                "failures": 1,
                "error_rate": 0.1,
                "errors": {"timeout": 1},
                "ttft_ms": {"p50": 10.0, "p99": 50.0, "count": 9},
                "output_tokens_per_s": 5.0,
            },
            "b": {
                "requests": 10,
                "failures": 0,
                "error_rate": 0.0,
                "errors": {"weird": 2},
                "ttft_ms": {"p50": 20.0, "p99": 50.0, "count": 10},
                "output_tokens_per_s": 7.0,
            },
        }
    }
)


def test_metric_table_highlights_only_a_distinct_best() -> None:
    table = metric_table("ttft_ms", "Time to first token", ["a", "b", "missing"], SUMMARY)
    rows = {r.label: r for r in table.rows}
    assert [c.best for c in rows["p50"].cells] == [True, False, False]
    assert [c.best for c in rows["p99"].cells] == [False, False, False]  # a tie
    assert [c.text for c in rows["p90"].cells] == ["–", "–", "–"]
    assert not any(c.best for c in rows["count"].cells)


def test_overview_has_all_classes_plus_unknown_ones() -> None:
    table = overview_table(["a", "b"], SUMMARY)
    rows = {r.label: r for r in table.rows}
    for name in [*map(str, ErrorClass), "weird"]:
        assert rows[name].kind == "sub"
    assert [c.text for c in rows["timeout"].cells] == ["1", "·"]
    assert [c.text for c in rows["successes"].cells] == ["9", "10"]
    assert [c.best for c in rows["error rate"].cells] == [False, True]
    assert "cached prompt tokens" not in rows  # no model's server reported any


def test_overview_shows_cached_prompt_tokens_when_a_server_reports_them() -> None:
    summary = {
        "models": {
            "a": {"requests": 2, "prompt_tokens": 400, "cached_prompt_tokens": 100},
            "b": {"requests": 2, "prompt_tokens": 400, "cached_prompt_tokens": None},
        }
    }
    rows = {r.label: r for r in overview_table(["a", "b"], summary_of(summary)).rows}
    assert [c.text for c in rows["cached prompt tokens"].cells] == ["100 (25.0 %)", "not reported"]


def test_generator_health_merges_bound_seconds_and_keeps_reasons() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "start_s": [0.0, 1.0, 2.0, 3.0, 4.0],
            "end_s": [1.0, 2.0, 3.0, 4.0, 5.0],
            "users": [1] * 5,
            "cpu_percent": [50.0, 95.0, 97.0, 20.0, 91.0],
            "loop_lag_ms_max": [1.0, 2.0, 30.0, 1.0, 1.0],
            "bound": ["", "CPU 95%", "CPU 97%; event-loop lag 30 ms", "", "CPU 91%"],
        }
    )
    bound = generator_bound(frame, True)
    assert [b.reasons for b in bound] == ["CPU 95%", "CPU 97%; event-loop lag 30 ms", "CPU 91%"]
    health = generator_health(frame, None, bound)
    assert health.suspect == ["1–3 s", "4–5 s"] and health.suspect_seconds == 3.0
    assert health.max == 97.0 and health.loop_lag_max == 30.0
    empty = generator_health(frame.iloc[0:0], generator_of({"cpu_percent_max": 71.0}), [])
    assert empty.max == 71.0 and empty.suspect == []


def test_generator_bound_trusts_the_column_over_the_cpu() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "start_s": [0.0, 1.0],
            "end_s": [1.0, 2.0],
            "cpu_percent": [99.0, 10.0],
            "loop_lag_ms_max": [1.0, 12.0],
            "bound": ["", "event-loop lag 12 ms"],
        }
    )
    assert [(b.start_s, b.reasons) for b in generator_bound(frame, True)] == [
        (1.0, "event-loop lag 12 ms")
    ]
    # An old folder (no `bound` column): CPU >= 90 % is the verdict.
    assert [(b.start_s, b.reasons) for b in generator_bound(frame, False)] == [(0.0, "CPU 99%")]
    # No generator.csv at all: summary.json's bound_intervals.
    stats = generator_of({"bound_intervals": [[4.0, 5.0]]})
    assert [(b.start_s, b.end_s) for b in generator_bound(frame.iloc[0:0], True, stats)] == [
        (4.0, 5.0)
    ]
