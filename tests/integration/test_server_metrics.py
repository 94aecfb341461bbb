"""`--server-metrics`: a run scrapes the server's /metrics each second into its run folder
(a run against the embedded mock scrapes the mock's without being told)."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from loadprofile.client.server_metrics import read_series, scrape_times

from .conftest import run_cli

pytestmark = pytest.mark.integration


def test_a_run_scrapes_the_servers_metrics_and_reports_them(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = run_cli(
        [
            "run",
            "--model",
            "mock-fixed",
            "--dataset",
            str(dataset),
            "-u",
            "6",
            "-r",
            "50",
            "-t",
            "4s",
            "--think-time",
            "0",
            "--out",
            str(out),
        ],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    (url,) = run["server_metrics"]  # the embedded mock's, added by the run itself
    assert url.startswith("http://127.0.0.1:") and url.endswith("/metrics")
    stats = run["server_metrics_scrapes"][url]
    assert stats["failed"] == 0 and stats["last_error"] is None
    series = read_series(out / "server_metrics.csv")
    times = scrape_times(series)[url]
    assert stats["ok"] == len(times)
    # Once a second from the start through the 4 s of load and the drain after it.
    assert 4 <= len(times) <= 8, times
    assert times[0] < 0.5 and all(0.8 < b - a < 1.2 for a, b in pairwise(times))
    running = series[(url, "vllm:num_requests_running", '{"model_name":"mock-fixed"}')]
    assert max(running.v) >= 1  # six users with no think time keep it busy
    generated = series[(url, "vllm:generation_tokens_total", '{"model_name":"mock-fixed"}')]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert generated.v[-1] >= 20 * (summary["models"]["mock-fixed"]["requests"] - 6)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="server-metrics"' in html and 'id="server-running"' in html
