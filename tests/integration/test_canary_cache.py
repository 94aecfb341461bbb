"""A canary against a warm baseline, end to end on the mock: the baseline's prefix cache
holds every prompt (it has been serving them: a snapshot sent each once), the candidate is
new. Without the warm-up an identical candidate fails TTFT p99 and fires the rollback; with
it (on by default in a canary run) it passes and calls no webhook, whatever the seed; a
candidate that is really slower still fails and calls the webhook exactly once."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

import pytest

from loadprofile.launch.mock import MockProcess, start_mock
from tests.receiver import Receiver

from .conftest import start_cli

pytestmark = pytest.mark.integration

PROFILES = """
[models.current]
ttft_base_ms = 20.0
ttft_per_prompt_token_ms = 0.5
itl_ms = 5.0
output_tokens_min = 8
output_tokens_max = 8
prefix_cache = true

[models.candidate]
base = "current"

[models.slower]
base = "current"
ttft_base_ms = 90.0
"""

#: 40 distinct single-turn prompts of ~300 tokens: more than the candidate sends in the run.
PROMPTS = [
    {"id": f"q{i}", "messages": [{"role": "user", "content": f"Question {i}: " + f"w{i} " * 400}]}
    for i in range(40)
]


@dataclass
class Case:
    name: str
    candidate: str
    args: list[str]
    mock: MockProcess | None = None
    proc: subprocess.Popen[str] | None = None
    hook: Receiver | None = None


CASES = [
    Case("cold-candidate", "candidate", ["--warm-cache", "off"]),
    Case("warmed-seed-0", "candidate", ["--seed", "0"]),
    Case("warmed-seed-1", "candidate", ["--seed", "1"]),
    Case("slower", "slower", []),
]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, list]]:
    base = tmp_path_factory.mktemp("canary-cache")
    dataset, profiles = base / "prompts.jsonl", base / "profiles.toml"
    dataset.write_text("".join(json.dumps(p) + "\n" for p in PROMPTS), encoding="utf-8")
    profiles.write_text(PROFILES, encoding="utf-8")
    results: dict[str, tuple[int, str, list]] = {}
    try:
        for case in CASES:  # each its own mock, its baseline warm from serving every prompt
            case.mock = start_mock(extra_args=["--profiles", str(profiles)])
        primes = [
            start_cli(
                [
                    "snapshot",
                    "--host",
                    c.mock.url,
                    "--model",
                    "current",
                    "--dataset",
                    str(dataset),
                    "--out",
                    str(base / f"{c.name}-prime"),
                ],
                base,
            )
            for c in CASES
            if c.mock is not None
        ]
        for prime in primes:
            _, err = prime.communicate(timeout=120)
            assert prime.returncode == 0, err
        for case in CASES:
            assert case.mock is not None
            case.hook = Receiver().__enter__()
            case.proc = start_cli(
                [
                    "run",
                    "--host",
                    case.mock.url,
                    "--model",
                    "current=90",
                    "--model",
                    f"{case.candidate}=10",
                    "--canary",
                    case.candidate,
                    "--baseline",
                    "current",
                    "--dataset",
                    str(dataset),
                    "-u",
                    "10",
                    "-r",
                    "100",
                    "-t",
                    "4s",
                    "--think-time",
                    "0",
                    "--on-fail-webhook",
                    case.hook.url,
                    "--no-report",
                    "--out",
                    str(base / case.name),
                    *case.args,
                ],
                base,
            )
        for case in CASES:
            assert case.proc is not None and case.hook is not None
            out, err = case.proc.communicate(timeout=120)
            results[case.name] = (case.proc.returncode, out + err, list(case.hook.calls))
        # the report and compare of the cold run, at once
        report = start_cli(["report", str(base / "cold-candidate")], base)
        compare = start_cli(
            [
                "compare",
                str(base / "cold-candidate"),
                "--models",
                "current,candidate",
                "--out",
                str(base / "compare"),
            ],
            base,
        )
        _, err = report.communicate(timeout=120)
        assert report.returncode == 0, err
        html = (base / "cold-candidate" / "report.html").read_text(encoding="utf-8")
        results["report"] = (report.returncode, html, [])
        out, err = compare.communicate(timeout=120)
        page = (base / "compare" / "compare.html").read_text(encoding="utf-8")
        pair = json.loads((base / "compare" / "compare.json").read_text())["pairs"][0]
        results["compare"] = (compare.returncode, out + err + page, [pair["cache"]])
    finally:
        for case in CASES:
            if case.proc is not None and case.proc.poll() is None:
                case.proc.kill()
            if case.hook is not None:
                case.hook.__exit__(None, None, None)
            if case.mock is not None:
                case.mock.stop()
    return results


def test_a_cold_candidate_against_a_warm_baseline_is_a_false_regression(
    outcomes: dict[str, tuple[int, str, list]],
) -> None:
    """What happens without the warm-up: the gate fails and says why it cannot be trusted."""
    code, text, calls = outcomes["cold-candidate"]
    assert code == 1 and len(calls) == 1, text[-3000:]
    assert "FAIL  candidate  ttft_ms.p99" in text
    assert "cache warmth differed: prompt tokens served from cache: current" in text
    assert "cache warmth differed" in outcomes["report"][1]  # and the report says it too
    code, text, (cache,) = outcomes["compare"]  # compare flags it beside its verdict
    assert code == 0 and cache["differs"] is True
    assert cache["baseline_share"] > 0.8 > 0.2 > cache["candidate_share"]
    assert text.count("cache warmth differed") == 2  # the console line and compare.html


@pytest.mark.parametrize("name", ["warmed-seed-0", "warmed-seed-1"])
def test_the_warmed_identical_candidate_passes_and_calls_no_webhook(
    outcomes: dict[str, tuple[int, str, list]], name: str
) -> None:
    code, text, calls = outcomes[name]
    assert code == 0 and calls == [], text[-3000:]
    assert "warming the prefix caches: 40 prompts to each of 2 model(s)" in text
    assert "cache: caches warmed before the load (40 prompts to each model)" in text
    assert "still apart" not in text


def test_a_slower_candidate_still_fails_and_calls_the_webhook_once(
    outcomes: dict[str, tuple[int, str, list]],
) -> None:
    code, text, calls = outcomes["slower"]
    assert code == 1 and len(calls) == 1, text[-3000:]
    assert "FAIL  slower  ttft_ms.p99" in text
    assert "caches warmed before the load" in text
