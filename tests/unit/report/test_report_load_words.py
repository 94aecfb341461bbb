"""Decisions and words of the burst section, on plain data (no run folder, no figures)."""

from __future__ import annotations

import pandas as pd
import pytest

from loadprofile.report.burst import capacity_points, phase_users, shows_burst
from loadprofile.report.context import service_differs
from loadprofile.report.load_meta import (
    capacity_text,
    goodput_text,
    load_rows,
    recovery,
    timing_notes,
)
from tests.models import generator_of, load_of, phases_of, summary_of

PHASES = [
    {
        "name": "step 1",
        "start_s": 0.0,
        "end_s": 4.0,
        "users": 2,
        "models": {
            "m": {
                "users": 4,
                "requests": 10,
                "ttft_ms": {"p99": 50.0},
                "requests_per_s": 2.5,
                "output_tokens_per_s": 50.0,
            }
        },
    },
    {
        "name": "step 2",
        "start_s": 4.0,
        "end_s": 8.0,
        "users": 4,
        "models": {
            "m": {
                "users": 8,
                "requests": 20,
                "ttft_ms": {"p99": 90.0},
                "requests_per_s": 5.0,
                "output_tokens_per_s": 100.0,
            }
        },
    },
]


@pytest.mark.parametrize(
    ("load", "shown"),
    [
        ({}, False),
        ({"shape": "steady"}, False),
        ({"shape": "steady", "rate": 5.0}, True),
        ({"shape": "spike"}, True),
        ({"shape": "step"}, True),
        ({"shape": "stages"}, True),
        ({"shape": "steady", "rate": None, "pace_s": 2.0}, False),
    ],
)
def test_burst_section_for_shaped_and_open_loop_runs_only(
    load: dict[str, object], shown: bool
) -> None:
    assert shows_burst(load_of(load)) is shown


def test_phase_users_come_from_the_summary_else_the_series_median() -> None:
    series = pd.DataFrame(
        {
            "start_s": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
            "end_s": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "model": ["m"] * 8,
            "users": [1, 2, 2, 2, 4, 4, 4, 8],
        }
    )
    assert phase_users(series, phases_of(PHASES), "m") == [4, 8]  # summary.json's figures
    plan = phases_of([{k: v for k, v in p.items() if k != "models"} for p in PHASES])  # run.json's
    assert phase_users(series, plan, "m") == [2, 4]
    assert phase_users(series.iloc[0:0], plan, "m") == [None, None]
    points = capacity_points(phases_of(PHASES), "m", [2, 4])
    assert list(points["users"]) == [2, 4] and list(points["ttft_p99"]) == [50.0, 90.0]


def test_service_columns_only_when_the_figures_differ() -> None:
    same = {"p50": 1.0, "p99": 2.0, "count": 3}
    summary = {"models": {"m": {"ttft_ms": same, "ttft_service_ms": dict(same)}}}
    assert not service_differs(summary_of(summary), ["m"])
    summary["models"]["m"]["e2e_ms"] = {"p50": 5.0, "p99": 9.0, "count": 3}
    summary["models"]["m"]["e2e_service_ms"] = {"p50": 5.0, "p99": 7.0, "count": 3}
    assert service_differs(summary_of(summary), ["m"])
    old_folder = summary_of({"models": {"m": {"ttft_ms": same}}})
    assert not service_differs(old_folder, ["m"])


def test_paced_and_open_loop_runs_explain_their_timing() -> None:
    paced = timing_notes(load_of({"pace_s": 2.0}), True)
    assert len(paced) == 1 and "expected-interval correction (interval = the pace)" in paced[0]
    assert "raw measurements" in paced[0]
    open_loop = timing_notes(load_of({"rate": 10.0}), True)
    assert "scheduled start" in open_loop[0] and "actual send" in open_loop[0]
    assert timing_notes(load_of({}), False) == []


def test_goodput_words_name_the_slos_or_say_every_success_counts() -> None:
    assert "every successful request" in goodput_text(load_of({}))
    slos = load_of({"slo_ttft_ms": 500, "slo_tpot_ms": 40})
    assert "TTFT ≤ 500 ms and TPOT ≤ 40 ms" in goodput_text(slos)


def test_load_rows_keep_what_the_shape_uses() -> None:
    rows = dict(
        load_rows(
            load_of(
                {
                    "shape": "spike",
                    "users": 20,
                    "base_users": 2,
                    "steps": [],
                    "spike_users": 20,
                    "rate": None,
                    "arrival": "poisson",
                    "slo_ttft_ms": None,
                }
            ),
            generator_of({}),
        )
    )
    assert rows["shape"] == "spike" and rows["spike users"] == "20"
    assert not {"steps", "arrival process", "arrival rate", "goodput SLO: TTFT"} & set(rows)
    stats = generator_of({"late_starts": 2, "arrivals_not_sent": 3})
    rows = dict(load_rows(load_of({"rate": 5.0, "arrival": "constant", "users": 8}), stats))
    assert rows["arrivals never sent"] == "3"
    assert rows["arrival rate"] == "5 requests/s" and rows["arrival process"] == "constant"
    assert rows["late starts"] == "2" and rows["user pool"].startswith("8 users")
    assert load_rows(None, None) == []


def test_load_rows_say_which_prefix_mode_the_run_used() -> None:
    unique = dict(load_rows(load_of({"unique_prefix": True}), None))
    assert "unique per conversation" in unique["prompt prefixes"]
    rows = dict(load_rows(load_of({"unique_prefix": False}), None))
    assert "may be served from the server's prefix cache" in rows["prompt prefixes"]
    assert "unique_prefix" not in rows
    open_loop = dict(load_rows(load_of({"unique_prefix": True, "rate": 2.0}), None))
    assert open_loop["prompt prefixes"].startswith("unique per request")


def test_recovery_words_tell_never_from_nothing_to_compare() -> None:
    phases = phases_of([{"name": "before", "models": {"a": {"ttft_ms": {"p99": 40.0}}, "b": {}}}])
    summary = summary_of({"recovery_s": {"a": None, "b": None, "c": 2.5}})
    lines = {r.model: r.text for r in recovery(["a", "b", "c"], summary, phases)}
    assert lines["a"].startswith("not recovered: TTFT p99 never came back within 20 % of 40 ms")
    assert lines["b"] == "not recovered: no TTFT p99 in the 'before' phase to compare with"
    assert lines["c"] == "recovered 2.5 s after the burst"
    assert recovery(["a"], summary_of({}), phases) == []


def test_capacity_words() -> None:
    summary = summary_of({"max_concurrency_within_slo": {"a": 0, "b": 8, "c": 4}})
    load = load_of({"slo_ttft_p99_ms": 120.0})
    lines = capacity_text(summary, load, ["a", "b", "c"], {"a": 8, "b": 8, "c": 8})
    assert lines == [
        "a: even the first step broke TTFT p99 ≤ 120 ms.",
        "b: 8 users, the highest step tried, stayed within TTFT p99 ≤ 120 ms "
        "(its limit may be higher).",
        "c: 4 users within TTFT p99 ≤ 120 ms.",
    ]
    assert capacity_text(summary_of({}), load, ["a"], {}) == []
