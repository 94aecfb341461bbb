"""The report's first words: the differences between the models that matter, in sentences.

Pure: every sentence is made from the headline figures (ratios of p99s, failure counts,
cost ratios, the gate's verdict), never written per run. Latency first (the slower model
named against the faster one), failures in the same sentence, then cost, drift and the
gate's verdict when the run has them. One model is described, not compared. A p99 from few
requests is said to be one (``caveat``), apart from the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from loadprofile.report.decision import fmt_usd
from loadprofile.report.headline import GateOutcome, Headline, Latency, ModelFigures
from loadprofile.report.tables import fmt_share

#: Two figures within this ratio are "about the same": a p99 moves that much between two
#: runs of one model, so a smaller gap is no difference worth a sentence.
SAME_WITHIN = 1.1
#: Below this many requests a p99 is about the slowest request, and the sentence says so.
FEW_REQUESTS = 100
#: More broken bounds than this are counted, not listed.
BOUNDS_LISTED = 3


def answer(head: Headline) -> list[str]:
    """A few sentences; [] only when the run lists no model at all."""
    measured = [m for m in head.models if m.requests]
    idle = [m.model for m in head.models if not m.requests]
    out: list[str] = []
    if len(measured) == 1:
        out.append(_sentence(_one_model(measured[0])))
    elif measured:
        out.append(_sentence(_comparison(measured)))
    elif head.models:
        out.append("No request was measured in this run.")
    if idle:
        out.append(_sentence(f"{_join(idle)} got no request"))
    more = [s for s in (_cost(measured, head.unit), _drift(measured)) if s]
    if more:
        out.append(_sentence("; ".join(more), capitalise=True))
    if head.gate is not None:
        out.append(_gate(head.gate))
    return out


def fmt_ms_words(value: float) -> str:
    """Milliseconds in prose: three significant digits (50.2, 168, 7,934)."""
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if size >= 10 else f"{value:.2f}"


def fmt_times(ratio: float) -> str:
    """12×, 3.4×, 1.1×."""
    return f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def _one_model(m: ModelFigures) -> str:
    if m.ttft.p99 is None:
        return f"{m.model}: {_failures_of_one(m)}, so no latency was measured"
    latency = f"{m.model}: TTFT p50 {_ms(m.ttft.p50)} and p99 {_ms(m.ttft.p99)}"
    if m.e2e.p99 is not None:
        latency += f", E2E p50 {_ms(m.e2e.p50)} and p99 {_ms(m.e2e.p99)}"
    return f"{latency}; {_failures_of_one(m)}"


def _failures_of_one(m: ModelFigures) -> str:
    if not m.failures:
        return f"none of its {m.requests:,} requests failed"
    return f"{m.failures:,} of its {m.requests:,} requests failed ({_rate_and_cause(m)})"


def _comparison(ms: list[ModelFigures]) -> str:
    timed = [m for m in ms if m.ttft.p99 is not None]
    if len(timed) == 1:
        only = timed[0]
        latency = f"Only {only.model} has latency figures (TTFT p99 {_ms(only.ttft.p99)})"
    elif timed:
        latency = _latency_gaps(timed)
    else:
        latency = "No model has latency figures"
    return f"{latency}; {_failures(ms)}"


def _latency_gaps(ms: list[ModelFigures]) -> str:
    """TTFT p99 from the slowest to the fastest model, then E2E p99 (its own pair when
    another model is the slowest or the fastest there)."""
    words = _gap(ms, "TTFT p99", lambda m: m.ttft)
    e2e = [m for m in ms if m.e2e.p99 is not None]
    if len(e2e) > 1:
        ttft_pair = _extremes(ms, lambda m: m.ttft)
        e2e_pair = _extremes(e2e, lambda m: m.e2e)
        slow, fast = e2e_pair
        ratio = _ratio(slow.e2e, fast.e2e)
        if ratio >= SAME_WITHIN and e2e_pair == ttft_pair:
            words += (
                f", and its E2E p99 {fmt_times(ratio)} "
                f"({_ms(slow.e2e.p99, unit=False)} against {_ms(fast.e2e.p99)})"
            )
        else:
            words += ", while " + _gap(e2e, "E2E p99", lambda m: m.e2e)
    return words


def caveat(head: Headline) -> str:
    """A p99 of fewer than FEW_REQUESTS requests is about their slowest: said under the
    answer, not hidden ("" when every model has enough)."""
    timed = [m for m in head.models if m.requests and m.ttft.p99 is not None]
    if not timed or min(m.ttft.count for m in timed) >= FEW_REQUESTS:
        return ""
    if len(timed) == 1:
        return (
            f"Only {timed[0].ttft.count:,} requests were timed, so p99 is about the "
            "slowest of them."
        )
    if len(timed) == 2:
        (a, b) = timed
        few = f"{a.ttft.count:,} requests of {a.model} and {b.ttft.count:,} of {b.model}"
    else:
        few = f"as few as {min(m.ttft.count for m in timed):,} requests of a model"
    return f"Only {few} were timed, so each p99 is about the slowest of them."


def _gap(ms: list[ModelFigures], label: str, pick: Callable[[ModelFigures], Latency]) -> str:
    slow, fast = _extremes(ms, pick)
    ratio = _ratio(pick(slow), pick(fast))
    if ratio < SAME_WITHIN:
        low, high = _ms(pick(fast).p99, unit=False), _ms(pick(slow).p99)
        return f"{label} is about the same for {_every(ms)} ({low}–{high})"
    figures = f"({_ms(pick(slow).p99, unit=False)} against {_ms(pick(fast).p99)})"
    if len(ms) == 2:
        return f"{slow.model}'s {label} is {fmt_times(ratio)} {fast.model}'s {figures}"
    return (
        f"{slow.model}'s {label} is the highest, {fmt_times(ratio)} that of "
        f"{fast.model}, the lowest {figures}"
    )


def _extremes(
    ms: list[ModelFigures], pick: Callable[[ModelFigures], Latency]
) -> tuple[ModelFigures, ModelFigures]:
    """(slowest, fastest) by the p99 of ``pick``; ties keep the report's order."""
    ordered = sorted(ms, key=lambda m: pick(m).p99 or 0.0)
    return ordered[-1], ordered[0]


def _ratio(slow: Latency, fast: Latency) -> float:
    if not slow.p99 or not fast.p99:
        return 1.0
    return slow.p99 / fast.p99


def _failures(ms: list[ModelFigures]) -> str:
    failed = sorted((m for m in ms if m.failures), key=lambda m: -(m.error_rate or 0.0))
    if not failed:
        return "neither failed a request" if len(ms) == 2 else "none of them failed a request"
    parts = [
        f"{m.model} failed {m.failures:,} of {m.requests:,} requests ({_rate_and_cause(m)})"
        for m in failed
    ]
    clean = [m.model for m in ms if not m.failures]
    if clean:
        parts.append(f"{_join(clean)} none")
    return ", ".join(parts)


def _rate_and_cause(m: ModelFigures) -> str:
    rate = _pct(m.error_rate)
    if not m.errors:
        return rate
    cls, n = m.errors[0]
    if n == m.failures:
        return f"{rate}, all {cls}"
    return f"{rate}, mostly {cls}" if 2 * n > m.failures else f"{rate}, most often {cls}"


def _cost(ms: list[ModelFigures], unit: str) -> str:
    """Cost per successful transaction: what a finished, working conversation costs,
    failures and retries included (a cheap model that fails often is not cheap)."""
    priced = [m for m in ms if m.cost_per_1k_successful is not None]
    if not priced:
        return ""
    each = {m.model: (m.cost_per_1k_successful or 0.0) / 1000.0 for m in priced}
    if len(priced) == 1:
        return f"a successful {unit} with {priced[0].model} costs {fmt_usd(each[priced[0].model])}"
    ordered = sorted(priced, key=lambda m: each[m.model])
    cheap, dear = ordered[0], ordered[-1]
    if not each[cheap.model] or each[dear.model] / each[cheap.model] < SAME_WITHIN:
        values = ", ".join(f"{fmt_usd(each[m.model])} for {m.model}" for m in priced)
        return f"a successful {unit} costs about the same ({values})"
    ratio = each[dear.model] / each[cheap.model]
    return (
        f"per successful {unit}, {dear.model} costs {fmt_times(ratio)} as much as "
        f"{cheap.model} ({fmt_usd(each[dear.model])} against {fmt_usd(each[cheap.model])})"
    )


def _drift(ms: list[ModelFigures]) -> str:
    """--sample-outputs with --baseline: how many replies under load still equal the ones
    the model gave when calm."""
    checked = sorted(
        (m for m in ms if m.drift_exact_match is not None), key=lambda m: m.drift_exact_match or 0.0
    )
    if not checked:
        return ""
    shares = ", ".join(f"{_pct(m.drift_exact_match)} with {m.model}" for m in checked)
    return f"under load, sampled replies equalled the calm baseline's for {shares}"


def _gate(gate: GateOutcome) -> str:
    source = f" ({gate.source})" if gate.source else ""
    if gate.passed:
        return f"The gate passed{source}: every bound held."
    if not gate.broken:
        return f"The gate failed{source}: the run was partial, which its SLO file does not allow."
    if len(gate.broken) > BOUNDS_LISTED:
        models = sorted({m for m, _ in gate.broken if m != "-"})
        return (
            f"The gate failed{source}: {len(gate.broken)} bounds broken"
            + (f" ({_join(models)})" if models else "")
            + "."
        )
    by_model: dict[str, list[str]] = {}
    for model, bound in gate.broken:
        by_model.setdefault(model, []).append(bound)
    parts = [f"{'the run' if m == '-' else m} broke {_join(b)}" for m, b in by_model.items()]
    return f"The gate failed{source}: {'; '.join(parts)}."


def _pct(share: float | None) -> str:
    """The tables' percentages, but a whole 100 % in prose."""
    text = fmt_share(share)
    return "100 %" if text == "100.0 %" else text


def _ms(value: float | None, unit: bool = True) -> str:
    if value is None:
        return "–"
    return fmt_ms_words(value) + (" ms" if unit else "")


def _every(ms: Sequence[ModelFigures]) -> str:
    return "both" if len(ms) == 2 else f"all {len(ms)}"


def _join(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _sentence(text: str, capitalise: bool = False) -> str:
    """A clause as a sentence, with a full stop. Clauses that open with a model's name keep
    it as written ('llama-3' stays lower case); ``capitalise`` is for the others."""
    text = text.strip()
    if capitalise and text:
        text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."
