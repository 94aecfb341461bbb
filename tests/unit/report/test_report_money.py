"""Money is dollars, never scientific notation: the formatter, and the pages that use it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from report_fixtures import SyntheticRun

from loadprofile.report import build_report
from loadprofile.report.money import (
    fmt_bound_figure,
    fmt_usd,
    fmt_usd_per_1k,
    is_cost_bound,
    usd_formatter,
)
from loadprofile.rundir import writer as rundir

MakeRun = Callable[..., SyntheticRun]
SCIENTIFIC = re.compile(r"\d[eE][-+]?\d")


@pytest.mark.parametrize(
    ("value", "text", "per_1k"),
    [
        (5.4e-05, "$0.000054", "$0.054 / 1k"),
        (0.0123, "$0.0123", "$0.0123"),
        (12.5, "$12.5", "$12.5"),
        (0, "$0", "$0"),
        (None, "–", "–"),
        (0.0001234, "$0.0001234", "$0.0001234"),  # not tiny: as it is
        (1.23456, "$1.235", "$1.235"),
        (1234.5, "$1,234", "$1,234"),
        (999.96, "$1,000", "$1,000"),
        (-5.315e-06, "-$0.000005315", "-$0.005315 / 1k"),
        (1e-09, "$0.000000001", "$0.000001 / 1k"),
        (float("nan"), "–", "–"),
        (True, "–", "–"),
    ],
)
def test_money_is_dollars_never_scientific(value: object, text: str, per_1k: str) -> None:
    assert fmt_usd(value) == text
    assert fmt_usd(value, per_1k_when_tiny=True) == per_1k
    assert not SCIENTIFIC.search(fmt_usd(value) + fmt_usd(value, per_1k_when_tiny=True))


def test_costs_side_by_side_share_one_unit() -> None:
    """A row never sets $0.00026 beside $0.098 / 1k: one tiny value puts the row per 1,000."""
    fmt = usd_formatter([0.00026, 9.8e-05, None])
    assert [fmt(v) for v in (0.00026, 9.8e-05, None)] == ["$0.26 / 1k", "$0.098 / 1k", "–"]
    assert usd_formatter([0.00026, 0.0123]) is fmt_usd
    assert usd_formatter([0, None]) is fmt_usd
    assert fmt_usd_per_1k(0) == "$0"


@pytest.mark.parametrize(
    ("bound", "cost"),
    [
        ("cost.per_transaction.mean <= 0.001", True),
        ("cost.per_request.p95<=10 * baseline.cost.per_request.p95", True),
        ("current.cost.per_1k_successful_transactions < 5", True),
        ("ttft_ms.p99 <= 1.2 * baseline.ttft_ms.p99", False),
        ("error_rate <= baseline.error_rate + 0.01", False),
        ("not a bound at all", False),
    ],
)
def test_gate_figures_of_cost_bounds_are_dollars(bound: str, cost: bool) -> None:
    assert is_cost_bound(bound) is cost
    assert fmt_bound_figure(5.4e-05, bound) == ("$0.000054" if cost else "5.4e-05")
    assert fmt_bound_figure(None, bound) == "–" and fmt_bound_figure(None, bound, "-") == "-"


def _priced(make_run: MakeRun) -> SyntheticRun:
    """A synthetic run whose models cost a few thousandths of a cent per request."""
    run = make_run(requests=120, intervals=4)
    path = run.run_dir / rundir.SUMMARY
    summary = json.loads(path.read_text(encoding="utf-8"))
    tiny = {"mean": 5.4e-05, "p50": 5.1e-05, "p95": 8.8e-05, "p99": 9.9e-05, "count": 60}
    summary["cost"] = {
        model: {
            "transaction_unit": "conversation",
            "total_usd": 0.00324 * (i + 1),
            "requests": 60,
            "attempts": 60,
            "per_request": tiny,
            "per_transaction": {**tiny, "mean": 5.4e-05 * (i + 1)},
            "transactions": 60,
            "successful_transactions": 58,
            "per_1k_successful_transactions": 0.0559 * (i + 1),
        }
        for i, model in enumerate(run.models)
    }
    path.write_text(json.dumps(summary), encoding="utf-8")
    return run


def _cells(page: str, table: str) -> list[str]:
    match = re.search(rf'<table class="num" id="table-{table}">(.*?)</table>', page, re.S)
    assert match, f"table {table} missing"
    return re.findall(r"<td[^>]*>(.*?)</td>", match.group(1))


@pytest.mark.usefixtures("fast_figures")
def test_the_answer_table_shows_tiny_costs_per_1000(make_run: MakeRun) -> None:
    page = build_report(_priced(make_run).run_dir).read_text(encoding="utf-8")
    match = re.search(r"<tr[^>]*><th>cost per conversation, mean</th>(.*?)</tr>", page, re.S)
    assert match
    assert re.findall(r"<td[^>]*>(.*?)</td>", match.group(1)) == ["$0.054 / 1k", "$0.108 / 1k"]
    assert not [c for c in _cells(page, "answer") if SCIENTIFIC.search(c)]


@pytest.mark.usefixtures("fast_figures")
def test_a_priced_report_has_no_scientific_notation_in_its_cost_cells(
    make_run: MakeRun,
) -> None:
    page = build_report(_priced(make_run).run_dir).read_text(encoding="utf-8")
    cells = _cells(page, "cost") + _cells(page, "answer")
    assert "$0.000054" in cells or "$0.054 / 1k" in cells
    assert not [c for c in cells if SCIENTIFIC.search(c)]
