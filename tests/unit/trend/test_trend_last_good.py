"""``gate --against trend:LAST_GOOD``: the newest run of the gated run's series with no
regression in force, found in the store, its folder gated against as ``--against DIR`` is;
which run was chosen and why is said; bad references and lost folders are one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadprofile.cli import main
from loadprofile.commands.gate.command import GateOptions, check_before_run
from loadprofile.commands.trend.analysis import SeriesTrend, analyse_series
from loadprofile.commands.trend.last_good import last_good, open_regressions
from loadprofile.config.slo import SloError, parse_slo
from tests.unit.trend.folders import run_folder
from tests.unit.trend.synthetic import MemoryStore, Step, nightly_runs


def _trend(*steps: Step, nights: int = 20) -> SeriesTrend:
    store = MemoryStore()
    for record in nightly_runs(nights, steps):
        store.add(record)
    return analyse_series(store, store.series()[0])


def test_the_run_before_an_open_regression_is_the_last_good_one() -> None:
    found = last_good(_trend(Step(11, "ttft_ms.p99", 1.3)))
    assert found is not None and found.run.run_id == "run-11"
    assert "trend:LAST_GOOD is run run-11 (2026-01-11T02:00:00Z, git=" in found.why
    assert "the 9 run(s) after it carry small ttft_ms.p99" in found.why
    assert "since run run-12" in found.why


def test_with_no_regression_the_newest_run_other_than_the_gated_one() -> None:
    trend = _trend()
    assert (found := last_good(trend)) is not None and found.run.run_id == "run-20"
    assert (found := last_good(trend, skip="run-20")) is not None
    assert found.run.run_id == "run-19" and "with no open regression" in found.why


def test_a_fixed_regression_is_closed() -> None:
    trend = _trend(Step(10, "e2e_ms.p99", 1.4, until=20), nights=30)
    assert [c.run.run_id for c in trend.metrics["small"]["e2e_ms.p99"].changes] == [
        "run-11",
        "run-21",
    ]
    assert (found := last_good(trend)) is not None and found.run.run_id == "run-30"


def test_a_regression_only_partly_undone_stays_open() -> None:
    trend = _trend(Step(8, "ttft_ms.p99", 1.4), Step(16, "ttft_ms.p99", 0.85), nights=26)
    metric = trend.metrics["small"]["ttft_ms.p99"]
    assert [c.index for c in metric.changes] == [8, 16]
    assert [c.index for c in open_regressions(metric, 25, 5.0)] == [8]  # still +19 %
    assert open_regressions(metric, 7, 5.0) == []
    assert (found := last_good(trend)) is not None and found.run.run_id == "run-08"


def test_no_run_left_is_none() -> None:
    trend = _trend(nights=1)
    assert last_good(trend, skip="run-01") is None


def test_run_checks_before_bounds_on_a_run_found_at_the_end() -> None:
    slo = parse_slo({"all": {"bounds": ["ttft_ms.p99 <= 1.2 * before.ttft_ms.p99"]}}, "slo")
    check_before_run(GateOptions(slo=slo, against_trend="LAST_GOOD"), ["a"], [], None)
    with pytest.raises(SloError, match="names the run given with --against"):
        check_before_run(GateOptions(slo=slo), ["a"], [], None)


# -- the gate, on run folders added to a real store ----------------------------------------


@pytest.fixture
def nights(tmp_path: Path) -> tuple[Path, str, Path]:
    """Twenty nights added to a store, mock-small's TTFT p99 50 ms, 65 ms from night 13;
    tonight's run (not added) at 65 ms, and an SLO holding it within 10 % of before."""
    runs, db = tmp_path / "runs", str(tmp_path / "trend.sqlite")
    for day in range(1, 22):
        folder = run_folder(
            runs,
            f"night-{day:02d}",
            started_at=f"2026-12-{day:02d}T02:00:00Z",
            ttft_p99=50.0 if day <= 12 else 65.0,
        )
        if day <= 20:
            assert main(["trend", "add", str(folder), "--db", db, "--label", f"git=sha{day}"]) == 0
    slo = tmp_path / "slo.toml"
    slo.write_text(
        "significance = 0\n[model.mock-small]\n"
        'bounds = ["ttft_ms.p99 <= 1.1 * before.ttft_ms.p99"]\n'
    )
    return runs, db, slo


def _gate(runs: Path, db: str, slo: Path, *more: str) -> int:
    tonight = str(runs / "night-21")
    return main(["gate", tonight, "--slo", str(slo), "--trend-db", db, *more])


def test_the_gate_holds_tonight_against_the_last_good_run(
    nights: tuple[Path, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    runs, db, slo = nights
    assert _gate(runs, db, slo, "--against", str(runs / "night-20")) == 0  # last night: as bad
    capsys.readouterr()
    assert _gate(runs, db, slo, "--against", "trend:LAST_GOOD") == 1
    out = capsys.readouterr().out
    assert "trend:LAST_GOOD is run night-12 (2026-12-12T02:00:00Z, git=sha12)" in out
    assert "the 8 run(s) after it carry mock-small ttft_ms.p99 50 -> 65 (+30.0 %" in out
    assert f"since run night-13 (2026-12-13T02:00:00Z, git=sha13); gating against {runs}" in out
    verdicts = json.loads((runs / "night-21" / "gate.json").read_text(encoding="utf-8"))
    assert verdicts["against"] == str(runs / "night-12")


@pytest.mark.parametrize(
    ("against", "edit", "message"),
    [
        ("trend:NOPE", None, "--against trend:NOPE: give a run folder or trend:LAST_GOOD"),
        ("trend:LAST_GOOD", "lose-folder", "its folder is gone"),
        ("trend:LAST_GOOD", "no-store", "no trend store there yet"),
    ],
)
def test_bad_references_are_one_line_and_exit_2(
    nights: tuple[Path, str, Path],
    capsys: pytest.CaptureFixture[str],
    against: str,
    edit: str | None,
    message: str,
) -> None:
    runs, db, slo = nights
    if edit == "lose-folder":
        (runs / "night-12").rename(runs.parent / "elsewhere")
    if edit == "no-store":
        db = str(runs.parent / "none.sqlite")
    assert _gate(runs, db, slo, "--against", against) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert message in err.strip().splitlines()[0]
