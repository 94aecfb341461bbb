"""``trend report``: trend.json in the issue's shape (and decodable as the contract says),
trend.html self-contained with one panel per metric, change points marked and labelled with
their run and its labels, the latest run highlighted; bad input is one line and exit 2."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from loadprofile.cli import main
from loadprofile.contract.trend_report import (
    MetricEntry,
    ModelEntry,
    RunEntry,
    SeriesEntry,
    TrendReport,
    decode_trend_report,
)
from loadprofile.report.trend_page import PANELS, write_trend_page
from tests.unit.trend.synthetic import SERIES, Step, nightly_runs, sqlite_store

STEP = [Step(11, "ttft_ms.p99", 1.3), Step(11, "ttft_ms.p50", 1.3)]


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    return line


@pytest.fixture
def report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    db = sqlite_store(tmp_path / "trend.sqlite", nightly_runs(20, STEP))
    out = tmp_path / "out"
    assert main(["trend", "report", "--db", db, "--out", str(out)]) == 0
    line = capsys.readouterr().out
    assert "1 series, 20 run(s)" in line and "(2 regression(s))" in line
    return out


def test_trend_json_has_the_issues_shape(report: Path) -> None:
    doc = json.loads((report / "trend.json").read_text(encoding="utf-8"))
    assert doc["schema"] == 1
    metrics = doc["series"][SERIES]["models"]["small"]["metrics"]
    ttft = metrics["ttft_ms.p99"]
    assert len(ttft["values"]) == 20
    run_id, when, value = ttft["values"][11]
    assert (run_id, when) == ("run-12", "2026-01-12T02:00:00Z") and value > 140
    (cp,) = ttft["change_points"]
    assert {"run_id", "index", "before", "after", "change_pct", "p_value"} <= set(cp)
    assert (cp["run_id"], cp["index"]) == ("run-12", 11)
    assert cp["change_pct"] == pytest.approx(30, abs=4) and cp["p_value"] <= 0.001
    assert cp["regression"] and cp["direction"] == "worse" and cp["labels"]["git"]
    assert ttft["better"] == "lower"
    large = doc["series"][SERIES]["models"]["large"]["metrics"]
    assert all(not m["change_points"] for m in large.values())
    assert [r["run_id"] for r in doc["series"][SERIES]["runs"]][-1] == "run-20"
    decoded = decode_trend_report((report / "trend.json").read_bytes())
    assert decoded.series[SERIES].models["small"].metrics["error_rate"].better == "lower"


def test_trend_html_is_self_contained_with_a_panel_per_metric(report: Path) -> None:
    html = (report / "trend.html").read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "<img" not in html and "<link" not in html
    for metric, title in PANELS[:8]:
        assert f'id="{SERIES}-{metric.replace(".", "-")}"' in html, metric
        assert title in html
    assert "cost-per_transaction-mean" not in html  # no prices in this series: no panel
    assert html.count("<svg") == 8


def test_change_points_are_marked_with_their_run_and_labels(report: Path) -> None:
    html = (report / "trend.html").read_text(encoding="utf-8")
    doc = json.loads((report / "trend.json").read_text(encoding="utf-8"))
    sha = doc["series"][SERIES]["runs"][11]["labels"]["git"]
    panel = html[html.index(f'id="{SERIES}-ttft_ms-p99"') :]
    panel = panel[: panel.index("</figure>")]
    assert '<g class="cp"><title>1. small:' in panel
    assert "since run run-12" in panel and f"git={sha}" in panel
    assert re.search(r'<tr class="regression">.*run-12.*git=' + sha, panel, re.S)
    assert "regression change point(s)" in html


def test_the_latest_run_is_highlighted(report: Path) -> None:
    html = (report / "trend.html").read_text(encoding="utf-8")
    assert html.count("<title>latest run run-20 (2026-01-20T02:00:00Z, git=") == 8
    assert 'stroke="#000" stroke-width="1"><title>small:' in html  # each line's last point


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--db", "{tmp}/none.sqlite"], "no trend store there yet"),
        (["--db", "{db}", "--series", "nope"], "--series nope: not in the store"),
        (["--db", "{empty}"], "holds no runs"),
        (["--db", "{db}", "--out", "{file}"], "is a file"),
        (["--db", "mysql://x/y"], "not a store loadprofile knows"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    names = {
        "tmp": str(tmp_path),
        "db": sqlite_store(tmp_path / "trend.sqlite", nightly_runs(3)),
        "empty": sqlite_store(tmp_path / "empty.sqlite", []),
        "file": str(tmp_path / "a-file"),
    }
    (tmp_path / "a-file").write_text("x")
    argv = [a.format(**names) for a in args]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    assert main(["trend", "report", *argv]) == 2
    assert message in _one_line_error(capsys)


def test_the_page_of_1000_runs_of_4_models_builds_in_a_second(tmp_path: Path) -> None:
    runs = [
        RunEntry(run_id=f"r{i}", time=f"20{24 + i // 336}-01-01T00:00:00Z") for i in range(1000)
    ]
    metric = MetricEntry(values=[(r.run_id, r.time, 100.0 + i % 7) for i, r in enumerate(runs)])
    models = {f"m{j}": ModelEntry(metrics={m: metric for m, _ in PANELS}) for j in range(4)}
    doc = TrendReport(series={SERIES: SeriesEntry(models=models, runs=runs)})
    started = time.perf_counter()
    page = write_trend_page(doc, tmp_path)
    assert time.perf_counter() - started < 3.0  # about 0.15 s here
    assert page.stat().st_size < 2_000_000


def test_metrics_picks_the_figures_searched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = sqlite_store(tmp_path / "trend.sqlite", nightly_runs(12))

    def searched(*more: str) -> set[str]:
        out = tmp_path / "out"
        assert main(["trend", "report", "--db", db, "--out", str(out), *more]) == 0
        doc = json.loads((out / "trend.json").read_text(encoding="utf-8"))
        return set(doc["series"][SERIES]["models"]["small"]["metrics"])

    assert "requests" not in searched()  # a count: only with all
    assert "requests" in searched("--metrics", "all")
    assert searched("--metrics", "ttft_ms.*,error_rate") == {
        "ttft_ms.p50",
        "ttft_ms.p99",
        "error_rate",
    }
    capsys.readouterr()
    assert main(["trend", "report", "--db", db, "--out", str(tmp_path / "o"), "--metrics",
                 "ttft_ms.p99,nope.*"]) == 2  # fmt: skip
    assert "--metrics: no model of the series has nope.*" in _one_line_error(capsys)
