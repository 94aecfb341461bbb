"""Bursts, steps and open-loop arrivals against the mock, as real processes on loopback.

Each run is a few seconds long; timings are checked against the mock's known profile with
tolerances meant for a shared 2-core machine.
"""

from __future__ import annotations

import csv
import json
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from loadprofile.core.arrivals import ArrivalSchedule, target_seed
from loadprofile.launch.mock import MockProcess
from loadprofile.rundir.reader import rebuild_summary
from tests.models import plain

from .conftest import FIXED_PROFILE, Launcher, get_json, run_cli

pytestmark = pytest.mark.integration

# Four slots, then a queue: the limit a burst runs into. e2e = 60 + 9 x 10 = 150 ms.
LIMITED_PROFILE = """
[models.limited]
ttft_base_ms = 60.0
itl_ms = 10.0
output_tokens_min = 10
output_tokens_max = 10
max_concurrency = 4
"""
FIXED_TTFT_MS = 80.0


def _summary(out: Path) -> dict[str, Any]:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "requests.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _phase(summary: dict[str, Any], name: str, model: str) -> dict[str, Any]:
    phase = next(p for p in summary["phases"] if p["name"] == name)
    figures: dict[str, Any] = phase["models"][model]
    return figures


def _freezer(into: dict[str, Any]) -> Callable[[MockProcess], None]:
    return lambda mock: _freeze_after_first_request(mock, 1.5, 2.0, into)


@pytest.fixture(scope="module")
def launched(launcher: Launcher) -> dict[str, Any]:
    """The module's independent runs, started together (timing-critical gamma runs alone)."""
    common = ["--model", "fixed", "-t", "6s", "--no-report"]
    freeze: dict[str, Any] = {}
    launcher.launch("spike", LIMITED_PROFILE, SPIKE_ARGS)
    launcher.launch(
        "freeze-open",
        FIXED_PROFILE,
        ["run", *common, "--rate", "20", "--arrival", "constant"],
        after=_freezer(freeze),
    )
    launcher.launch(
        "freeze-closed",
        FIXED_PROFILE,
        ["run", *common, "-u", "2", "--think-time", "0"],
        after=_freezer({}),
    )
    launcher.launch("step", LIMITED_PROFILE, STEP_ARGS)
    launcher.launch("locust-spike", LIMITED_PROFILE, LOCUST_SPIKE_ARGS, locustfile="shaped.py")
    launcher.launch("starved", FIXED_PROFILE, STARVED_ARGS)
    return {**launcher.runs, "freeze": freeze}


SPIKE_ARGS = [
    "run",
    "--model",
    "limited",
    "--shape",
    "spike",
    "--base-users",
    "2",
    "--spike-users",
    "16",
    "--spike-at",
    "3s",
    "--spike-for",
    "3s",
    "-t",
    "12s",
    "--think-time",
    "0",
    "--no-report",
]
STEP_ARGS = [
    "run",
    "--model",
    "limited",
    "--shape",
    "step",
    "--steps",
    "1,2,4",
    "--base-users",
    "2",
    "--step-time",
    "3s",
    "--think-time",
    "0",
    "--slo-ttft-p99-ms",
    "120",
    "--no-report",
]
LOCUST_SPIKE_ARGS = [
    "--headless",
    "--shape",
    "spike",
    "--base-users",
    "2",
    "--spike-users",
    "12",
    "--spike-at",
    "2s",
    "--spike-for",
    "2s",
    "--model",
    "limited",
    "--think-time",
    "0",
    "--only-summary",
]
STARVED_ARGS = [
    "run",
    "--model",
    "fixed",
    "--rate",
    "20",
    "--arrival",
    "constant",
    "-u",
    "2",
    "-t",
    "3s",
    "--no-report",
]


def test_spike_raises_ttft_in_the_burst_and_recovers(launched: dict[str, Any]) -> None:
    run = launched["spike"]
    done, out, mock = run.done(), run.out, run.mock
    assert done.returncode == 0, done.stderr
    summary = _summary(out)
    assert [p["name"] for p in summary["phases"]] == ["before", "burst", "after"]
    before, burst = _phase(summary, "before", "limited"), _phase(summary, "burst", "limited")
    after = _phase(summary, "after", "limited")
    assert (before["users"], burst["users"]) == (2, 16)
    # Two users fit the four slots: TTFT is the profile's; sixteen queue for them.
    assert before["ttft_ms"]["p99"] < FIXED_TTFT_MS + 40
    assert burst["ttft_ms"]["p99"] > 3 * before["ttft_ms"]["p99"]
    recovery = summary["recovery_s"]["limited"]
    assert recovery is not None and 0 <= recovery < 5, summary["recovery_s"]
    # Users stopped by the ramp-down finished their request: the server's count is ours
    # (plus the one preflight probe sent before the load).
    stats = get_json(mock.url + "/mock/stats")["limited"]
    assert summary["models"]["limited"]["requests"] == stats["received"] - 1 == len(_rows(out))
    assert summary["models"]["limited"]["failures"] == 0
    assert after["requests"] > 0
    # A run killed before its summary gets the same phases back from the files alone.
    rebuilt = plain(rebuild_summary(out))
    for live, again in zip(summary["phases"], rebuilt["phases"], strict=True):
        live_m, again_m = live["models"]["limited"], again["models"]["limited"]
        assert (again_m["requests"], again_m["users"]) == (live_m["requests"], live_m["users"])
        assert again_m["ttft_ms"] == live_m["ttft_ms"]
    assert rebuilt["recovery_s"] == summary["recovery_s"]


def test_step_run_finds_where_the_concurrency_limit_bites(
    launched: dict[str, Any],
) -> None:
    run = launched["step"]
    done, out = run.done(), run.out
    assert done.returncode == 0, done.stderr
    summary = _summary(out)
    users = [p["models"]["limited"]["users"] for p in summary["phases"]]
    assert users == [2, 4, 8]
    p99 = [p["models"]["limited"]["ttft_ms"]["p99"] for p in summary["phases"]]
    assert p99[0] < 120 and p99[1] < 120 < p99[2], p99
    assert summary["max_concurrency_within_slo"] == {"limited": 4}


def _freeze_after_first_request(
    mock: MockProcess, delay_s: float, seconds: float, into: dict[str, Any]
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if get_json(mock.url + "/mock/stats")["fixed"]["received"]:
            break
        time.sleep(0.05)
    time.sleep(delay_s)
    request = urllib.request.Request(
        mock.url + "/mock/freeze", method="POST", data=json.dumps({"seconds": seconds}).encode()
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        into.update(json.loads(response.read()))


def _expected_ttft_ms(scheduled_unix: float, frozen_from: float, frozen_until: float) -> float:
    """The arithmetic: nothing leaves the server during the freeze, and timing resumes after."""
    first_token = scheduled_unix + FIXED_TTFT_MS / 1000.0
    if first_token <= frozen_from:
        return FIXED_TTFT_MS
    if scheduled_unix < frozen_from:  # in service when the freeze began: held as long as it
        return FIXED_TTFT_MS + (frozen_until - frozen_from) * 1000.0
    if scheduled_unix < frozen_until:  # arrived during the freeze: served after it
        return (frozen_until - scheduled_unix) * 1000.0 + FIXED_TTFT_MS
    return FIXED_TTFT_MS


#: How far from an edge of the freeze a request's first token must be due for its outcome to
#: be certain: on a busy machine the mock may write a first token due just before the freeze
#: a little late, and the freeze then holds it too.
EDGE_S = 0.2


def _straddles(scheduled_unix: float, frozen_from: float, frozen_until: float) -> bool:
    first_token = scheduled_unix + FIXED_TTFT_MS / 1000.0
    return any(abs(t - edge) < EDGE_S for t in (first_token, scheduled_unix)
               for edge in (frozen_from, frozen_until))  # fmt: skip


def test_open_loop_reports_a_freeze_that_closed_loop_hides(
    launched: dict[str, Any],
) -> None:
    for name in ("freeze-open", "freeze-closed"):
        assert launched[name].done().returncode == 0, launched[name].done().stderr
    freeze = launched["freeze"]
    assert freeze, "the freeze was never sent"
    open_out, closed_out = launched["freeze-open"].out, launched["freeze-closed"].out
    frozen_from, frozen_until = freeze["frozen_from_unix"], freeze["frozen_until_unix"]
    rows = [r for r in _rows(open_out) if not r["error_class"]]
    assert len(rows) >= 100  # 20/s for 6 s
    measured, expected = [], []
    for row in rows:
        scheduled = float(row["start_unix"]) - float(row["start_delay_ms"]) / 1000.0
        want = _expected_ttft_ms(scheduled, frozen_from, frozen_until)
        measured.append(float(row["ttft_ms"]))
        expected.append(want)
        if _straddles(scheduled, frozen_from, frozen_until):
            continue  # its first token was due at an edge of the freeze: either outcome is right
        # Every request scheduled during the freeze carries it, to within scheduling noise.
        assert abs(float(row["ttft_ms"]) - want) < 100, (row, want)
    affected = sum(1 for e in expected if e > 500)
    assert affected >= 30  # ~2 s of 20/s arrivals
    open_summary = _summary(open_out)["models"]["fixed"]
    closed_summary = _summary(closed_out)["models"]["fixed"]
    # The summary's p99 agrees with the arithmetic over the same requests.
    assert abs(open_summary["ttft_ms"]["p99"] - float(np.percentile(expected, 99))) < 150
    assert open_summary["ttft_ms"]["p90"] > 1000
    # Closed loop: two users each waited out the freeze once; the rest of the run was fast,
    # so its percentiles barely show a 2 s stall (coordinated omission).
    # (A user caught after its first token even shows it in E2E only.)
    assert closed_summary["ttft_ms"]["p90"] < 2 * FIXED_TTFT_MS
    assert closed_summary["e2e_ms"]["max"] > 1900
    closed_rows = [r for r in _rows(closed_out) if not r["error_class"]]
    slow_closed = sum(1 for r in closed_rows if float(r["e2e_ms"]) > 1000) / len(closed_rows)
    assert slow_closed < 0.1 < affected / len(rows)


def _cv2(times: list[float]) -> float:
    """Squared coefficient of variation of the gaps between consecutive times."""
    gaps = np.diff(times)
    return float(gaps.var() / gaps.mean() ** 2)


def test_gamma_arrivals_have_the_configured_variance(
    mock_factory: Callable[..., MockProcess],
    dataset: Path,
    tmp_path: Path,
    launcher: Launcher,
    launched: dict[str, Any],
) -> None:
    launcher.wait_all()  # timing-critical: alone on the machine
    mock = mock_factory(FIXED_PROFILE)
    out = tmp_path / "gamma"
    done = run_cli(
        [
            "run",
            "--host",
            mock.url,
            "--model",
            "fixed",
            "--dataset",
            str(dataset),
            "--rate",
            "40",
            "--arrival",
            "gamma:0.25",
            "-t",
            "5s",
            "--seed",
            "3",
            "--out",
            str(out),
            "--no-report",
        ],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    records = get_json(mock.url + "/mock/requests")
    # The load's requests (the preflight's "Say OK." probe is not an arrival).
    received = sorted(r["received_ns"] / 1e9 for r in records if r["max_tokens"] != 1)
    warmup_s = json.loads((out / "run.json").read_text())["arrivals_start_s"]
    assert warmup_s == 0.4  # 400 pool users (10 x the rate) spawned at 1000/s
    schedule = ArrivalSchedule(40.0, "gamma", 0.25, target_seed(3, "fixed"), 0, 5.0 - warmup_s)
    due = []
    while (t := schedule.take()) is not None:
        due.append(t / 1e9)
    assert len(received) == len(due)  # every arrival of the schedule was sent, no more
    # The schedule is seeded: its CV^2 is known; gamma(k) has CV^2 = 1/k = 4 on average.
    assert 2.0 < _cv2(due) < 8.0
    # What reached the server has the schedule's burstiness (sending added little jitter).
    assert _cv2(received) == pytest.approx(_cv2(due), rel=0.1)
    # And the pacing matched: the same gaps, to within a few milliseconds each.
    gaps_due = np.diff(due)
    gaps_received = np.diff(received)
    assert float(np.median(np.abs(gaps_received - gaps_due))) < 0.005


def test_plain_locust_follows_the_same_spike_shape(launched: dict[str, Any]) -> None:
    run = launched["locust-spike"]
    done, out = run.done(), run.out
    assert done.returncode == 0, done.stderr[-2000:]
    summary = _summary(out)
    assert [(p["name"], p["models"]["limited"]["users"]) for p in summary["phases"]] == [
        ("before", 2),
        ("burst", 12),
        ("after", 2),
    ]
    before, burst = _phase(summary, "before", "limited"), _phase(summary, "burst", "limited")
    assert burst["ttft_ms"]["p99"] > 2 * before["ttft_ms"]["p99"]
    assert "limited" in summary["recovery_s"]
    assert summary["duration_s"] == pytest.approx(6.0, abs=1.0)  # the shape ended the run


def test_open_loop_with_too_few_users_loses_no_arrival(launched: dict[str, Any]) -> None:
    """Two users cannot keep up with 20 arrivals/s of 245 ms requests: arrivals go out late
    (timed from their due time) or not at all, and every one is accounted for."""
    run = launched["starved"]
    done, out = run.done(), run.out
    assert done.returncode == 0, done.stderr
    summary = _summary(out)
    generator, model = summary["generator"], summary["models"]["fixed"]
    due = ArrivalSchedule(20.0, "constant", 1.0, target_seed(0, "fixed"), 0, 3.0 - 0.002)
    scheduled = sum(1 for _ in iter(due.take, None))
    assert model["requests"] + generator["arrivals_not_sent"] == scheduled == 59
    assert generator["arrivals_not_sent"] > 0 and generator["starts_without_free_user"] > 0
    assert "raise -u" in done.stderr
    # The backlog shows in the felt TTFT, not in the service time.
    assert model["ttft_ms"]["max"] > 1000 > model["ttft_service_ms"]["max"]
