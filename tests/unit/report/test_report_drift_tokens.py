"""The report's correctness table names the baseline snapshot its drift rows, and the token
ratio among them, compare against."""

from __future__ import annotations

from typing import Any

from loadprofile.report.correctness import correctness_table
from tests.models import summary_of


def _drift(baseline: str, tokens: float | None) -> dict[str, Any]:
    return {
        "responses": 40,
        "drift": {
            "baseline": baseline,
            "sampled": 15,
            "compared": 15,
            "exact_match_rate": 0.2,
            "edit_distance_mean": 0.4,
            "length_ratio_median": 1.3,
            "output_tokens_ratio": tokens,
        },
    }


def _rows(correctness: dict[str, Any], models: list[str]) -> dict[str, list[str]]:
    table = correctness_table(models, summary_of({"models": {}, "correctness": correctness}))
    assert table is not None
    return {r.label: [c.text for c in r.cells] for r in table.rows}


def test_the_token_ratio_names_the_baseline_snapshot() -> None:
    rows = _rows({"fast": _drift("snapshots/current", 1.4)}, ["fast"])
    assert rows["baseline snapshot"] == ["current"]
    assert rows["output tokens vs current"] == ["1.40×"]


def test_models_held_against_different_snapshots_are_each_named() -> None:
    rows = _rows(
        {"a": _drift("/s/calm-a/", 1.4), "b": _drift("calm-b", 0.9), "c": {"responses": 3}},
        ["a", "b", "c"],
    )
    assert rows["baseline snapshot"] == ["calm-a", "calm-b", "–"]
    assert rows["output tokens vs baseline"] == ["1.40×", "0.90×", "–"]


def test_no_token_counts_no_token_row() -> None:
    rows = _rows({"fast": _drift("current", None)}, ["fast"])
    assert "baseline snapshot" in rows
    assert not [label for label in rows if label.startswith("output tokens vs")]
