"""Run, load and dataset details for people: labels and units, never raw JSON."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from report_fixtures import SyntheticRun

from loadprofile.dataset.conversations import default_dataset_path, load_conversations
from loadprofile.dataset.stats import dataset_stats
from loadprofile.report import build_report
from loadprofile.report.details import dataset_rows, load_settings, readable
from loadprofile.rundir import writer as rundir
from tests.models import run_of


def test_load_settings_carry_labels_and_units() -> None:
    load = {
        "users": 1200,
        "spawn_rate": 5.0,
        "run_time_s": 90.0,
        "think_time_s": [1.0, 3.0],
        "history": "live",
        "max_tokens": 256,
        "timeout_s": 300.0,
        "retries": 3,
        "retry_backoff_s": 0.5,
        "retry_backoff_max_s": 8.0,
        "retry_on": ["http_429", "http_5xx"],
        "max_prompt_tokens": None,
        "extra_body": "",
        "queue_probe_ms": 25,
        "future": {"depth": 2, "mode": "x"},
    }
    rows = dict(load_settings(load, set()))
    assert rows["users"] == "1,200" and rows["spawn rate"] == "5 users/s"
    assert rows["run time"] == "1 min 30 s" and rows["think time"] == "1–3 s"
    assert rows["history"] == "live (each model's own replies)"
    assert rows["request timeout"] == "300 s"
    assert rows["retries"] == (
        "up to 3 per request, backoff 0.5–8 s (doubling, jittered), after http_429, http_5xx"
    )
    assert "max prompt tokens" not in rows and "extra body" not in rows  # not set: not shown
    assert rows["queue probe"] == "25 ms"  # a key this version does not know
    assert rows["future"] == "depth 2, mode x"
    assert dict(load_settings({"think_time_s": [0, 0], "retries": 0}, set())) == {
        "think time": "none",
        "retries": "off",
    }
    assert readable({"a": [1, 2], "b": True}) == "a 1, 2, b yes"


def test_dataset_stats_read_as_words() -> None:
    stats = dataset_stats(load_conversations(default_dataset_path()))
    rows = dict(
        dataset_rows(
            run_of(
                {
                    "dataset": {"path": "sample.jsonl", "conversations": 240, "stats": stats},
                    "dataset_passes": {"a": 1.5},
                }
            )
        )
    )
    turns, prompt = stats["turns"], stats["prompt_chars"]
    assert rows["file"] == "sample.jsonl"
    assert rows["turns"].startswith(
        f"{stats['turns_total']:,} in all; {turns['min']}–"
        f"{turns['max']} per conversation, mean {turns['mean']:g}"
    )
    assert rows["prompt sent"].startswith(
        f"median {prompt['p50']:,} characters, p90 {prompt['p90']:,}, max {prompt['max']:,}"
    )
    assert rows["conversations by turns"].startswith("1 turn: ")
    assert rows["fingerprint"] == f"sha256 {stats['sha256'][:16]}…"
    assert rows["passes over it"] == "a 1.5"
    assert not [v for v in rows.values() if "{" in v]
    single = {
        "turns_total": 20,
        "turns": {"min": 1, "mean": 1.0, "max": 1},
        "reply_chars": {"min": 0, "p50": 0, "p90": 0, "max": 0, "mean": 0.0},
    }
    rows = dict(dataset_rows(run_of({"dataset": {"stats": single}})))
    assert rows == {"turns": "20 in all; 1 per conversation", "recorded reply": "none"}


@pytest.mark.usefixtures("fast_figures")
def test_the_details_follow_the_answer_without_a_json_dict(
    make_run: Callable[..., SyntheticRun],
) -> None:
    run = make_run(requests=120, intervals=4)
    meta = rundir.read_json(run.run_dir / rundir.RUN)
    meta["dataset"]["stats"] = dataset_stats(load_conversations(default_dataset_path()))
    rundir.write_json(run.run_dir / rundir.RUN, meta)
    html = build_report(run.run_dir).read_text(encoding="utf-8")
    assert html.index('id="answer"') < html.index('id="details"') < html.index('id="overview"')
    details = re.search(r'<section id="details">(.*?)</section>', html, re.S)
    assert details
    values = re.findall(r"<dd>(.*?)</dd>", details.group(1))
    assert values and not [v for v in values if "{" in v or "&#34;" in v]
    assert "<dt>think time</dt><dd>1–3 s</dd>" in details.group(1)
    assert "<dt>user message</dt><dd>median " in details.group(1)


def test_targets_leave_out_columns_no_target_sets() -> None:
    from loadprofile.report.meta import targets

    table = targets(
        run_of(
            {
                "targets": [
                    {
                        "name": "a",
                        "model": "m",
                        "api_key_env": "KEY",
                        "extra_body": "",
                        "weight": 0,
                    },
                    {"name": "b", "model": "m", "api_key_env": None, "extra_body": "", "weight": 1},
                ]
            }
        )
    )
    assert table.columns == ["name", "model", "weight"]  # never the key's variable name
    assert table.rows == [["a", "m", "0"], ["b", "m", "1"]]
