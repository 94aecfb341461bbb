"""The response contract beyond the stream: --content-schema, its counts, its examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadprofile.config.run_config import CliValues, resolve
from loadprofile.core.collector import Collector
from loadprofile.core.counts import Counts, count_usage
from loadprofile.core.results import ErrorClass, RequestResult
from loadprofile.core.summary import correctness_summary, token_summary
from loadprofile.errors import ConfigError
from loadprofile.quality.content_check import ContentCheck, extract
from loadprofile.rundir.reader import load_totals
from loadprofile.rundir.writer import RunWriter, contract_example, write_json
from tests.models import plain

SCHEMA = {
    "type": "object",
    "required": ["answer", "confidence"],
    "properties": {
        "answer": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
}


@pytest.mark.parametrize(
    ("text", "mode", "found"),
    [
        ('{"a": 1}', "auto", '{"a": 1}'),
        ('Sure:\n```json\n{"a": 1}\n```\nDone.', "auto", '{"a": 1}\n'),
        ("```\n[1]\n```", "auto", "[1]\n"),
        ('{"a": 1}', "fenced", None),
        ('```json\n{"a": 1}\n```', "raw", '```json\n{"a": 1}\n```'),
    ],
)
def test_where_the_json_is_taken_from(text: str, mode: str, found: str | None) -> None:
    assert extract(text, mode) == found


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"answer": "yes", "confidence": 0.9}', None),
        ('Here you are:\n```json\n{"answer": "yes", "confidence": 0.9}\n```', None),
        ('{"answer": "yes", "confidence": 0.9', "content is not JSON"),
        ('{"answer": "yes"}', "content breaks the schema at /: 'confidence' is a required"),
        ('{"answer": "yes", "confidence": 7}', "content breaks the schema at /confidence"),
    ],
)
def test_replies_against_the_schema(text: str, reason: str | None) -> None:
    got = ContentCheck(SCHEMA).violation(text)
    assert got is None if reason is None else (got is not None and got.startswith(reason))


def test_bad_schema_files_are_one_line_errors(tmp_path: Path) -> None:
    def refused(content: str | None, flag_extract: str | None = None) -> str:
        path = tmp_path / "s.json"
        if content is not None:
            path.write_text(content)
        with pytest.raises(ConfigError) as caught:
            resolve(CliValues(content_schema=str(path), content_extract=flag_extract))
        return str(caught.value)

    assert "cannot read it" in refused(None)
    assert "not JSON" in refused("{nope")
    assert "not a valid JSON Schema" in refused('{"type": "banana"}')
    assert "choose one of auto, fenced, raw" in refused(json.dumps(SCHEMA), "xml")
    with pytest.raises(ConfigError, match="goes with --content-schema"):
        resolve(CliValues(content_extract="raw"))
    (tmp_path / "ok.json").write_text(json.dumps(SCHEMA))
    config = resolve(CliValues(content_schema=str(tmp_path / "ok.json")))
    assert config.content.schema == SCHEMA and config.content.extract == "auto"
    assert config.to_json()["content_contract"]["extract"] == "auto"


def _result(
    i: int,
    *,
    error: ErrorClass | None = None,
    notes: tuple[str, ...] = (),
    json_valid: bool | None = None,
) -> RequestResult:
    r = RequestResult(
        "m",
        f"c{i}",
        1,
        1_790_000_000.0 + i,
        request_id=f"r{i}",
        status=200,
        ttft_ms=50.0,
        e2e_ms=90.0,
        output_tokens=5,
        content='{"x"',
        contract_notes=notes,
        json_valid=json_valid,
    )
    if error is not None:
        r.error_class, r.error = error, "content is not JSON: Expecting ':' delimiter"
    return r


def test_correctness_counts_survive_the_run_folder(tmp_path: Path) -> None:
    """Live counts and the ones rebuilt from requests.csv agree."""
    results = (
        [_result(i, json_valid=True, notes=("usage_missing",)) for i in range(6)]
        + [_result(6 + i, error=ErrorClass.CONTRACT, json_valid=False) for i in range(3)]
        + [_result(9, error=ErrorClass.TIMEOUT)]
    )
    collector = Collector(0)
    writer = RunWriter(tmp_path, 1_790_000_000.0)
    for r in results:
        collector.record(r)
        writer.add_request(r)
        if r.error_class == ErrorClass.CONTRACT:
            writer.add_contract_example(contract_example(r))
    writer.add_intervals(0.0, 1.0, collector.roll(1_000_000_000), {})
    writer.close()
    write_json(tmp_path / "run.json", {"models": ["m"], "histograms": writer.histogram_files})
    live = plain(correctness_summary(collector.totals["m"].counts))
    assert live["tokens"]["output_tokens_per_estimate"] == 5.0  # 5 tokens for 4 characters
    without_tokens = {k: v for k, v in live.items() if k != "tokens"}
    assert without_tokens == {
        "responses": 10,
        "contract_violations": 3,
        "contract_violation_rate": 0.3,
        "json_checked": 9,
        "json_valid_rate": round(6 / 9, 6),
        "notes": {"usage_missing": 6},
        "grounding": None,
    }
    assert plain(correctness_summary(load_totals(tmp_path)["m"].counts)) == live
    examples = [json.loads(line) for line in (tmp_path / "contract_examples.jsonl").open()]
    assert [e["request_id"] for e in examples] == ["r6", "r7", "r8"]
    assert examples[0]["error"].startswith("content is not JSON")


def test_examples_are_kept_up_to_the_limit_per_model(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path, 0.0)
    for i in range(30):
        writer.add_contract_example({"model": "a" if i % 3 else "b", "n": i})
    writer.close()
    lines = [json.loads(line) for line in (tmp_path / "contract_examples.jsonl").open()]
    per_model = {m: sum(e["model"] == m for e in lines) for m in ("a", "b")}
    assert per_model == {"a": 20, "b": 10}


def _usage_counts(
    prompt_tokens: int, prompt_chars: int, output_tokens: int, output_chars: int, requests: int = 10
) -> Counts:
    counts = Counts()
    for _ in range(requests):
        count_usage(counts, prompt_tokens, output_tokens, prompt_chars, output_chars)
    return counts


def test_tokenization_against_the_estimate_and_the_canonical_model() -> None:
    """A candidate counting 40 % more tokens for the same text shows as 1.4 x."""
    canonical = _usage_counts(100, 400, 50, 200)
    candidate = _usage_counts(140, 400, 70, 200)
    tokens = token_summary(candidate, canonical)
    assert tokens.prompt_tokens_vs_canonical == tokens.output_tokens_vs_canonical == 1.4
    assert tokens.prompt_tokens_per_request == 140 and tokens.usage_requests == 10
    assert tokens.prompt_tokens_per_estimate == 1.4  # 400 chars ~ 100 tokens locally
    assert token_summary(canonical, canonical).output_tokens_vs_canonical == 1.0
    nothing = token_summary(Counts(), canonical)
    assert nothing.prompt_tokens_per_request is None
    assert nothing.prompt_tokens_vs_canonical is None


def test_the_sampler_keeps_a_uniform_sample_of_successes_per_model() -> None:
    from loadprofile.quality.output_samples import OutputSampler

    sampler = OutputSampler(per_model=50, seed=3)
    for i in range(2000):
        sampler.offer(_result(i), t_s=i / 100, users=4)
    sampler.offer(_result(9999, error=ErrorClass.TIMEOUT), t_s=0.0, users=4)
    kept = sampler.samples()
    assert len(kept) == 50 and all(s["model"] == "m" for s in kept)
    times = [s["t_s"] for s in kept]  # uniform over 0-20 s: mean 10 (sd of the mean ~0.8)
    assert 7.0 < sum(times) / len(times) < 13.0 and max(times) > 15.0
    assert OutputSampler(per_model=0).samples() == []


def test_baseline_flags(tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "snapshot.json").write_text(json.dumps({"kind": "loadprofile-snapshot"}))
    one = resolve(CliValues(models=("a",), baseline=[str(snap)]))
    assert one.samples.per_model == 100 and one.samples.baselines == (("a", str(snap)),)
    for values, reason in [
        (CliValues(models=("a", "b"), baseline=[str(snap)]), "name the model"),
        (CliValues(models=("a",), baseline=[f"z={snap}"]), "no model z"),
        (CliValues(models=("a",), baseline=[str(tmp_path)]), "not a snapshot folder"),
        (CliValues(models=("a",), sample_outputs=0, baseline=[str(snap)]), "needs sampled"),
        (CliValues(sample_outputs=-1), "--sample-outputs -1"),
    ]:
        with pytest.raises(ConfigError, match=reason):
            resolve(values)
