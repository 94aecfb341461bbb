"""Snapshots: every prompt answered once, resumable after an interrupt; diffs between them."""

from __future__ import annotations

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
from loadprofile.quality.snapshot_format import read_meta

from .conftest import FIXED_PROFILE, get_json, run_cli, run_clis

pytestmark = pytest.mark.integration


def _lines(folder: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (folder / "outputs.jsonl").open(encoding="utf-8")]


def test_an_interrupted_snapshot_resumes_to_what_an_uninterrupted_one_holds(
    mock_factory: Callable[..., MockProcess], tmp_path: Path
) -> None:
    first, second = mock_factory(FIXED_PROFILE), mock_factory(FIXED_PROFILE)  # same seed
    args = ["snapshot", "--model", "fixed", "-n", "30"]
    resumed, whole = tmp_path / "resumed", tmp_path / "whole"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "loadprofile",
            *args,
            "--host",
            first.url,
            "--concurrency",
            "1",
            "--out",
            str(resumed),
        ],
        cwd=tmp_path,
        text=True,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while not (resumed / "outputs.jsonl").exists() or len(_lines(resumed)) < 3:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err
    partial = len(_lines(resumed))
    assert 3 <= partial < 30
    again = run_cli([*args, "--host", first.url, "--out", str(resumed)], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"{30 - partial} answered now, 0 failed, 0 missing" in again.stdout
    done = run_cli([*args, "--host", second.url, "--out", str(whole)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    got = {str(x["key"]): x for x in _lines(resumed)}
    want = {str(x["key"]): x for x in _lines(whole)}
    assert len(_lines(resumed)) == 30 and got.keys() == want.keys()
    assert all(got[k]["output"] == want[k]["output"] for k in want)
    assert all(x["output_tokens"] == 12 and x["prompt_tokens"] for x in got.values())
    meta = read_meta(resumed)
    assert meta["params"]["temperature"] == 0 and meta["dataset"]["prompts"] == 30


def test_snapshot_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    for args, needle in [
        (["snapshot", "-n", "0", "--out", "x"], "-n 0"),
        (["snapshot", "--concurrency", "0", "--out", "x"], "--concurrency 0"),
        (["snapshot", "--out", str(tmp_path / "taken")], "not empty and not a snapshot"),
        (["snapshot", "--dataset", "missing.jsonl", "--out", "x"], "missing.jsonl"),
    ]:
        done = run_cli(args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert needle in done.stderr and "Traceback" not in done.stderr


def test_diff_says_whether_a_model_is_deterministic(
    mock_factory: Callable[..., MockProcess], tmp_path: Path
) -> None:
    """Snapshots ask for temperature 0: like vLLM or llama.cpp, the mock then answers a
    repeated request with the same text, so a re-snapshot of the same model (same process,
    every request a repeat) is 100 % exact. A model that samples anyway (``greedy = false``,
    as some hosted APIs do) drifts between two snapshots from one process."""
    sampling = FIXED_PROFILE.replace("[models.fixed]", "[models.fixed]\ngreedy = false")
    first, sampler = mock_factory(FIXED_PROFILE), mock_factory(sampling)
    folders = {name: tmp_path / name for name in ("a", "again", "s1", "s2")}

    def snapshot(name: str, mock: MockProcess) -> list[str]:
        args = ["snapshot", "--host", mock.url, "--model", "fixed", "-n", "20"]
        return [*args, "--out", str(folders[name])]

    # two waves: the second snapshot of each mock asks what the first already asked
    for wave in ((("a", first), ("s1", sampler)), (("again", first), ("s2", sampler))):
        for done in run_clis([snapshot(name, mock) for name, mock in wave], tmp_path):
            assert done.returncode == 0, done.stderr
    pairs = (("a", "again", True), ("s1", "s2", False))
    diffs = [
        ["diff", str(folders[one]), str(folders[other]), "--out", str(tmp_path / f"d-{other}")]
        for one, other, _ in pairs
    ]
    bad_args = ["diff", str(folders["a"]), str(tmp_path), "--out", str(tmp_path / "d")]
    *done_diffs, bad = run_clis([*diffs, bad_args], tmp_path)
    for (_, other, deterministic), done in zip(pairs, done_diffs, strict=True):
        assert done.returncode == 0, done.stderr
        diff = json.loads((tmp_path / f"d-{other}" / "diff.json").read_text())
        assert diff["compared"] == 20 and diff["deterministic"] is deterministic
        assert (diff["exact_match_rate"] == 1.0) is deterministic
        assert (tmp_path / f"d-{other}" / "diff.html").exists()
    assert bad.returncode == 2 and "not a snapshot folder" in bad.stderr


def test_replies_under_load_are_held_against_a_calm_snapshot(
    mock_factory: Callable[..., MockProcess], tmp_path: Path
) -> None:
    """The same model (same seed) asked for temperature 0 answers under load exactly as in its
    calm snapshot; another one (another seed: other words) shows the drift; a run that samples
    is told its drift figures include sampling."""
    calm_mock, same, other, sampled = (
        mock_factory(FIXED_PROFILE),
        mock_factory(FIXED_PROFILE),
        mock_factory(FIXED_PROFILE, "--seed", "7"),
        mock_factory(FIXED_PROFILE),
    )
    calm = tmp_path / "calm"
    done = run_cli(
        [
            "snapshot",
            "--host",
            calm_mock.url,
            "--model",
            "fixed",
            "-n",
            "200",
            "--concurrency",
            "32",
            "--out",
            str(calm),
        ],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    drift = {}
    runs = (("same", same, True), ("other", other, True), ("sampled", sampled, False))
    base = ["run", "--model", "fixed", "-u", "4", "-r", "50", "--think-time", "0", "-t", "2s"]
    base += ["--sample-outputs", "15", "--baseline", str(calm), "--no-report"]
    commands = [
        [*base, "--host", mock.url, "--out", str(tmp_path / name)]
        + (["--extra-body", '{"temperature": 0}'] if greedy else [])
        for name, mock, greedy in runs
    ]
    for (name, _, greedy), done in zip(runs, run_clis(commands, tmp_path), strict=True):
        assert done.returncode == 0, done.stderr
        # sampled replies against a temperature-0 snapshot: said, since drift then includes it
        assert ("drift figures include sampling" in done.stderr) is (not greedy)
        if not greedy:
            continue
        out = tmp_path / name
        summary = json.loads((out / "summary.json").read_text())
        drift[name] = summary["correctness"]["fixed"]["drift"]
        samples = [json.loads(line) for line in (out / "samples.jsonl").open()]
        assert len(samples) == 15 and all(s["users"] >= 1 for s in samples)
    assert drift["same"]["not_in_baseline"] == drift["other"]["not_in_baseline"] == 0
    assert drift["same"]["compared"] == 15 and drift["same"]["exact_match_rate"] == 1.0
    assert drift["same"]["edit_distance_mean"] == 0.0
    assert drift["other"]["compared"] == 15 and drift["other"]["exact_match_rate"] < 0.2
    assert drift["other"]["edit_distance_mean"] > 0.3


REWRITING_PROFILE = (
    FIXED_PROFILE
    + """
[models.rewriter]
ttft_base_ms = 80.0
itl_ms = 15.0
output_tokens_min = 12
output_tokens_max = 12
text_of = "fixed"
rewrite = 0.3
"""
)


def test_a_diff_finds_the_share_of_replies_a_model_rewrites(
    mock_factory: Callable[..., MockProcess], tmp_path: Path
) -> None:
    """A mock model answers as another one but for 30 % of replies, written anew: the diff
    of their snapshots finds exactly the ones the server rewrote."""
    mock = mock_factory(REWRITING_PROFILE)
    for model in ("fixed", "rewriter"):
        done = run_cli(
            [
                "snapshot",
                "--host",
                mock.url,
                "--model",
                model,
                "-n",
                "150",
                "--concurrency",
                "32",
                "--out",
                str(tmp_path / model),
            ],
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
    done = run_cli(
        [
            "diff",
            str(tmp_path / "fixed"),
            str(tmp_path / "rewriter"),
            "--out",
            str(tmp_path / "diff"),
        ],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    diff = json.loads((tmp_path / "diff" / "diff.json").read_text())
    records = [
        r
        for r in get_json(mock.url + "/mock/requests")
        if r["model"] == "rewriter" and r["max_tokens"] != 1
    ]
    rewritten = sum(r["rewritten"] for r in records)
    assert diff["compared"] == 150 == len(records)
    assert round((1 - diff["exact_match_rate"]) * 150) == rewritten
    assert abs(rewritten / 150 - 0.3) < 4 * (0.3 * 0.7 / 150) ** 0.5
    assert diff["deterministic"] is False and diff["output_tokens_ratio"]["total"] == 1.0


def test_snapshot_says_when_the_dataset_is_short_of_n_and_can_reach_it(
    mock_factory: Callable[..., MockProcess], dataset: Path, tmp_path: Path
) -> None:
    """The test dataset has 7 prompts (turns). -n 10 asks those 7 and says so, in the console
    and snapshot.json; --repeat-to-n asks 3 more, each a prompt of its own (a nonce opens it)."""
    mock = mock_factory(FIXED_PROFILE)
    base = ["snapshot", "--host", mock.url, "--model", "fixed", "--dataset", str(dataset)]
    short, full = tmp_path / "short", tmp_path / "full"
    done = run_cli([*base, "-n", "10", "--out", str(short)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "-n 10: the dataset has 7 prompts (turns)" in done.stderr
    meta = read_meta(short)
    assert meta["dataset"]["prompts"] == 7 and meta["dataset"]["short_of_n"] == 3
    assert len(_lines(short)) == 7
    done = run_cli([*base, "-n", "10", "--repeat-to-n", "--out", str(full)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "the dataset has" not in done.stderr
    meta = read_meta(full)
    assert meta["dataset"]["prompts"] == 10 and meta["dataset"]["short_of_n"] == 0
    assert meta["params"]["repeat_to_n"] is True and meta["dataset"]["turns"] == 7
    keys = [line["key"] for line in _lines(full)]
    assert len(set(keys)) == 10
    # what the server received: the 7 prompts, then 3 of them again, each opened by a nonce
    received = [r for r in get_json(mock.url + "/mock/requests") if r["max_tokens"] != 1]
    prompts = [json.dumps(r["messages"]) for r in received[-10:]]
    assert len(set(prompts)) == 10 and sum("[session " in p for p in prompts) == 3
