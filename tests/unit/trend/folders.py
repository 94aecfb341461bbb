"""Run folders for the trend tests, made from one real run's files
(tests/fixtures/contract: spike, --retries 1, prices, two mock models), edited per test."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).parents[2] / "fixtures" / "contract"
MODELS = ("mock-small", "mock-large")

Json = dict[str, Any]


def run_folder(
    base: Path,
    name: str,
    *,
    started_at: str = "2026-12-07T23:30:48Z",
    ttft_p99: float | None = None,
    partial: bool = False,
    run_edit: Callable[[Json], None] | None = None,
    summary_edit: Callable[[Json], None] | None = None,
) -> Path:
    """A copy of the real run named ``name`` (its run id), started at ``started_at``;
    ``ttft_p99`` sets mock-small's TTFT p99."""
    folder = base / name
    folder.mkdir(parents=True)
    run = json.loads((FIXTURE / "run.json").read_text(encoding="utf-8"))
    summary = json.loads((FIXTURE / "summary.json").read_text(encoding="utf-8"))
    for doc in (run, summary):
        doc["run_id"], doc["started_at"], doc["partial"] = name, started_at, partial
    if ttft_p99 is not None:
        summary["models"]["mock-small"]["ttft_ms"]["p99"] = ttft_p99
    if run_edit is not None:
        run_edit(run)
    if summary_edit is not None:
        summary_edit(summary)
    (folder / "run.json").write_text(json.dumps(run, indent=2), encoding="utf-8")
    (folder / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return folder


def nightly(base: Path, nights: int, *, first_day: int = 1) -> list[Path]:
    """``nights`` runs of the same series, one a night, TTFT p99 rising 10 ms a night."""
    return [
        run_folder(
            base,
            f"night-{day:02d}",
            started_at=f"2026-12-{day:02d}T02:00:00Z",
            ttft_p99=50.0 + 10 * (day - first_day),
        )
        for day in range(first_day, first_day + nights)
    ]
