"""A failing or malformed endpoint is measured and classified, never a crash; an
interrupted run leaves a readable, partial run folder."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from loadprofile.launch.mock import MockProcess

from .conftest import FIXED_PROFILE, Launcher, get_json

pytestmark = pytest.mark.integration

FAULTY_PROFILES = """
[models.flaky]
ttft_base_ms = 10.0
itl_ms = 4.0
output_tokens_min = 8
output_tokens_max = 8
error_429 = 0.15
error_500 = 0.15
truncate = 0.15
malformed = 0.15

[models.stuck]
ttft_base_ms = 5000.0
itl_ms = 10.0
output_tokens_min = 5
output_tokens_max = 5
"""


SLOW_PROFILE = (
    FIXED_PROFILE
    + """
[models.slow]
ttft_base_ms = 4000.0
itl_ms = 10.0
output_tokens_min = 5
output_tokens_max = 5
"""
)


#: Replies of 5 s (256 tokens, the default --max-tokens, 20 ms apart): a 2 s run with a 1 s
#: stop timeout cuts them off.
LONG_PROFILE = """
[models.long]
ttft_base_ms = 30.0
itl_ms = 20.0
output_tokens_min = 256
output_tokens_max = 256
"""


BROKEN_PROFILE = """
[models.broken]
ttft_base_ms = 5.0
itl_ms = 2.0
output_tokens_min = 4
output_tokens_max = 4
error_500 = 1.0
"""


#: Servers that close connections: after every reply while announcing keep-alive (llama.cpp),
#: and idle ones after a keep-alive timeout they do not announce (the mock's is 0.3 s).
CLOSING_PROFILES = """
[models.dropper]
ttft_base_ms = 10.0
itl_ms = 2.0
output_tokens_min = 8
output_tokens_max = 8
drop_after_stream = true

[models.idler]
base = "dropper"
drop_after_stream = false
"""


@pytest.fixture(scope="module")
def launched(launcher: Launcher) -> Launcher:
    """The two longer runs start together (and beside the interrupted ones)."""
    launcher.launch(
        "faults",
        FAULTY_PROFILES,
        [
            "run",
            "--model",
            "flaky=3",
            "--model",
            "stuck=1",
            "-u",
            "4",
            "-r",
            "20",
            "-t",
            "4s",
            "--think-time",
            "0",
            "--timeout",
            "700ms",
            "--stop-timeout",
            "2s",
        ],
    )
    launcher.launch(
        "backing-off",
        BROKEN_PROFILE,
        [
            "run",
            "--processes",
            "1",
            "--model",
            "broken",
            "-u",
            "3",
            "-r",
            "20",
            "-t",
            "2s",
            "--think-time",
            "0",
            "--retries",
            "3",
            "--retry-backoff",
            "3s:3s",
            "--no-report",
        ],
    )
    launcher.launch(
        "closing",
        CLOSING_PROFILES,
        [
            "run",
            "--model",
            "dropper",
            "--model",
            "idler",
            "-u",
            "6",
            "-r",
            "50",
            "-t",
            "3s",
            "--think-time",
            "0.4-0.6",
            "--no-report",
        ],
        mock_args=("--keepalive-timeout", "0.3"),
    )
    launcher.launch(
        "still-running",
        SLOW_PROFILE,
        [
            "run",
            "--model",
            "slow",
            "--model",
            "fixed",
            "--model",
            "mock-fixed",
            "-u",
            "2",
            "-r",
            "20",
            "-t",
            "2s",
            "--think-time",
            "0",
            "--stop-timeout",
            "1s",
            "--timeout",
            "60s",
        ],
    )
    launcher.launch(
        "streams-past-the-stop",
        LONG_PROFILE,
        [
            "run",
            "--model",
            "long",
            "-u",
            "3",
            "-r",
            "50",
            "-t",
            "2s",
            "--think-time",
            "0",
            "--stop-timeout",
            "1s",
            "--timeout",
            "60s",
            "--no-report",
        ],
    )
    return launcher


def _wait_for_rows(path: Path, rows: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().splitlines()) > rows:
            return
        time.sleep(0.1)
    raise AssertionError(f"{path} did not get {rows} rows in {timeout}s")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_interrupted_run_leaves_a_partial_run_folder(
    mock_factory: Callable[..., MockProcess],
    dataset: Path,
    tmp_path: Path,
    signum: int,
    code: int,
    launched: Launcher,
) -> None:
    mock = mock_factory(FIXED_PROFILE)
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "loadprofile",
            "run",
            "--host",
            mock.url,
            "--model",
            "fixed",
            "--dataset",
            str(dataset),
            "-u",
            "3",
            "-r",
            "20",
            "-t",
            "60s",
            "--think-time",
            "0",
            "--out",
            str(out),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        _wait_for_rows(out / "requests.csv", 5, timeout=30)
        started = time.monotonic()
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert time.monotonic() - started < 15
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    summary = json.loads((out / "summary.json").read_text())
    run = json.loads((out / "run.json").read_text())
    assert summary["partial"] is True and run["partial"] is True
    assert run["interrupted_by"] == signal.Signals(signum).name
    rows = (out / "requests.csv").read_text().splitlines()[1:]
    assert summary["models"]["fixed"]["requests"] == len(rows) >= 5
    assert (out / "report.html").exists()
    assert stdout.strip().splitlines()[-1].startswith("report: ")


def test_injected_faults_are_classified_at_their_rates(launched: Launcher) -> None:
    run = launched.runs["faults"]
    done, out = run.done(), run.out
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    models = json.loads((out / "summary.json").read_text())["models"]
    flaky = models["flaky"]
    assert flaky["requests"] >= 100
    for error_class in ("http_429", "http_5xx", "stream_incomplete", "stream_malformed"):
        rate = flaky["errors"].get(error_class, 0) / flaky["requests"]
        assert 0.07 <= rate <= 0.25, (error_class, rate, flaky["errors"])
    assert flaky["failures"] == sum(flaky["errors"].values())
    # TTFT counts every request whose first token arrived: truncated and malformed streams
    # too (their first token was felt), not the HTTP errors.
    rows = list(csv.DictReader((out / "requests.csv").open(encoding="utf-8")))
    felt = [r for r in rows if r["model"] == "flaky" and r["ttft_ms"]]
    assert flaky["ttft_ms"]["count"] == len(felt) > flaky["requests"] - flaky["failures"]
    assert not [r for r in felt if r["error_class"] in ("http_429", "http_5xx")]
    stuck = models["stuck"]
    assert stuck["requests"] >= 2 and stuck["errors"] == {"timeout": stuck["requests"]}
    assert stuck["ttft_ms"]["count"] == 0
    html = (out / "report.html").read_text()
    assert "stream_malformed" in html and "timeout" in html


def test_requests_still_running_at_the_stop_are_recorded_not_lost(launched: Launcher) -> None:
    """Two users on a 4 s-TTFT model, 2 s run, 1 s stop timeout: both requests in flight
    become timeouts in every output; a third model that got no user still has its entry."""
    done, out = launched.runs["still-running"].done(), launched.runs["still-running"].out
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    run = json.loads((out / "run.json").read_text())
    slow = summary["models"]["slow"]
    assert slow["requests"] == 1 and slow["errors"] == {"timeout": 1}
    assert run["unfinished_at_stop"] == 1
    assert summary["models"]["mock-fixed"]["requests"] == 0  # -u 2 for 3 models
    assert summary["duration_s"] == pytest.approx(2.0, abs=0.5)  # the load window, not the drain
    assert run["duration_s"] > summary["duration_s"]
    rows = (out / "requests.csv").read_text().splitlines()[1:]
    assert sum(",slow," in r and ",timeout," in r for r in rows) == 1


def test_a_request_cut_off_at_the_stop_keeps_what_arrived(launched: Launcher) -> None:
    """Three users stream 5 s replies; the 2 s run and its 1 s stop timeout cut all three
    off mid-stream. Each is a timeout that keeps its TTFT, chunks, tokens received
    (estimated: no usage came) and gaps; the TTFT histogram counts them. The rates divide
    by the window that produced the counts, drain included: rate x window = count."""
    run = launched.runs["streams-past-the-stop"]
    done = run.done()
    assert done.returncode == 0, done.stderr
    summary = json.loads((run.out / "summary.json").read_text())
    rows = list(csv.DictReader((run.out / "requests.csv").open(encoding="utf-8")))
    cut = [r for r in rows if r["error_class"] == "timeout"]
    assert len(cut) == 3 == len(rows)
    for row in cut:
        assert "run stopped" in row["error"] or "cut off" in row["error"]
        assert int(row["chunks"]) > 50  # ~2.9 s of a stream, 20 ms a token
        assert 25.0 <= float(row["ttft_ms"]) < 1000.0
        assert int(row["output_tokens"]) > 50 and row["tokens_estimated"] == "1"
    assert not [r for r in rows if int(r["chunks"]) and not r["ttft_ms"]]
    long = summary["models"]["long"]
    assert long["ttft_ms"]["count"] == 3
    assert long["itl_ms"]["count"] >= sum(int(r["output_tokens"]) - 1 for r in cut)
    assert long["e2e_ms"]["count"] == 0 and long["output_tokens"] == 0
    assert long["failed_output_tokens"] == sum(int(r["output_tokens"]) for r in cut)
    first = min(float(r["start_unix"]) for r in rows)
    last = max(float(r["start_unix"]) + float(r["e2e_service_ms"]) / 1e3 for r in rows)
    assert long["window_s"] == pytest.approx(last - first, abs=0.01)
    assert long["window_s"] > summary["duration_s"] + 0.5  # the drain is in the window
    assert long["requests_per_s"] * long["window_s"] == pytest.approx(3, abs=0.01)


def test_requests_backing_off_at_the_stop_are_recorded_on_a_worker(launched: Launcher) -> None:
    """Every attempt fails and waits 3 s before its retry; the 2 s run stops while every user
    backs off. The wait is cut short and each request is recorded, with its attempts, by the
    worker before its final report: none is lost between attempts."""
    run = launched.runs["backing-off"]
    done = run.done()
    assert done.returncode == 0, done.stderr
    summary = json.loads((run.out / "summary.json").read_text())
    rows = list(csv.DictReader((run.out / "requests.csv").open(encoding="utf-8")))
    broken = summary["models"]["broken"]
    served = [r for r in get_json(run.mock.url + "/mock/requests") if r["max_tokens"] != 1]
    assert broken["requests"] == len(rows) >= 3
    assert broken["errors"] == {"http_5xx": len(rows)}
    assert sum(int(r["attempts"]) for r in rows) == len(served)
    assert broken["retries"]["retry_attempts"] == len(served) - len(rows)
    assert summary["duration_s"] < 3.0  # the stop did not wait out a 3 s backoff


def test_servers_closing_connections_cost_no_request(launched: Launcher) -> None:
    """Every request the server closed the pooled connection of went out again on a new one:
    none failed, none was lost (the server saw each once), and the counts show it."""
    run = launched.runs["closing"]
    done = run.done()
    assert done.returncode == 0, done.stderr
    summary = json.loads((run.out / "summary.json").read_text())
    records = get_json(run.mock.url + "/mock/requests")
    for model in ("dropper", "idler"):
        entry = summary["models"][model]
        assert entry["failures"] == 0 and entry["requests"] >= 10, entry
        served = [r for r in records if r["model"] == model and r["max_tokens"] != 1]
        assert len(served) == entry["requests"]  # nothing re-sent twice, nothing dropped
        connections = entry["connections"]
        assert connections.get("reused", 0) == 0  # each pooled one was closed before reuse
        assert connections["stale"] >= entry["requests"] - 3 * 2, connections
