"""The report's opening sentences: made from the figures, for one, two and more models."""

from __future__ import annotations

from typing import Any

from loadprofile.report.answer import answer, caveat, fmt_ms_words, fmt_times
from loadprofile.report.answer_table import answer_table
from loadprofile.report.headline import (
    GateOutcome,
    Headline,
    Latency,
    ModelFigures,
    ModelGate,
    headline,
)
from tests.models import summary_of


def model(
    name: str,
    ttft99: float | None,
    e2e99: float | None = None,
    *,
    requests: int = 500,
    failures: int = 0,
    errors: tuple[tuple[str, int], ...] = (),
    count: int | None = None,
    **extra: Any,
) -> ModelFigures:
    timed = requests - failures if count is None else count
    ttft = Latency(None if ttft99 is None else ttft99 / 2, None, ttft99, timed if ttft99 else 0)
    e2e = Latency(None if e2e99 is None else e2e99 / 2, None, e2e99, timed if e2e99 else 0)
    return ModelFigures(name, requests, failures, errors, ttft, e2e, **extra)


def words(*models: ModelFigures, gate: GateOutcome | None = None) -> str:
    return " ".join(answer(Headline(models, gate)))


def test_two_models_name_the_slower_one_against_the_faster_and_say_neither_failed() -> None:
    text = words(model("mock-small", 50.0, 3000.0), model("mock-large", 600.0, 9000.0))
    assert text == (
        "mock-large's TTFT p99 is 12× mock-small's (600 against 50.0 ms), and its "
        "E2E p99 3.0× (9,000 against 3,000 ms); neither failed a request."
    )


def test_ratios_are_derived_not_fixed() -> None:
    text = words(model("a", 80.0, 1000.0), model("b", 200.0, 1000.0))
    assert "b's TTFT p99 is 2.5× a's (200 against 80.0 ms)" in text
    assert "E2E p99 is about the same for both (1,000–1,000 ms)" in text


def test_within_ten_percent_is_about_the_same() -> None:
    text = words(model("a", 100.0, 900.0), model("b", 105.0, 950.0))
    assert "TTFT p99 is about the same for both (100–105 ms)" in text
    assert "×" not in text


def test_e2e_names_its_own_slower_model_when_it_is_the_other_one() -> None:
    text = words(model("quick-start", 100.0, 8000.0), model("slow-start", 300.0, 2000.0))
    assert "slow-start's TTFT p99 is 3.0× quick-start's" in text
    assert "while quick-start's E2E p99 is 4.0× slow-start's (8,000 against 2,000 ms)" in text


def test_failures_are_counted_with_their_main_class() -> None:
    text = words(
        model(
            "a", 50.0, 500.0, requests=400, failures=12, errors=(("timeout", 10), ("http_5xx", 2))
        ),
        model("b", 60.0, 550.0, requests=380),
    )
    assert "a failed 12 of 400 requests (3.00 %, mostly timeout), b none" in text
    both = words(
        model("a", 50.0, requests=200, failures=2, errors=(("http_429", 2),)),
        model("b", 60.0, requests=100, failures=4, errors=(("connect", 2), ("timeout", 2))),
    )
    assert (
        "b failed 4 of 100 requests (4.00 %, most often connect), a failed 2 of 200 "
        "requests (1.00 %, all http_429)"
    ) in both


def test_one_model_is_described_not_compared() -> None:
    text = words(model("llama-3-8b", 420.0, 5000.0, requests=1200))
    assert text == (
        "llama-3-8b: TTFT p50 210 ms and p99 420 ms, E2E p50 2,500 ms and p99 "
        "5,000 ms; none of its 1,200 requests failed."
    )
    failing = words(model("m", 80.0, 900.0, requests=300, failures=3, errors=(("timeout", 3),)))
    assert "3 of its 300 requests failed (1.00 %, all timeout)" in failing
    dead = words(model("m", None, requests=20, failures=20, errors=(("connect", 20),)))
    assert dead == (
        "m: 20 of its 20 requests failed (100 %, all connect), so no latency was measured."
    )


def test_more_than_two_models_compare_the_extremes() -> None:
    text = words(model("a", 50.0, 900.0), model("b", 400.0, 1500.0), model("c", 90.0, 800.0))
    assert text.startswith(
        "b's TTFT p99 is the highest, 8.0× that of a, the lowest (400 against 50.0 ms)"
    )
    assert "none of them failed a request" in text


def test_thin_tails_are_said_apart_and_a_model_without_requests_is_named() -> None:
    models = (
        model("a", 50.0, 500.0, requests=40),
        model("b", 100.0, 900.0, requests=12),
        model("idle", None, requests=0),
    )
    assert caveat(Headline(models)) == (
        "Only 40 requests of a and 12 of b were timed, so each p99 is about the slowest of them."
    )
    assert "Only" not in words(*models)  # the answer itself stays the answer
    assert "idle got no request." in words(*models)
    assert caveat(Headline((model("a", 50.0, 500.0, requests=100),))) == ""
    assert caveat(Headline((model("a", 50.0, 500.0, requests=9),))) == (
        "Only 9 requests were timed, so p99 is about the slowest of them."
    )


def test_missing_cost_drift_and_gate_are_simply_omitted() -> None:
    text = words(model("a", 50.0, 500.0), model("b", 100.0, 900.0))
    for word in ("cost", "$", "baseline", "gate"):
        assert word not in text
    table = answer_table(Headline((model("a", 50.0), model("b", 100.0))))
    labels = [r.label for r in table.rows]
    assert not [label for label in labels if "cost" in label or "baseline" in label]
    assert "gate" not in labels


def test_cost_drift_and_gate_join_when_the_run_has_them() -> None:
    a = model(
        "a",
        50.0,
        500.0,
        cost_per_1k_successful=1.0,
        cost_per_transaction=0.001,
        drift_exact_match=1.0,
    )
    b = model(
        "b",
        60.0,
        520.0,
        cost_per_1k_successful=4.2,
        cost_per_transaction=0.004,
        drift_exact_match=0.8,
        gate=ModelGate(False, ("ttft_ms.p99 <= 55",)),
    )
    gate = GateOutcome(False, "slo.toml", (("b", "ttft_ms.p99 <= 55"),))
    sentences = answer(Headline((a, b), gate, "conversation"))
    assert sentences[1] == (
        "Per successful conversation, b costs 4.2× as much as a "
        "($0.0042 against $0.001); under load, sampled replies equalled "
        "the calm baseline's for 80.0 % with b, 100 % with a."
    )
    assert sentences[2] == "The gate failed (slo.toml): b broke ttft_ms.p99 <= 55."
    table = answer_table(Headline((a, b), gate, "conversation"))
    gate_row = next(r for r in table.rows if r.label == "gate")
    assert [c.text for c in gate_row.cells] == ["–", "FAILED: ttft_ms.p99 <= 55"]


def test_gate_sentences_for_a_pass_a_partial_run_and_many_broken_bounds() -> None:
    one = model("a", 50.0, 500.0)
    assert answer(Headline((one,), GateOutcome(True, "slo.toml")))[-1] == (
        "The gate passed (slo.toml): every bound held."
    )
    partial = answer(Headline((one,), GateOutcome(False, "slo.toml", partial=True)))[-1]
    assert partial == (
        "The gate failed (slo.toml): the run was partial, which its SLO file does not allow."
    )
    many = GateOutcome(False, "", tuple(("a", f"bound {i}") for i in range(5)))
    assert answer(Headline((one,), many))[-1] == "The gate failed: 5 bounds broken (a)."


def test_formats() -> None:
    assert [fmt_ms_words(v) for v in (4.567, 50.21, 168.4, 7934.2)] == [
        "4.57",
        "50.2",
        "168",
        "7,934",
    ]
    assert [fmt_times(r) for r in (1.14, 3.33, 12.4)] == ["1.1×", "3.3×", "12×"]


def test_headline_reads_summary_and_gate_records() -> None:
    summary = {
        "models": {
            "a": {
                "requests": 10,
                "failures": 2,
                "errors": {"timeout": 1, "connect": 1, "http_5xx": 0},
                "ttft_ms": {"p50": 40.0, "p95": 45.0, "p99": 49.0, "count": 8},
                "e2e_ms": {"p50": 400.0, "p99": 490.0, "count": 8},
                "requests_per_s": 2.0,
            },
            "b": {"requests": 0},
        },
        "cost": {
            "a": {
                "transaction_unit": "request",
                "per_1k_successful_transactions": 2.0,
                "per_transaction": {"mean": 0.0015},
            }
        },
        "correctness": {"a": {"drift": {"compared": 0, "exact_match_rate": None}}},
    }
    gate = {
        "passed": False,
        "slo": "s.toml",
        "partial": False,
        "verdicts": [
            {"model": "a", "bound": "x <= 1", "passed": False},
            {"model": "-", "bound": "the run has a model", "passed": True},
        ],
    }
    head = headline(["a", "b"], summary_of(summary), gate)
    a, b = head.models
    assert a.errors == (("connect", 1), ("timeout", 1))
    assert a.ttft == Latency(40.0, 45.0, 49.0, 8) and a.e2e.p95 is None
    assert a.cost_per_1k_successful == 2.0 and a.cost_per_transaction == 0.0015
    assert a.drift_exact_match is None  # nothing compared: no figure
    assert a.gate == ModelGate(False, ("x <= 1",)) and b.gate is None
    assert head.unit == "request" and head.gate == GateOutcome(False, "s.toml", (("a", "x <= 1"),))
    assert b.requests == 0 and b.error_rate is None
    assert headline(["a"], summary_of(summary), None).gate is None


def test_a_model_without_latency_and_a_single_priced_model() -> None:
    dead = model("dead", None, requests=10, failures=10, errors=(("connect", 10),))
    alive = model("a", 80.0, 700.0, requests=200, cost_per_1k_successful=1.5)
    sentences = answer(Headline((alive, dead), unit="conversation"))
    assert sentences[0] == (
        "Only a has latency figures (TTFT p99 80.0 ms); dead failed 10 of 10 "
        "requests (100 %, all connect), a none."
    )
    assert sentences[1] == "A successful conversation with a costs $0.0015."
