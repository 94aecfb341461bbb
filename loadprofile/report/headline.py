"""The figures the report opens with, per model: read once from summary.json and gate.json.

A capacity planner reads these first (latency tails, errors, throughput, cost, drift, the
gate's verdict), so they are typed here once, and both the sentences (``answer``) and the
side-by-side table below them are made from the same values. Absent figures stay None:
a run without prices, baseline or gate simply has no such row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loadprofile.contract import summary as summary_model
from loadprofile.contract.summary import Correctness, ModelCost, Summary, given

Json = Mapping[str, Any]


@dataclass(frozen=True)
class Latency:
    """One metric's percentiles (ms) and how many requests they come from."""

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    count: int = 0


@dataclass(frozen=True)
class ModelGate:
    """The gate's word on one model: every bound it broke, as written in the SLO file."""

    passed: bool
    broken: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelFigures:
    model: str
    requests: int = 0
    failures: int = 0
    #: (error class, count), most frequent first.
    errors: tuple[tuple[str, int], ...] = ()
    ttft: Latency = Latency()
    e2e: Latency = Latency()
    requests_per_s: float | None = None
    output_tokens_per_s: float | None = None
    cost_per_transaction: float | None = None  # mean over finished transactions
    cost_per_1k_successful: float | None = None
    drift_exact_match: float | None = None  # share of sampled replies equal to the baseline's
    drift_edit_distance: float | None = None
    gate: ModelGate | None = None  # None: the gate said nothing about this model

    @property
    def error_rate(self) -> float | None:
        return self.failures / self.requests if self.requests else None


@dataclass(frozen=True)
class GateOutcome:
    passed: bool
    source: str
    #: (model, bound) of every broken bound; model "-" for a bound on the run as a whole.
    broken: tuple[tuple[str, str], ...] = ()
    #: The run was partial and the SLO file does not allow that (a failure without a bound).
    partial: bool = False


@dataclass(frozen=True)
class Headline:
    models: tuple[ModelFigures, ...]
    gate: GateOutcome | None = None
    unit: str = "conversation"  # what one transaction is (cost)


def headline(models: Sequence[str], summary: Summary, gate: Json | None) -> Headline:
    """The figures of ``models`` (report order) from summary.json and the gate's record
    (``decision.gate_section``'s dict, None when the run was never gated)."""
    cost = summary.cost or {}
    outcome = gate_outcome(gate) if gate else None
    figures = tuple(
        _figures(
            m,
            summary.models.get(m),
            cost.get(m),
            summary.correctness.get(m),
            _model_gate(m, gate) if gate else None,
        )
        for m in models
    )
    unit = next((c.transaction_unit for c in cost.values() if c.transaction_unit), "conversation")
    return Headline(figures, outcome, unit)


def _figures(
    model: str,
    entry: summary_model.ModelFigures | None,
    cost: ModelCost | None,
    correctness: Correctness | None,
    gate: ModelGate | None,
) -> ModelFigures:
    drift = given(correctness.drift) if correctness is not None else None
    compared = drift is not None and drift.compared > 0
    if entry is None:
        return ModelFigures(
            model=model,
            cost_per_transaction=cost.per_transaction.mean if cost else None,
            cost_per_1k_successful=cost.per_1k_successful_transactions if cost else None,
            drift_exact_match=drift.exact_match_rate if drift and compared else None,
            drift_edit_distance=drift.edit_distance_mean if drift and compared else None,
            gate=gate,
        )
    errors = sorted(((k, n) for k, n in entry.errors.items() if n), key=lambda kv: (-kv[1], kv[0]))
    return ModelFigures(
        model=model,
        requests=entry.requests,
        failures=entry.failures,
        errors=tuple(errors),
        ttft=_latency(entry.ttft_ms),
        e2e=_latency(entry.e2e_ms),
        requests_per_s=entry.requests_per_s,
        output_tokens_per_s=entry.output_tokens_per_s,
        cost_per_transaction=cost.per_transaction.mean if cost else None,
        cost_per_1k_successful=cost.per_1k_successful_transactions if cost else None,
        drift_exact_match=drift.exact_match_rate if drift and compared else None,
        drift_edit_distance=drift.edit_distance_mean if drift and compared else None,
        gate=gate,
    )


def gate_outcome(gate: Json) -> GateOutcome:
    broken = tuple(
        (str(v.get("model") or "-"), str(v.get("bound") or "?"))
        for v in _verdicts(gate)
        if not v.get("passed")
    )
    return GateOutcome(
        bool(gate.get("passed")), str(gate.get("slo") or ""), broken, bool(gate.get("partial"))
    )


def _model_gate(model: str, gate: Json) -> ModelGate | None:
    mine = [v for v in _verdicts(gate) if v.get("model") == model]
    if not mine:
        return None
    broken = tuple(str(v.get("bound") or "?") for v in mine if not v.get("passed"))
    return ModelGate(not broken, broken)


def _verdicts(gate: Json) -> list[Json]:
    found = gate.get("verdicts")
    return [v for v in found if isinstance(v, Mapping)] if isinstance(found, list) else []


def _latency(found: summary_model.Latency) -> Latency:
    return Latency(found.p50, found.p95, found.p99, found.count)
