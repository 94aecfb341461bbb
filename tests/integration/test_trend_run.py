"""`loadprofile run --trend-db` end to end: one short run against the mock records itself in
the store with its labels; `trend add` of the same folder afterwards changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from loadprofile.commands.trend.store import open_store
from loadprofile.launch.mock import MockProcess

from .conftest import run_cli

pytestmark = pytest.mark.integration


def test_a_run_adds_itself_to_the_store_once(
    tmp_path: Path, dataset: Path, mock_factory: Callable[..., MockProcess]
) -> None:
    mock = mock_factory()
    out, db = tmp_path / "night-1", tmp_path / "stores" / "trend.sqlite"
    run = run_cli(
        ["run", "--host", mock.url, "--model", "fixed", "--dataset", str(dataset),
         "-u", "2", "-n", "6", "-t", "3s", "--think-time", "0", "--no-report",
         "--out", str(out), "--trend-db", str(db), "--trend-label", "git=abc"],
        cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    added = [line for line in run.stdout.splitlines() if line.startswith("trend: ")]
    assert len(added) == 1 and added[0].startswith("trend: added ") and str(db) in added[0]

    again = run_cli(["trend", "add", str(out), "--db", str(db)], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.endswith("(nothing changed)\n")

    with open_store(str(db)) as store:
        (series,) = store.series()
        (stored,) = store.runs(series.key)
        record = store.run(stored.run_id)
    assert series.runs == 1 and not stored.partial
    assert stored.labels == {"git": "abc"} and stored.models == ("fixed",)
    assert added[0] == (
        f"trend: added {stored.run_id} to series {series.key} ({series.description}) in {db}"
    )
    assert record is not None
    figures = record.figures["fixed"]
    assert figures["requests"] >= 6 and figures["error_rate"] == 0.0
    # the mock's fixed model: 80 ms to the first token, 15 ms between tokens
    assert 75.0 <= figures["ttft_ms.p50"] <= 300.0 and figures["itl_ms.p50"] >= 10.0
    assert {"ttft_ms.p99", "e2e_ms.p99", "tpot_ms.p99", "output_tokens_per_s"} <= set(figures)
