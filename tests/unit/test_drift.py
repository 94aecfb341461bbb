"""Drift between two snapshots: the figures in diff.json and the page built from them."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from loadprofile.quality.content_check import ContentCheck
from loadprofile.quality.drift import compare, is_refusal, word_diff
from loadprofile.quality.snapshot_format import OUTPUTS, SNAPSHOT, Output, read_outputs
from loadprofile.report.drift_report import run_diff


def text(i: int) -> str:
    return f"Answer {i}: the quick brown fox jumps over the lazy dog, time number {i}."


def output(
    i: int,
    reply: str | None = None,
    *,
    tokens: int = 100,
    prompt_tokens: int | None = 20,
    error: str | None = None,
) -> Output:
    conversation = f"c{i:03d}"
    return Output(
        key=f"{conversation}#1",
        conversation_id=conversation,
        turn=1,
        prompt_sha256="0" * 64,
        prompt_chars=80,
        output=text(i) if reply is None else reply,
        finish_reason="stop",
        prompt_tokens=prompt_tokens,
        output_tokens=tokens,
        tokens_estimated=False,
        error_class=error,
        error="boom" if error else "",
    )


def snapshot(
    folder: Path, outputs: list[Output], *, model: str = "m", sha: str = "ab" * 32
) -> Path:
    folder.mkdir(parents=True)
    meta = {
        "schema": 1,
        "kind": "loadprofile-snapshot",
        "model": model,
        "host": "http://h:8000",
        "dataset": {"path": "prompts.jsonl", "sha256": sha, "prompts": len(outputs)},
        "params": {"temperature": 0, "seed": 1, "max_tokens": 256, "n": 1, "concurrency": 4},
        "created_at": "2025-01-01T00:00:00Z",
        "versions": {"loadprofile": "0.1.0"},
    }
    (folder / SNAPSHOT).write_text(json.dumps(meta), encoding="utf-8")
    (folder / OUTPUTS).write_text("".join(o.to_line() for o in outputs), encoding="utf-8")
    return folder


def diff_json(tmp_path: Path, a: list[Output], b: list[Output], worst: int = 20) -> dict:
    canonical, candidate = snapshot(tmp_path / "a", a), snapshot(tmp_path / "b", b)
    html = run_diff(canonical, candidate, tmp_path / "out", worst=worst)
    assert html.name == "diff.html" and html.is_file()
    return json.loads((tmp_path / "out" / "diff.json").read_text(encoding="utf-8"))


def by_key(outputs: list[Output]) -> dict[str, Output]:
    return {o.key: o for o in outputs}


def test_identical_snapshots_are_deterministic(tmp_path: Path) -> None:
    outputs = [output(i) for i in range(50)]
    data = diff_json(tmp_path, outputs, outputs)
    assert data["schema"] == 1 and data["compared"] == 50
    assert data["exact_match_rate"] == 1.0 and data["deterministic"] is True
    assert data["edit_distance"] == {"mean": 0.0, "p50": 0.0, "p90": 0.0, "max": 0.0}
    assert data["length_ratio"] == {"median": 1.0, "p10": 1.0, "p90": 1.0}
    assert data["output_tokens_ratio"]["total"] == data["output_tokens_ratio"]["mean"] == 1.0
    assert data["prompt_tokens_ratio"] == {"median": 1.0, "total": 1.0}
    est = data["local_estimate"]
    assert est["canonical_output_per_estimate"] == est["candidate_output_per_estimate"] is not None
    assert data["canonical"]["model"] == "m" and data["canonical"]["answered"] == 50
    assert all(w["edit_distance"] == 0.0 for w in data["worst"])


def test_a_rewritten_fraction_is_the_exact_mismatch_rate_and_the_worst(tmp_path: Path) -> None:
    changed = set(random.Random(7).sample(range(100), 30))
    canonical = [output(i) for i in range(100)]
    candidate = [
        output(i, f"Reply {i}: a slow red cat sleeps under a busy tree.")
        if i in changed
        else output(i)
        for i in range(100)
    ]
    result = compare(by_key(canonical), by_key(candidate), None, worst=30)
    data = result.to_json()
    assert data["exact_match_rate"] == 0.7 and data["deterministic"] is False
    assert {w["key"] for w in data["worst"]} == {f"c{i:03d}#1" for i in changed}
    assert all(w["edit_distance"] > 0 for w in data["worst"])
    top20 = compare(by_key(canonical), by_key(candidate), None).to_json()["worst"]
    assert len(top20) == 20 and {w["key"] for w in top20} <= {f"c{i:03d}#1" for i in changed}


def test_more_output_tokens_for_the_same_text_stand_out(tmp_path: Path) -> None:
    canonical = [output(i, tokens=100) for i in range(20)]
    candidate = [output(i, tokens=140) for i in range(20)]
    data = diff_json(tmp_path, canonical, candidate)
    assert data["output_tokens_ratio"]["total"] == 1.4
    assert data["output_tokens_ratio"]["median"] == 1.4
    est = data["local_estimate"]
    ratio = est["candidate_output_per_estimate"] / est["canonical_output_per_estimate"]
    assert ratio == pytest.approx(1.4, abs=1e-3)
    assert data["exact_match_rate"] == 1.0  # the same words, counted as more tokens
    html = (tmp_path / "out" / "diff.html").read_text(encoding="utf-8")
    assert "used 1.40× the output tokens of the canonical, m (a)." in html
    assert 'id="token-banner"' in html


def test_the_token_rows_name_the_model_they_compare_against(tmp_path: Path) -> None:
    """'1.40×' alone does not say of what: each token ratio names the canonical's model."""
    canonical = snapshot(
        tmp_path / "a", [output(i, tokens=100) for i in range(20)], model="current"
    )
    candidate = snapshot(tmp_path / "b", [output(i, tokens=140) for i in range(20)], model="next")
    html = run_diff(canonical, candidate, tmp_path / "out").read_text(encoding="utf-8")
    assert "<tr><th>output tokens vs current, total</th><td>1.40×</td></tr>" in html
    assert "<th>output tokens vs current, median (p10 – p90)</th>" in html
    assert "<th>prompt tokens vs current, total / median</th>" in html
    assert "<th>next / current</th>" in html  # the token table's ratio column
    assert "the candidate, next, used 1.40× the output tokens of the canonical, current." in html
    assert "output-token ratio" not in html and "candidate / canonical</th>" not in html


def test_refusals_and_empty_replies_are_counted() -> None:
    canonical = [output(i) for i in range(10)]
    candidate = [output(i) for i in range(7)] + [
        output(7, "I'm sorry, but I can't help with that."),
        output(8, "As an AI language model, I cannot do this."),
        output(9, "  \n"),
    ]
    data = compare(by_key(canonical), by_key(candidate), None).to_json()
    assert data["refusal_rate"] == {"canonical": 0.0, "candidate": 0.2}
    assert data["empty_rate"] == {"canonical": 0.0, "candidate": 0.1}
    assert data["length_ratio"]["p10"] is not None and data["json_valid_rate"] is None


def test_refusal_openings() -> None:
    for reply in (
        "I can't do that.",
        "Unfortunately, I cannot help.",
        "I\u2019m sorry, but no",
        "**I won't** share that",
        "Hello there! I am unable to comply.",
    ):
        assert is_refusal(reply), reply
    for reply in (
        "Sure! Here it is.",
        "The call cannot fail. I cannot stress this enough.",
        "Here is what I can't do in Python: nothing.",
        "",
    ):
        assert not is_refusal(reply), reply


def test_json_valid_rates_with_a_content_check() -> None:
    check = ContentCheck({"type": "object", "required": ["a"]})
    canonical = [output(i, '{"a": 1}') for i in range(4)]
    candidate = [
        output(0, '{"a": 2}'),
        output(1, '```json\n{"a": 3}\n```'),
        output(2, "{oops"),
        output(3, '{"b": 1}'),
    ]
    data = compare(by_key(canonical), by_key(candidate), check).to_json()
    assert data["json_valid_rate"] == {"canonical": 1.0, "candidate": 0.5}


def test_one_sided_prompts_and_failures_are_counted_and_left_out() -> None:
    canonical = [output(i, error="timeout" if i == 3 else None) for i in range(10)]
    candidate = [
        output(i, "changed" if i == 4 else None, error="http_5xx" if i == 4 else None)
        for i in range(2, 12)
    ]
    result = compare(by_key(canonical), by_key(candidate), None)
    data = result.to_json()
    assert data["only_in_canonical"] == 2 and data["only_in_candidate"] == 2
    assert data["failed"] == {"canonical": 1, "candidate": 1}
    assert data["compared"] == 6 and data["exact_match_rate"] == 1.0
    assert {"c003#1", "c004#1"}.isdisjoint(w["key"] for w in data["worst"])
    assert data["canonical"]["prompts"] == 10 and data["canonical"]["answered"] == 9


def test_prompt_token_ratio_needs_both_sides() -> None:
    canonical = [output(i, prompt_tokens=None) for i in range(3)]
    data = compare(by_key(canonical), by_key([output(i) for i in range(3)]), None).to_json()
    assert data["prompt_tokens_ratio"] is None
    assert data["local_estimate"]["canonical_prompt_per_estimate"] is None
    assert data["local_estimate"]["candidate_prompt_per_estimate"] == 1.0  # 20 tokens / 80 chars


def test_different_datasets_or_no_snapshot_are_refused(tmp_path: Path) -> None:
    a = snapshot(tmp_path / "a", [output(0)], sha="aa" * 32)
    b = snapshot(tmp_path / "b", [output(0)], sha="bb" * 32)
    with pytest.raises(ValueError, match="different datasets"):
        run_diff(a, b, tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not a snapshot"):
        run_diff(a, tmp_path / "empty", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_page_marks_word_changes_and_escapes_outputs(tmp_path: Path) -> None:
    canonical = [output(i) for i in range(5)]
    candidate = [output(i) for i in range(4)]
    candidate.append(output(4, "Answer 4: the slow brown fox <script>alert(1)</script> jumps."))
    data = diff_json(tmp_path, canonical, candidate, worst=3)
    assert data["worst"][0]["key"] == "c004#1" and len(data["worst"]) == 3
    html = (tmp_path / "out" / "diff.html").read_text(encoding="utf-8")
    assert "c004#1" in html and "<ins>" in html and "<del>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "data:image/png;base64," in html and "Not deterministic: 1 of 5" in html


def test_word_diff_keeps_whitespace_and_marks_words() -> None:
    ops = word_diff("the quick fox\njumps", "the slow fox\njumps high")
    assert ops[0] == ("equal", "the ", "the ") and ops[1] == ("replace", "quick ", "slow ")
    assert ops[-1] == ("insert", "", "high")


def test_empty_snapshots_render_a_message(tmp_path: Path) -> None:
    data = diff_json(tmp_path, [], [])
    assert data["compared"] == 0 and data["exact_match_rate"] is None
    assert data["deterministic"] is False and data["edit_distance"]["mean"] is None
    html = (tmp_path / "out" / "diff.html").read_text(encoding="utf-8")
    assert "Nothing to compare" in html and "No prompt was compared" in html
    assert read_outputs(tmp_path / "a") == {}
