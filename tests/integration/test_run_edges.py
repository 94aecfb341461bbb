"""The edges of a run against the real mock: a request budget (-n) that ends the run, on one
process and on two, and extra body fields from the flag, a target and the dataset."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from loadprofile.launch.mock import MockProcess

from .conftest import FIXED_PROFILE, get_json, run_cli

pytestmark = pytest.mark.integration


def _load(mock: MockProcess) -> list[dict[str, Any]]:
    """The server's record of the load (the preflight's one-token probe excluded)."""
    return [r for r in get_json(mock.url + "/mock/requests") if r["max_tokens"] != 1]


def _rows(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((out / "requests.csv").open(encoding="utf-8")))


@pytest.mark.parametrize("processes", [0, 2])
def test_a_request_budget_ends_the_run_after_exactly_n_requests(
    mock_factory: Callable[..., MockProcess], dataset: Path, tmp_path: Path, processes: int
) -> None:
    """-n 30 with 4 users and no think time: 30 requests sent, measured and seen by the
    server, then the drain; the run ends long before its 60 s run time. On two worker
    processes each sends its share and the master ends the run when all are back."""
    mock = mock_factory()
    out = tmp_path / "run"
    fleet = ["--processes", str(processes)] if processes else []
    started = time.monotonic()
    done = run_cli(
        [
            "run",
            *fleet,
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
            "-t",
            "60s",
            "--think-time",
            "0",
            "-n",
            "30",
            "--no-report",
            "--out",
            str(out),
        ],
        tmp_path,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert took < 45  # 30 requests of ~0.25 s on 4 users: a few seconds, not the 60 s
    summary = json.loads((out / "summary.json").read_text())
    assert summary["models"]["fixed"]["requests"] == 30
    assert len(_rows(out)) == 30
    assert len(_load(mock)) == 30
    run = json.loads((out / "run.json").read_text())
    assert run["load"]["max_requests"] == 30


def test_extra_body_fields_reach_the_server_layered_flag_target_turn(
    mock_factory: Callable[..., MockProcess], tmp_path: Path
) -> None:
    """--extra-body for every request, a target's extra_body over it, a dataset record's
    and a user message's over that; model, messages and stream stay loadprofile's."""
    mock = mock_factory(FIXED_PROFILE + '\n[models.other]\nbase = "fixed"\n')
    data = tmp_path / "turns.jsonl"
    records = [
        {"id": "plain", "messages": [{"role": "user", "content": "Hi"}]},
        {
            "id": "tuned",
            "extra_body": {"top_p": 0.5},
            "messages": [
                {"role": "user", "content": "One", "extra_body": {"seed": 7}},
                {"role": "assistant", "content": "Two"},
                {"role": "user", "content": "Three"},
            ],
        },
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    config = tmp_path / "targets.toml"
    config.write_text(
        f'[[targets]]\nmodel = "fixed"\nhost = "{mock.url}"\n'
        f'[[targets]]\nmodel = "other"\nhost = "{mock.url}"\n'
        "extra_body = { temperature = 0.7, ignore_eos = false }\n",
        encoding="utf-8",
    )
    done = run_cli(
        [
            "run",
            "--config",
            str(config),
            "--dataset",
            str(data),
            "-u",
            "2",
            "-r",
            "50",
            "-n",
            "12",
            "--think-time",
            "0",
            "--no-report",
            "--extra-body",
            '{"temperature": 0, "ignore_eos": true}',
            "--out",
            str(tmp_path / "run"),
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    seen = _load(mock)
    assert len(seen) == 12
    for record in seen:
        options = record["options"]
        last_user = record["messages"][-1]["content"]
        expected: dict[str, Any] = {"temperature": 0, "ignore_eos": True}
        if record["model"] == "other":
            expected = {"temperature": 0.7, "ignore_eos": False}
        if last_user in ("One", "Three"):
            expected["top_p"] = 0.5
        if last_user == "One":
            expected["seed"] = 7
        assert {k: options.get(k) for k in expected} == expected, (record["model"], last_user)
        assert ("seed" in options) == (last_user == "One")  # that turn's own field only
        assert record["stream"] is True


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--extra-body", "{not json", "--extra-body: not valid JSON"),
        ("--extra-body", "[1, 2]", "--extra-body: must be a JSON object"),
        ("--extra-body", '{"stream": false}', "--extra-body: cannot set stream"),
        ("-n", "0", "max requests (-n) must be at least 1"),
        ("-n", "many", "argument -n/--max-requests: invalid int value"),
    ],
)
def test_bad_budget_or_extra_body_is_one_line_and_exit_2(
    tmp_path: Path, flag: str, value: str, message: str
) -> None:
    done = run_cli(
        [
            "run",
            "--host",
            "http://127.0.0.1:9",
            "--model",
            "m",
            flag,
            value,
            "--out",
            str(tmp_path / "run"),
        ],
        tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2


DROPPER_PROFILE = """
[models.dropper]
ttft_base_ms = 20.0
itl_ms = 2.0
output_tokens_min = 6
output_tokens_max = 6
drop_after_stream = true
"""


def test_ttft_starts_before_the_connection_a_closing_server_forces(
    mock_factory: Callable[..., MockProcess], dataset: Path, tmp_path: Path
) -> None:
    """Like llama-server, the mock closes the connection after every stream: each request
    opens a new one. Its TTFT runs from the request's start, so it holds the handshake:
    it is longer than the server's own TTFT (receipt to first token) by at least
    connect_ms, for every request (one clock: perf_counter is CLOCK_MONOTONIC)."""
    mock = mock_factory(DROPPER_PROFILE)
    out = tmp_path / "run"
    done = run_cli(
        [
            "run",
            "--host",
            mock.url,
            "--model",
            "dropper",
            "--dataset",
            str(dataset),
            "-u",
            "2",
            "-r",
            "50",
            "-n",
            "20",
            "--think-time",
            "0",
            "--no-report",
            "--out",
            str(out),
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    server = {r["request_id"]: r for r in _load(mock)}
    rows = _rows(out)
    assert len(rows) == 20
    # A request sent before the server's close reached the client may still be served on
    # the old connection (a race under load): the others opened their own.
    opened = [r for r in rows if r["connect_ms"]]
    assert len(opened) >= 10, [r["connection"] for r in rows]
    for row in opened:
        assert row["connection"] in ("new", "stale"), row["connection"]
        connect_ms = float(row["connect_ms"])
        assert connect_ms > 0
        record = server[row["request_id"]]
        server_ttft_ms = (record["first_content_ns"] - record["received_ns"]) / 1e6
        assert float(row["ttft_ms"]) > server_ttft_ms + connect_ms, (row, server_ttft_ms)
