"""Time to first visible token: recorded, summarised, appended to requests.csv, and shown
in the report only where it tells something TTFT does not."""

from __future__ import annotations

import pytest

from loadprofile.core.collector import Collector
from loadprofile.core.metrics import TTFT, TTFVT
from loadprofile.core.results import RequestResult
from loadprofile.core.summary import model_summary
from loadprofile.report.context import visible_differs
from loadprofile.rundir.writer import REQUEST_COLUMNS, request_row
from tests.models import plain, summary_of


def result(ttft: float, ttfvt: float | None) -> RequestResult:
    return RequestResult(
        "m", "c", 1, 100.0, ttft_ms=ttft, e2e_ms=ttft + 50, ttfvt_ms=ttfvt, output_tokens=3
    )


def test_collector_keeps_a_ttfvt_histogram_beside_ttft() -> None:
    collector = Collector(0)
    for ttft, ttfvt in ((10.0, 40.0), (12.0, None), (14.0, 44.0)):
        collector.record(result(ttft, ttfvt))
    collector.roll(10**9)
    entry = plain(model_summary(collector.totals["m"], 1.0))
    assert entry[TTFT]["count"] == 3 and entry[TTFVT]["count"] == 2
    assert entry[TTFVT]["max"] == pytest.approx(44.0, rel=1e-3)


def test_requests_csv_appends_ttfvt_after_the_older_columns() -> None:
    at = REQUEST_COLUMNS.index("ttfvt_ms")
    assert at > REQUEST_COLUMNS.index("transaction_end")  # column order is a contract
    row = request_row(result(10.0, 40.5), 100.0)
    assert len(row) == len(REQUEST_COLUMNS) and row[at] == "40.500"
    assert request_row(result(10.0, None), 100.0)[at] == ""


def test_the_report_shows_ttfvt_only_when_it_differs_from_ttft() -> None:
    same = {"p50": 10.0, "p90": 12.0, "p99": 13.0, "max": 14.0, "count": 3}
    later = {**same, "p50": 40.0}
    assert not visible_differs(summary_of({"models": {"a": {TTFT: same, TTFVT: same}}}), ["a"])
    older = summary_of({"models": {"a": {TTFT: same}}})
    assert not visible_differs(older, ["a"])  # an older run
    assert visible_differs(
        summary_of({"models": {"a": {TTFT: same, TTFVT: same}, "b": {TTFT: same, TTFVT: later}}}),
        ["a", "b"],
    )
