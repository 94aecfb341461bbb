"""``trend check``: exit 1 on a regression change point among the last --recent runs (naming
the run that brought it and its labels), 0 otherwise; improvements reported, never failing;
JUnit and Markdown as ``gate`` writes them; bad input one line and exit 2."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from loadprofile.cli import main
from tests.unit.trend.synthetic import Step, nightly_runs, sqlite_store

STEP = [Step(11, "ttft_ms.p99", 1.3)]


@pytest.fixture
def db(tmp_path: Path) -> str:
    """Twenty nights, TTFT p99 of "small" up 30 % from night 12."""
    return sqlite_store(tmp_path / "trend.sqlite", nightly_runs(20, STEP))


def _check(db: str, *args: str) -> int:
    return main(["trend", "check", "--db", db, *args])


def test_a_regression_within_the_recent_runs_fails_naming_its_run(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _check(db, "--recent", "9") == 1
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.startswith("REGRESSION")]
    assert "small ttft_ms.p99" in line and "since run run-12 (2026-01-12T02:00:00Z, git=" in line
    assert "(+3" in line or "(+2" in line  # about +30 %
    assert "trend check FAILED: 1 regression(s) in the last 9 of 20 run(s)" in out


def test_a_regression_older_than_the_recent_runs_passes(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _check(db, "--recent", "8") == 0
    assert "trend check passed: no regression" in capsys.readouterr().out


def test_improvements_are_reported_and_never_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = sqlite_store(tmp_path / "t.sqlite", nightly_runs(20, [Step(14, "e2e_ms.p99", 0.7)]))
    assert _check(db, "--recent", "6") == 0
    out = capsys.readouterr().out
    assert "improved    small e2e_ms.p99" in out and "since run run-15" in out


def test_a_change_below_min_change_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = nightly_runs(30, [Step(25, "tpot_ms.p99", 1.04)], noise=0.002)
    db = sqlite_store(tmp_path / "t.sqlite", runs)
    assert _check(db, "--recent", "5") == 0
    assert _check(db, "--recent", "5", "--min-change", "2") == 1
    assert "small tpot_ms.p99" in capsys.readouterr().out


def test_only_the_metrics_given_are_checked(db: str) -> None:
    assert _check(db, "--recent", "9", "--metrics", "e2e_ms.p99,error_rate") == 0
    assert _check(db, "--recent", "9", "--metrics", "ttft_ms.p99") == 1


def test_junit_and_markdown_like_the_gates(db: str, tmp_path: Path) -> None:
    junit, md = tmp_path / "out" / "trend.xml", tmp_path / "trend.md"
    assert _check(db, "--recent", "9", "--junit", str(junit), "--markdown", str(md)) == 1
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "8" and suite.get("failures") == "1"  # 4 metrics x 2 models
    (failed,) = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed.get("name") == "small: ttft_ms.p99"
    failure = failed.find("failure")
    assert failure is not None and "run-12" in (failure.get("message") or "")
    text = md.read_text(encoding="utf-8")
    assert text.startswith("**loadprofile trend check: FAILED** (1 regression(s))")
    assert "| ❌ | small | `ttft_ms.p99` |" in text and "run-12" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metrics", "ttft_ms.p99,nope"], "--metrics: no model of the series checked has nope"),
        (["--recent", "2"], "--recent 2: a change point shows once 3 runs carry it"),
        (["--min-change", "-1"], "--min-change -1.0"),
        (["--series", "nope"], "--series nope: not in the store"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    db: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert _check(db, *args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert message in line


def test_a_missing_store_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _check(str(tmp_path / "none.sqlite")) == 2
    assert "no trend store there yet" in capsys.readouterr().err
