"""Targets: weights, several hosts from a TOML config, keys from the environment only,
and live history."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from loadprofile.dataset.conversations import load_conversations
from loadprofile.launch.mock import MockProcess

from .conftest import FIXED_PROFILE, get_json, run_cli

pytestmark = pytest.mark.integration

SECRET = "sk-test-do-not-leak-4242"


def test_config_with_two_hosts_and_a_key_from_the_environment(
    mock_factory: Callable[..., MockProcess], dataset: Path, tmp_path: Path
) -> None:
    open_mock = mock_factory(FIXED_PROFILE)
    keyed_mock = mock_factory(FIXED_PROFILE, "--api-key", SECRET)
    config = tmp_path / "run.toml"
    config.write_text(f"""
[load]
users = 4
spawn_rate = 20
run_time = "3s"
think_time = "0"
dataset = "{dataset}"

[[targets]]
name = "self-hosted"
host = "{open_mock.url}"
model = "fixed"
weight = 3

[[targets]]
name = "hosted"
host = "{keyed_mock.url}"
model = "fixed"
api_key_env = "HOSTED_KEY"
weight = 1
""")
    out = tmp_path / "run"
    done = run_cli(
        ["run", "--config", str(config), "--out", str(out)], cwd=tmp_path, HOSTED_KEY=SECRET
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["models"]) == {"self-hosted", "hosted"}
    for model in summary["models"].values():
        assert model["requests"] > 0 and model["failures"] == 0
    # Weights 3:1 over 4 users: three users on one target, one on the other (the series
    # holds time-weighted means: ramps and the stop make some intervals lower).
    users: dict[str, int] = {}
    with (out / "timeseries.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            users[row["model"]] = max(users.get(row["model"], 0), int(row["users"]))
    assert users == {"self-hosted": 3, "hosted": 1}
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path
    assert SECRET not in done.stdout + done.stderr
    run = json.loads((out / "run.json").read_text())
    assert {t["api_key_env"] for t in run["targets"]} == {None, "HOSTED_KEY"}
    assert sorted(run["target"]["hosts"]) == sorted([open_mock.url, keyed_mock.url])


def test_every_model_sees_the_same_conversations(
    mock_factory: Callable[..., MockProcess], dataset: Path, tmp_path: Path
) -> None:
    two_models = FIXED_PROFILE + FIXED_PROFILE.replace("models.fixed", "models.twin")
    mock = mock_factory(two_models)
    out = tmp_path / "run"
    done = run_cli(
        [
            "run",
            "--host",
            mock.url,
            "--model",
            "fixed",
            "--model",
            "twin",
            "--dataset",
            str(dataset),
            "-u",
            "2",
            "-r",
            "20",
            "-t",
            "3s",
            "--think-time",
            "0",
            "--out",
            str(out),
        ],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    with (out / "requests.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    sequence = {
        m: [(r["conversation_id"], r["turn"]) for r in rows if r["model"] == m]
        for m in ("fixed", "twin")
    }
    shortest = min(len(s) for s in sequence.values())
    assert shortest >= 5
    assert sequence["fixed"][:shortest] == sequence["twin"][:shortest]


def test_live_history_carries_the_models_own_replies(
    mock_factory: Callable[..., MockProcess], dataset: Path, tmp_path: Path
) -> None:
    mock = mock_factory(FIXED_PROFILE)
    out = tmp_path / "run"
    done = run_cli(
        [
            "run",
            "--host",
            mock.url,
            "--model",
            "fixed",
            "--dataset",
            str(dataset),
            "-u",
            "1",
            "-r",
            "10",
            "-t",
            "2s",
            "--think-time",
            "0",
            "--history",
            "live",
            "--out",
            str(out),
        ],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    recorded = {c.id: c for c in load_conversations(dataset)}
    records = get_json(mock.url + "/mock/requests")
    with (out / "requests.csv").open(newline="") as fh:
        turn2 = [r for r in csv.DictReader(fh) if r["turn"] == "2"]
    assert turn2, "no second turns were sent"
    by_id = {r["request_id"]: r for r in records}
    for row in turn2:
        messages = by_id[row["request_id"]]["messages"]
        conv = recorded[row["conversation_id"]]
        assistant = [m["content"] for m in messages if m["role"] == "assistant"]
        assert assistant and assistant[0] != conv.turns[0].assistant
        assert len(assistant[0].split()) >= 5  # the mock's 12-token reply, not the recording
