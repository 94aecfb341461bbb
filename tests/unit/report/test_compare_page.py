"""compare's console verdict (from compare.json's rows) and compare.html's fluid layout."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import SyntheticRun

from loadprofile.cli import main
from loadprofile.commands.compare.figures import counts
from loadprofile.commands.compare.report import write_compare
from loadprofile.commands.compare.verdict_line import verdict_line

MakeRun = Callable[..., SyntheticRun]
MODELS = ("mock-small", "mock-large")


def _row(metric: str, base: float, cand: float, *, significant: bool = True) -> dict[str, Any]:
    worse = (cand > base) != (metric.endswith("_per_s"))
    return {
        "metric": metric,
        "baseline": base,
        "candidate": cand,
        "ratio": cand / base if base else None,
        "significant": significant,
        "direction": "worse" if worse else "better",
        "method": "intervals",
    }


def _data(pairs: list[tuple[str, str, list[dict[str, Any]]]], two_runs: bool) -> dict[str, Any]:
    entry = {"run_dir": "runs/a", "run_id": "A", "model": None, "models": []}
    return {
        "baseline": entry,
        "candidate": {**entry, "run_dir": "runs/b", "run_id": "B"} if two_runs else entry,
        "pairs": [
            {"baseline_model": a, "candidate_model": b, "metrics": rows} for a, b, rows in pairs
        ],
    }


def test_the_verdict_line_counts_and_names_the_largest_regressions() -> None:
    rows = [
        _row("ttft_ms.p99", 100.0, 131.0),
        _row("e2e_ms.p99", 200.0, 230.0),
        _row("itl_ms.p50", 10.0, 15.0),
        _row("tpot_ms.p50", 10.0, 10.5),
        _row("error_rate", 0.0, 0.02),  # from 0: no ratio, its values said instead
        _row("requests_per_s", 40.0, 44.0),  # better
        _row("e2e_ms.p50", 100.0, 140.0, significant=False),  # worse, within the noise
    ]
    data = _data([("base", "slow", rows)], two_runs=False)
    assert counts(data)["regressions"] == 5
    assert verdict_line(data, Path("out/compare.html")) == (
        "compare: slow vs base: 5 of 7 figures significantly worse (error_rate 0 % -> 2.00 %, "
        "itl_ms.p50 +50 %, ttft_ms.p99 +31 %, ...), 1 better; compare.html at out/compare.html"
    )


def test_the_verdict_line_names_runs_and_models_when_they_differ() -> None:
    one = _data([("base", "slow", [_row("ttft_ms.p99", 100.0, 131.0)])], two_runs=True)
    assert verdict_line(one, Path("c.html")).startswith(
        "compare: slow @ B vs base @ A: 1 of 1 figures significantly worse (ttft_ms.p99 +31 %)"
    )
    calm = [_row("ttft_ms.p99", 100.0, 100.5, significant=False)]
    several = _data([("a", "a", calm), ("b", "b", [_row("ttft_ms.p99", 100.0, 120.0)])], True)
    assert verdict_line(several, Path("c.html")) == (
        "compare: run B vs run A (2 pairs of models): 1 of 2 figures significantly worse "
        "(b: ttft_ms.p99 +20 %), 0 better; compare.html at c.html"
    )


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, Any]]:
    from report_fixtures import write_run

    base = tmp_path_factory.mktemp("compare")
    run = write_run(base / "run", requests=600, intervals=10)
    page, line = write_compare(run.run_dir, None, base / "out", models=MODELS, resamples=200)
    return page, line, json.loads((base / "out" / "compare.json").read_text(encoding="utf-8"))


def test_the_command_prints_the_verdict_from_compare_json(
    compared: tuple[Path, str, dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    page, line, data = compared
    assert line == verdict_line(data, page)
    tally = counts(data)
    assert line.startswith(
        f"compare: mock-large vs mock-small: {tally['regressions']} of {tally['compared']} "
        "figures significantly worse ("
    )
    assert line.endswith(f", {tally['improvements']} better; compare.html at {page}")
    run = json.loads((page.parent / "compare.json").read_text())["baseline"]["run_dir"]
    out = tmp_path / "again"
    argv = ["compare", run, "--models", ",".join(MODELS), "--resamples", "200", "--out", str(out)]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == line.replace(str(page), str(out / "compare.html"))


def test_compare_html_tables_scroll_in_their_own_box_never_clipped(
    compared: tuple[Path, str, dict[str, Any]],
) -> None:
    """At 1,300 px the four-wide latency tables no longer overflow a fixed 560-px grid column
    into (and past) the right-hand one: each table sits in a box that scrolls sideways, and
    the columns are as wide as a table or stack."""
    html = compared[0].read_text(encoding="utf-8")
    css = html[html.index("<style>") : html.index("</style>")]
    assert re.search(r"\.tscroll \{[^}]*overflow-x: auto", css)
    assert re.search(r"\.cmp-grid \{[^}]*minmax\(min\(100%, \d+px\), 1fr\)", css)
    assert re.search(r"\.grid2 \{[^}]*minmax\(min\(100%, 560px\), 1fr\)", css)  # the charts'
    assert re.search(r"\.cmp-grid > \*[^{]*\{[^}]*min-width: 0", css)
    assert not re.search(r"overflow(-x)?: (hidden|clip)", css)
    tables = re.findall(r'(<div class="[^"]*">)?\s*<table class="num[^"]*" id="([^"]+)"', html)
    assert len(tables) == 6  # four latency tables, rates, errors (no cost: not priced)
    assert all(box == '<div class="tscroll">' for box, _ in tables), tables
    assert '<div class="grid2"><div class="tscroll">' not in html  # tables left the 560-px grid
