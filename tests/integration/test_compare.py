"""``loadprofile compare`` end to end: one real run of three mock models, then compared.

``same`` has ``base``'s profile (the mock draws per model and request, so it is a genuine
rerun of the profile); ``slow`` has every delay 30 % longer. TTFT is uniform within
base ± jitter, so its p99 sits near the top of a bounded range: the clearest signal there
is, 1.3x for ``slow`` and 1.0x for ``same``. One run serves every check (the suite's time
is precious); the three comparisons then run side by side.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loadprofile.cli import main
from loadprofile.commands.compare.verdict_line import verdict_line
from loadprofile.launch.mock import start_mock

from .conftest import CONVERSATIONS, run_cli

pytestmark = pytest.mark.integration

PROFILES = """
[models.base]
ttft_base_ms = 80.0
ttft_jitter_ms = 40.0
itl_ms = 10.0
itl_jitter_ms = 5.0
output_tokens_min = 12
output_tokens_max = 12

[models.same]
base = "base"

[models.slow]
ttft_base_ms = 104.0
ttft_jitter_ms = 52.0
itl_ms = 13.0
itl_jitter_ms = 6.5
output_tokens_min = 12
output_tokens_max = 12
"""

PRICES = "".join(
    f"[prices.{m}]\ninput_per_1m = 1.0\noutput_per_1m = 4.0\n\n" for m in ("base", "same", "slow")
)


def _compare(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    return subprocess.Popen(
        [sys.executable, "-m", "loadprofile", "compare", *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The run, then three comparisons at once: base->slow, base->same, and the run against
    itself in the two-run form. Each value: (returncode, stdout, stderr, compare.json)."""
    base = tmp_path_factory.mktemp("compare")
    (base / "profiles.toml").write_text(PROFILES, encoding="utf-8")
    (base / "run.toml").write_text(PRICES, encoding="utf-8")
    dataset = base / "conversations.jsonl"
    dataset.write_text("".join(json.dumps(c) + "\n" for c in CONVERSATIONS), encoding="utf-8")
    mock = start_mock(extra_args=["--profiles", str(base / "profiles.toml")])
    try:
        run = base / "run"
        # 250 ms intervals: a 4 s run still gives the bootstrap ~17 units to resample.
        done = run_cli(
            [
                "run",
                "--host",
                mock.url,
                "--model",
                "base",
                "--model",
                "same",
                "--model",
                "slow",
                "--config",
                "run.toml",
                "--dataset",
                str(dataset),
                "-u",
                "24",
                "-r",
                "100",
                "-t",
                "4s",
                "--think-time",
                "0",
                "--interval",
                "250ms",
                "--no-report",
                "--out",
                str(run),
            ],
            cwd=base,
        )
    finally:
        mock.stop()
    assert done.returncode == 0, done.stderr
    jobs = {
        "slow": _compare(str(run), "--models", "base,slow", "--out", str(base / "slow")),
        "same": _compare(str(run), "--models", "base,same", "--out", str(base / "same")),
        "twice": _compare(str(run), str(run), "--out", str(base / "twice")),
        "across": _compare(
            str(run), str(run), "--models", "base,slow", "--out", str(base / "across")
        ),
    }
    out: dict[str, Any] = {"run": run}
    for name, proc in jobs.items():
        stdout, stderr = proc.communicate(timeout=60)
        folder = base / name
        data = json.loads((folder / "compare.json").read_text()) if proc.returncode == 0 else {}
        out[name] = (proc.returncode, stdout, stderr, data, folder)
    yield out


def _row(data: dict[str, Any], metric: str, pair: int = 0) -> dict[str, Any]:
    return next(r for r in data["pairs"][pair]["metrics"] if r["metric"] == metric)


def test_a_30_percent_slower_tail_is_a_significant_regression(compared: dict[str, Any]) -> None:
    code, stdout, stderr, data, folder = compared["slow"]
    assert code == 0, stderr
    rows = data["pairs"][0]["metrics"]
    worse = [r for r in rows if r["significant"] and r["direction"] == "worse"]
    better = [r for r in rows if r["significant"] and r["direction"] == "better"]
    assert stdout.strip() == verdict_line(data, folder / "compare.html")
    assert stdout.startswith(
        f"compare: slow vs base: {len(worse)} of {len(rows)} figures significantly worse ("
    )
    assert stdout.strip().endswith(f", {len(better)} better; compare.html at {folder}/compare.html")
    largest = max(worse, key=lambda r: r["ratio"] or 0.0)
    assert f"{largest['metric']} +{100 * (largest['ratio'] - 1):.0f} %" in stdout
    assert (data["baseline"]["model"], data["candidate"]["model"]) == ("base", "slow")
    for metric in ("e2e_ms.p99", "ttft_ms.p99"):
        p99 = _row(data, metric)
        assert p99["significant"] is True and p99["direction"] == "worse", p99
        assert p99["method"] == "intervals"
        assert 1.15 < p99["ci_low"] <= p99["ratio"] <= p99["ci_high"] < 1.5, p99
    throughput = _row(data, "requests_per_s")  # slower replies, fewer of them per user
    assert throughput["significant"] and throughput["direction"] == "worse"
    assert throughput["method"] == "series"
    cost = _row(data, "cost.per_transaction.mean")
    assert cost["method"] == "transactions" and cost["ci_low"] is not None
    html = (folder / "compare.html").read_text(encoding="utf-8")
    assert "baseline: base" in html and "candidate: slow" in html
    assert "regression" in html and "data:image/png;base64," in html
    assert "<script" not in html  # self-contained: inline CSS, images as data: URIs
    # Costs are dollars, never 1.2e-05 (a per-transaction delta is a few millionths).
    for key in ("t-cost", "cost"):
        table = re.search(
            rf'<table class="num[^"]*" id="pair0-[^"]*-{key}">(.*?)</table>', html, re.S
        )
        assert table is not None, key
        cells = re.findall(r"<td[^>]*>(.*?)</td>", table.group(1))
        assert any("$" in c for c in cells) and not any(re.search(r"\de-?\d", c) for c in cells)


def test_a_rerun_of_the_same_profile_is_not_significant(compared: dict[str, Any]) -> None:
    """On e2e p99: a sum of 12 delays, so its tail is smooth. TTFT's p99 sits at the hard
    edge of its uniform range, where a bootstrap of ~2 values above p99 is too narrow to
    promise 95 % for a rerun (it found the regression above with room to spare)."""
    code, _, stderr, data, _ = compared["same"]
    assert code == 0, stderr
    p99 = _row(data, "e2e_ms.p99")
    assert p99["significant"] is False, p99
    assert 0.9 < p99["ci_low"] < 1.0 < p99["ci_high"] < 1.1, p99


def test_two_runs_pair_their_models_by_name_or_as_told(compared: dict[str, Any]) -> None:
    code, stdout, stderr, data, folder = compared["twice"]
    assert code == 0, stderr
    assert stdout.strip().endswith(
        "(3 pairs of models): 0 of 96 figures significantly worse, 0 better; "
        f"compare.html at {folder}/compare.html"
    )
    pairs = [(p["baseline_model"], p["candidate_model"]) for p in data["pairs"]]
    assert pairs == [("base", "base"), ("same", "same"), ("slow", "slow")]
    assert not any(row["significant"] for pair in data["pairs"] for row in pair["metrics"])
    assert (folder / "compare.html").is_file()
    # --models across two runs: the baseline run's base against the candidate run's slow.
    code, _, stderr, data, _ = compared["across"]
    assert code == 0, stderr
    assert [(p["baseline_model"], p["candidate_model"]) for p in data["pairs"]] == [
        ("base", "slow")
    ]
    p99 = _row(data, "e2e_ms.p99")
    assert p99["significant"] is True and p99["direction"] == "worse", p99


def test_a_bad_invocation_is_one_line_and_exit_2(compared: dict[str, Any], tmp_path: Path) -> None:
    done = run_cli(["compare", str(compared["run"]), "--out", str(tmp_path / "x")], cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "loadprofile: error: one run folder: name the two models with --models BASELINE,CANDIDATE"
    ]
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["RUN", "--models", "base,ghost"], "no candidate model 'ghost'"),
        (["RUN", "--models", "base,slow", "--significance", "1.5"], "--significance 1.5"),
        (["RUN", "--models", "base"], "give two models"),
        (["RUN", "RUN", "RUN"], "one or two run folders"),
        (["MISSING", "RUN"], "no such run folder"),
    ],
)
def test_usage_errors_name_the_problem(
    compared: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    needle: str,
) -> None:
    """The same path as the process above, in this process (no second of start-up each)."""
    where = {"RUN": str(compared["run"]), "MISSING": str(tmp_path / "missing")}
    argv = ["compare", *[where.get(a, a) for a in args], "--out", str(tmp_path / "x")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("loadprofile: error: ") and needle in err[0]
    assert not (tmp_path / "x").exists()
