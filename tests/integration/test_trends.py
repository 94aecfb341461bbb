"""Nightly memory end to end (issue 20): twenty short runs of one series against the mock,
its time to first token raised 30 % from run 12 on (a second mock, same model, slower
profile), each added with ``trend add``; ``trend report`` finds one change point, at run 12,
``trend check`` fails naming it, and ``gate --against trend:LAST_GOOD`` holds the latest run
against run 11 rather than last night's. A twenty-run series with no change has none.

Cheap on purpose: the runs go ten or so at a time (each mostly waits on its mock), the adds
run in this process; the rest are the real commands."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from loadprofile.cli import main
from loadprofile.commands.trend.store import open_store
from loadprofile.launch.mock import MockProcess
from tests.unit.trend.synthetic import nightly_runs

from .conftest import FIXED_PROFILE, run_cli, run_clis

pytestmark = pytest.mark.integration

# TTFT 250 ms, then 325 ms (+30 %): long enough that what a busy machine adds to every run
# (the mock picking requests up late while ten runs start at once) stays small beside it.
BASE = FIXED_PROFILE.replace("ttft_base_ms = 80.0", "ttft_base_ms = 250.0")
SLOWER = FIXED_PROFILE.replace("ttft_base_ms = 80.0", "ttft_base_ms = 325.0")
SERIES = "nightly"


def _run(mock: MockProcess, dataset: Path, out: Path) -> list[str]:
    return ["run", "--host", mock.url, "--model", "fixed", "--dataset", str(dataset),
            "-u", "4", "-r", "100", "-n", "16", "--think-time", "0", "--no-report",
            "--out", str(out)]  # fmt: skip


def test_twenty_nights_one_change_point_at_run_12(
    tmp_path: Path,
    dataset: Path,
    mock_factory: Callable[..., MockProcess],
    capsys: pytest.CaptureFixture[str],
) -> None:
    fast, slow = mock_factory(BASE), mock_factory(SLOWER)
    runs, db = tmp_path / "runs", str(tmp_path / "trend.sqlite")
    folders = [runs / f"night-{n:02d}" for n in range(1, 21)]
    for batch, mock in ((folders[:11], fast), (folders[11:], slow)):  # one batch, then later
        done = run_clis([_run(mock, dataset, out) for out in batch], cwd=tmp_path)
        assert all(r.returncode == 0 for r in done), [r.stderr[-500:] for r in done]
    for n, folder in enumerate(folders, start=1):
        assert main(["trend", "add", str(folder), "--db", db, "--series", SERIES,
                     "--label", f"git=sha{n:02d}"]) == 0  # fmt: skip
    with open_store(db) as store:
        for record in nightly_runs(20, noise=0.05, series="steady", name="steady"):
            store.add(record)  # a series with no change (seeded noise)
        stored = store.runs(SERIES)
    capsys.readouterr()
    assert len(stored) == 20
    twelfth = stored[11]  # the first run of the slower batch in the series' order
    assert twelfth.labels["git"] in {f"sha{n}" for n in range(12, 21)}

    report = run_cli(["trend", "report", "--db", db, "--out", str(tmp_path / "trend")], tmp_path)
    assert report.returncode == 0, report.stderr
    doc = json.loads((tmp_path / "trend" / "trend.json").read_text(encoding="utf-8"))
    ttft = doc["series"][SERIES]["models"]["fixed"]["metrics"]
    (p50_change,) = ttft["ttft_ms.p50"]["change_points"]
    assert (p50_change["index"], p50_change["run_id"]) == (11, twelfth.run_id)
    assert p50_change["change_pct"] == pytest.approx(30, abs=10) and p50_change["regression"]
    # p99 of 16 requests is their maximum: one request slowed by a busy machine moves it, so
    # its change point may land a run or two early, or not at all; never a second one
    assert [c["index"] for c in ttft["ttft_ms.p99"]["change_points"]] in ([], [9], [10], [11])
    steady = doc["series"]["steady"]["models"]
    assert all(not m["change_points"] for e in steady.values() for m in e["metrics"].values())
    html = (tmp_path / "trend" / "trend.html").read_text(encoding="utf-8")
    assert f"since run {twelfth.run_id}" in html and f"git={twelfth.labels['git']}" in html

    check = run_cli(["trend", "check", "--db", db, "--series", SERIES, "--recent", "9",
                     "--metrics", "ttft_ms.p50"], tmp_path)  # fmt: skip
    assert check.returncode == 1, check.stdout + check.stderr
    assert (
        f"since run {twelfth.run_id}" in check.stdout
        and "REGRESSION  fixed ttft_ms.p50" in check.stdout
    )

    slo = tmp_path / "slo.toml"
    slo.write_text(
        'significance = 0\n[all]\nbounds = ["ttft_ms.p50 <= 1.1 * before.ttft_ms.p50"]\n'
    )
    tonight = str(folders[-1])
    last_night, last_good = run_clis(
        [["gate", tonight, "--slo", str(slo), "--against", str(folders[-2])],
         ["gate", tonight, "--slo", str(slo), "--against", "trend:LAST_GOOD", "--trend-db", db]],
        cwd=tmp_path,
    )  # fmt: skip
    assert last_night.returncode == 0, last_night.stdout + last_night.stderr  # as slow
    assert last_good.returncode == 1, last_good.stdout + last_good.stderr
    # The newest run before the slowdown, unless a tail figure of these 16-request runs (a
    # p99 is their maximum) shows a chance regression earlier on a busy machine: then an
    # earlier fast run. Never a slow one, so the slower run fails against it either way.
    chosen = re.search(r"trend:LAST_GOOD is run (\S+) \([^)]*git=sha(\d+)\)", last_good.stdout)
    assert chosen is not None and 1 <= int(chosen.group(2)) <= 11, last_good.stdout
    by_id = {run.run_id: run for run in stored}
    assert f"gating against {by_id[chosen.group(1)].run_dir}\n" in last_good.stdout
    assert re.search(r"^FAIL +fixed +ttft_ms.p50 <= 1.1 \* before", last_good.stdout, re.M)
