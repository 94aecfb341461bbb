"""Distributed runs: a real master and worker processes on loopback against the mock.

The merged run must agree with the server's own record and with every per-request row;
a worker killed mid-run must leave a complete, partial-marked run folder.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from loadprofile.core.arrivals import ArrivalSchedule, target_seed
from loadprofile.core.collector import new_histogram
from loadprofile.core.summary import histogram_summary
from loadprofile.launch.mock import MockProcess
from loadprofile.launch.workers import free_port

from .conftest import FIXED_PROFILE, get_json, run_cli

pytestmark = pytest.mark.integration

PACKAGE = Path(__file__).parents[2] / "loadprofile"


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "requests.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _load_requests(mock: MockProcess) -> list[dict[str, Any]]:
    """The server's own record of the load (the preflight's one-token probe excluded)."""
    return [r for r in get_json(mock.url + "/mock/requests") if r["max_tokens"] != 1]


def _from_rows(rows: list[dict[str, str]], column: str) -> dict[str, Any]:
    """One HdrHistogram of every successful row's value, as the collector records it."""
    hist = new_histogram()
    for row in rows:
        if not row["error_class"] and row[column]:
            hist.record_value(round(float(row[column]) * 1000))
    return histogram_summary(hist)


def test_two_worker_processes_merge_exactly(
    mock_factory: Callable[..., MockProcess], dataset: Path, tmp_path: Path
) -> None:
    mock = mock_factory(FIXED_PROFILE)
    out = tmp_path / "p2"
    prices = tmp_path / "prices.toml"
    prices.write_text("[prices.fixed]\ninput_per_1m = 3.0\noutput_per_1m = 15.0\n")
    done = run_cli(
        [
            "run",
            "--processes",
            "2",
            "--host",
            mock.url,
            "--model",
            "fixed",
            "--dataset",
            str(dataset),
            "-u",
            "6",
            "-r",
            "50",
            "--think-time",
            "0",
            "--config",
            str(prices),
            "--retries",
            "1",
            "-t",
            "5s",
            "--out",
            str(out),
            "--no-report",
        ],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    summary, run = _json(out / "summary.json"), _json(out / "run.json")
    model = summary["models"]["fixed"]
    workers = run["workers"]
    assert [w["status"] for w in workers] == ["complete", "complete"]
    assert all(w["requests"] > 10 for w in workers)
    assert summary["partial"] is False and summary["workers"]["count"] == 2
    rows = _rows(out)
    server = _load_requests(mock)
    assert model["requests"] == sum(w["requests"] for w in workers) == len(rows) == len(server)
    # The master's merge equals one histogram of every request, to HDR precision: exactly.
    for metric in ("ttft_ms", "e2e_ms", "tpot_ms"):
        assert model[metric] == _from_rows(rows, metric), metric
    # Each interval of the time series is the sum of both workers.
    series = list(csv.DictReader((out / "timeseries.csv").open(encoding="utf-8")))
    assert sum(int(r["requests"]) for r in series) == len(rows)
    assert max(int(r["users"]) for r in series) == 6
    # The workers split the dataset between them: their six users started on all four
    # conversations, as one process's would (not on the first three, twice over).
    firsts = [
        r["messages"][-1]["content"]
        for r in sorted(server, key=lambda r: r["received_ns"])
        if len(r["messages"]) <= 2
    ][:6]
    assert len(set(firsts)) == 4
    # Workers price their requests (prices and the retry policy travel with the run): the
    # master's cost is the sum of the rows, transactions counted once across workers.
    cost = summary["cost"]["fixed"]
    assert cost["total_usd"] == pytest.approx(sum(float(r["cost_usd"]) for r in rows), rel=1e-4)
    assert all(
        float(r["cost_usd"])
        == pytest.approx((int(r["prompt_tokens"]) * 3.0 + int(r["output_tokens"]) * 15.0) / 1e6)
        for r in rows
    )
    ends = [r["transaction"] for r in rows if r["transaction_end"] == "1"]
    assert len(ends) == len(set(ends)) == cost["transactions"] > 0
    assert summary["load"]["retries"] == 1 and model["retries"]["retried_requests"] == 0


def test_two_workers_share_one_arrival_schedule(
    mock_factory: Callable[..., MockProcess], dataset: Path, tmp_path: Path
) -> None:
    """Open loop on two processes: together they send the one-process schedule, on time."""
    mock = mock_factory(FIXED_PROFILE)
    out = tmp_path / "rate"
    done = run_cli(
        [
            "run",
            "--processes",
            "2",
            "--host",
            mock.url,
            "--model",
            "fixed",
            "--dataset",
            str(dataset),
            "--rate",
            "30",
            "--seed",
            "5",
            "-t",
            "4s",
            "--out",
            str(out),
            "--no-report",
        ],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    warmup_s = _json(out / "run.json")["arrivals_start_s"]
    schedule = ArrivalSchedule(30.0, "poisson", 1.0, target_seed(5, "fixed"), 0, 4.0 - warmup_s)
    due = np.array([t / 1e9 for t in iter(schedule.take, None)])
    received = np.array(sorted(r["received_ns"] / 1e9 for r in _load_requests(mock)))
    assert len(received) == len(due)
    # Both workers' arrivals interleave on the run's clock (their clocks are aligned).
    assert float(np.median(np.abs(np.diff(received) - np.diff(due)))) < 0.005
    summary = _json(out / "summary.json")
    assert summary["models"]["fixed"]["requests"] == len(due)
    assert summary["generator"]["arrivals_not_sent"] == 0


def _old_package(tmp_path: Path) -> Path:
    """A copy of loadprofile that says it is another version."""
    root = tmp_path / "old"
    shutil.copytree(PACKAGE, root / "loadprofile", ignore=shutil.ignore_patterns("__pycache__"))
    init = root / "loadprofile" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "', '__version__ = "0.0.0+old'))
    return root


def _worker(port: int, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.Popen(
        [sys.executable, "-m", "loadprofile", "run", "--worker", "--master-port", str(port)],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_a_killed_worker_leaves_a_partial_run_and_an_old_one_is_refused(
    mock_factory: Callable[..., MockProcess], dataset: Path, tmp_path: Path
) -> None:
    mock = mock_factory(FIXED_PROFILE)
    out, port = tmp_path / "lost", free_port()
    master = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "loadprofile",
            "run",
            "--master",
            "--expect-workers",
            "2",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            str(port),
            "--host",
            mock.url,
            "--model",
            "fixed",
            "--dataset",
            str(dataset),
            "-u",
            "4",
            "-r",
            "50",
            "--think-time",
            "0",
            "-t",
            "9s",
            "--out",
            str(out),
        ],
        cwd=tmp_path,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    old = _worker(port, _old_package(tmp_path))
    _, old_stderr = old.communicate(timeout=60)
    assert old.returncode == 2
    assert "runs loadprofile 0.0.0+old" in old_stderr
    keeper, victim = _worker(port, tmp_path), _worker(port, tmp_path)
    deadline = time.monotonic() + 40
    while not (out / "requests.csv").exists() or len(_rows(out)) < 10:
        assert time.monotonic() < deadline and master.poll() is None
        time.sleep(0.2)
    victim.send_signal(signal.SIGKILL)
    stdout, stderr = master.communicate(timeout=90)
    assert master.returncode == 0, stderr
    assert keeper.wait(timeout=30) == 0
    assert "lost" in stderr and "the run is partial" in stderr
    summary, run = _json(out / "summary.json"), _json(out / "run.json")
    assert summary["partial"] is True
    statuses = sorted(w["status"] for w in run["workers"])
    assert statuses == ["complete", "lost", "refused"]
    lost = next(w for w in run["workers"] if w["status"] == "lost")
    assert lost["partial"] is True and lost["requests"] > 0 and lost["lost_at_s"] > 0
    assert summary["workers"]["partial"] == [lost["id"]]
    # What the lost worker sent before it died is in the run, row for row.
    requests = summary["models"]["fixed"]["requests"]
    counted = sum(w["requests"] for w in run["workers"])
    assert requests == counted == len(_rows(out))
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Partial run" in report and f"pid {lost['pid']}" in report
    assert "report.html" in stdout


def test_plain_locust_processes_write_one_run_folder(
    mock_factory: Callable[..., MockProcess], dataset: Path, tmp_path: Path
) -> None:
    mock = mock_factory(FIXED_PROFILE)
    out = tmp_path / "locust-p2"
    locustfile = Path(__file__).parents[2] / "locustfiles" / "chat.py"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(locustfile),
            "--host",
            mock.url,
            "--headless",
            "--processes",
            "2",
            "-u",
            "4",
            "-r",
            "50",
            "-t",
            "4s",
            "--model",
            "fixed",
            "--dataset",
            str(dataset),
            "--think-time",
            "0",
            "--out",
            str(out),
            "--only-summary",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary, run = _json(out / "summary.json"), _json(out / "run.json")
    statuses = [w["status"] for w in run["workers"]]
    notes = [(w["status"], w.get("note"), w.get("requests")) for w in run["workers"]]
    assert statuses == ["complete", "complete"], f"{notes}\n{done.stderr[-2500:]}"
    assert summary["models"]["fixed"]["requests"] == len(_rows(out)) == len(_load_requests(mock))
    assert (out / "report.html").exists()
