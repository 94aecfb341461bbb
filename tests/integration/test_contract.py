"""The response contract under load, against a mock that breaks it at known rates."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from .conftest import Launched, Launcher, get_json

pytestmark = pytest.mark.integration

BREAKING_PROFILE = """
[models.strict]
content = "json"
ttft_base_ms = 20.0
itl_ms = 2.0
output_tokens_min = 30
output_tokens_max = 40
invalid_json = 0.2
contract_break = 0.1
omit_usage = true
"""
FIXED = """
[models.fixed]
ttft_base_ms = 20.0
itl_ms = 2.0
output_tokens_min = 12
output_tokens_max = 12
"""
SCHEMA = {"type": "object", "required": ["answer"], "properties": {"answer": {"type": "string"}}}


def _within_sampling_error(count: int, n: int, rate: float) -> bool:
    return abs(count / n - rate) < 4 * math.sqrt(rate * (1 - rate) / n)


INVENTING = (
    FIXED.replace("output_tokens_min = 12", "output_tokens_min = 30").replace(
        "output_tokens_max = 12", "output_tokens_max = 40"
    )
    + "invent_entities = 0.3\n"
)
CACHING = FIXED + "prefix_cache = true\n"
WORDY = CACHING + CACHING.replace("[models.fixed]", "[models.wordy]") + "token_inflation = 1.4\n"


@pytest.fixture(scope="module")
def launched(launcher: Launcher) -> dict[str, Launched]:
    """The module's four runs, started together."""
    schema = launcher.base / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    catalogue = launcher.base / "catalogue.txt"
    catalogue.write_text("Acme Turbo Blender\nUltraWidget Pro\n")
    launcher.launch(
        "contract",
        BREAKING_PROFILE,
        [
            "run",
            "--model",
            "strict",
            "--content-schema",
            str(schema),
            "-u",
            "8",
            "-r",
            "50",
            "--think-time",
            "0",
            "-t",
            "4s",
        ],
    )
    launcher.launch(
        "tokens",
        WORDY,
        [
            "run",
            "--model",
            "fixed",
            "--model",
            "wordy",
            "-u",
            "4",
            "-r",
            "50",
            "--think-time",
            "0",
            "-t",
            "3s",
        ],
    )
    launcher.launch(
        "cold",
        CACHING,
        [
            "run",
            "--model",
            "fixed",
            "--unique-prefix",
            "-u",
            "4",
            "-r",
            "50",
            "--think-time",
            "0",
            "-t",
            "3s",
        ],
    )
    launcher.launch(
        "grounding",
        INVENTING,
        [
            "run",
            "--model",
            "fixed",
            "--entities",
            str(catalogue),
            "-u",
            "6",
            "-r",
            "50",
            "--think-time",
            "0",
            "-t",
            "3s",
        ],
    )
    return launcher.runs


def test_contract_breaks_and_invalid_json_are_counted_as_the_server_made_them(
    launched: dict[str, Launched],
) -> None:
    run = launched["contract"]
    done, out, mock = run.done(), run.out, run.mock
    assert done.returncode == 0, done.stderr
    records = [r for r in get_json(mock.url + "/mock/requests") if r["max_tokens"] != 1]
    broken = sum(r["injected"] == "contract_break" for r in records)
    invalid = sum(bool(r["invalid_json"]) and r["injected"] != "contract_break" for r in records)
    n = len(records)
    assert n > 150
    assert _within_sampling_error(broken, n, 0.1)
    assert _within_sampling_error(invalid, n - broken, 0.2)
    summary = json.loads((out / "summary.json").read_text())
    model, correctness = summary["models"]["strict"], summary["correctness"]["strict"]
    assert model["requests"] == n
    # Every break the server made is a contract error, and nothing else is.
    assert model["errors"] == {"contract": broken + invalid}
    assert correctness["contract_violations"] == broken + invalid
    assert correctness["json_checked"] == n - broken
    assert correctness["json_valid_rate"] == pytest.approx((n - broken - invalid) / (n - broken))
    assert correctness["notes"] == {"usage_missing": n - broken}  # asked for, never sent
    examples = [json.loads(line) for line in (out / "contract_examples.jsonl").open()]
    assert len(examples) == 20
    reasons = {e["error"].split(" (")[0].split(":")[0] for e in examples}
    assert reasons <= {"chunk id changed mid-stream", "content is not JSON"}
    report = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="table-correctness"' in report and 'id="contract-examples"' in report


def test_a_model_that_counts_more_tokens_for_the_same_text_shows_it(
    launched: dict[str, Launched],
) -> None:
    done, out = launched["tokens"].done(), launched["tokens"].out
    assert done.returncode == 0, done.stderr
    correctness = json.loads((out / "summary.json").read_text())["correctness"]
    fixed, wordy = correctness["fixed"]["tokens"], correctness["wordy"]["tokens"]
    assert fixed["prompt_tokens_vs_canonical"] == fixed["output_tokens_vs_canonical"] == 1.0
    assert wordy["prompt_tokens_vs_canonical"] == pytest.approx(1.4, abs=0.02)
    assert wordy["output_tokens_vs_canonical"] == pytest.approx(1.4, abs=0.05)  # 12 -> 17
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "prompt tokens per char vs fixed" in report


def test_replies_naming_made_up_products_are_flagged_as_the_server_made_them(
    launched: dict[str, Launched],
) -> None:
    run = launched["grounding"]
    done, out, mock = run.done(), run.out, run.mock
    assert done.returncode == 0, done.stderr
    records = [r for r in get_json(mock.url + "/mock/requests") if r["max_tokens"] != 1]
    invented = sum(r["invented"] is not None for r in records)
    assert len(records) > 100 and _within_sampling_error(invented, len(records), 0.3)
    grounding = json.loads((out / "summary.json").read_text())["correctness"]["fixed"]["grounding"]
    assert grounding["checked"] == len(records) and grounding["flagged"] == invented
    examples = [json.loads(line) for line in (out / "contract_examples.jsonl").open()]
    assert examples and all(e["kind"] == "grounding" for e in examples)
    names = {r["invented"] for r in records if r["invented"]}
    assert all(any(n in e["error"] for n in names) for e in examples)
    assert "names found nowhere" in (out / "report.html").read_text(encoding="utf-8")


def _cached_by_first_turn(out: Path) -> tuple[list[int], list[int]]:
    """Cached prompt tokens of the successful first turns, and of the later turns."""
    rows = [
        r
        for r in csv.DictReader((out / "requests.csv").open())
        if not r["error_class"] and r["model"] == "fixed"
    ]
    first = [int(r["cached_tokens"]) for r in rows if r["turn"] == "1"]
    later = [int(r["cached_tokens"]) for r in rows if r["turn"] != "1"]
    return first, later


def test_unique_prefix_makes_first_turns_cold_and_keeps_reuse_within_a_conversation(
    launched: dict[str, Launched],
) -> None:
    """Replayed conversations hit the server's prefix cache from their first turn on; with
    --unique-prefix no first turn does, while later turns still reuse their own history."""
    for name in ("tokens", "cold"):
        assert launched[name].done().returncode == 0, launched[name].done().stderr
    warm_first, _ = _cached_by_first_turn(launched["tokens"].out)
    cold_first, cold_later = _cached_by_first_turn(launched["cold"].out)
    assert len(cold_first) > 20 and len(cold_later) > 20
    assert sum(warm_first) > 0 and max(cold_first) == 0 and max(cold_later) > 0
    summary = json.loads((launched["cold"].out / "summary.json").read_text())
    assert summary["models"]["fixed"]["cached_prompt_tokens"] == sum(cold_later)
    html = (launched["cold"].out / "report.html").read_text()
    assert "cached prompt tokens" in html and "unique per conversation" in html
