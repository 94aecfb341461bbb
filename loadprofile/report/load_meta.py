"""The words about how load was applied: shape, arrivals, SLOs, goodput, timing, recovery.

Everything reads run.json's "load" (contract.summary.LoadSettings) and summary.json's
top-level figures: older run folders have none of the shape, arrival, SLO or phase keys
(None, UNSET), and must still render.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from loadprofile.contract.summary import (
    GeneratorHealth,
    LoadSettings,
    PhaseFigures,
    Stability,
    Summary,
    given,
)
from loadprofile.core.phases import RECOVERY_FACTOR, RECOVERY_HOLD_INTERVALS
from loadprofile.report.details import load_settings
from loadprofile.report.meta import KeyValues, show

#: run.json "load" keys that say nothing unless the shape (or open loop) uses them.
_SHAPE_KEYS = {
    "step": ("base_users", "steps", "step_time_s"),
    "spike": ("base_users", "spike_users", "spike_at_s", "spike_for_s"),
    "stages": ("stages",),
}
_OPEN_LOOP_KEYS = ("rate", "arrival", "gamma_shape", "rate_unit")
_OPTIONAL_KEYS = ("pace_s", "slo_ttft_ms", "slo_tpot_ms", "slo_ttft_p99_ms")


def is_open_loop(load: LoadSettings | None) -> bool:
    return load is not None and load.rate is not None


def is_paced(load: LoadSettings | None) -> bool:
    return load is not None and load.pace_s is not None and load.pace_s > 0


def shape_of(load: LoadSettings | None) -> str:
    return (load.shape if load is not None else None) or "steady"


def arrival_text(load: LoadSettings) -> str:
    """'poisson', 'gamma (shape k = 0.5, burstier than Poisson)', 'constant'."""
    arrival = load.arrival or "poisson"
    if arrival != "gamma":
        return arrival
    k = load.gamma_shape
    if k is None:
        return "gamma"
    burst = "burstier than" if k < 1 else "smoother than" if k > 1 else "same as"
    return f"gamma (shape k = {k:g}, {burst} Poisson)"


def load_rows(load: LoadSettings | None, generator: GeneratorHealth | None) -> KeyValues:
    """The load block of the header: the headline first (shape, rate, pool, SLOs), then the
    other settings, leaving out those the run's shape and loop do not use."""
    if load is None:
        return []
    stats = generator or GeneratorHealth()
    rows: KeyValues = [("shape", shape_of(load))]
    if is_open_loop(load):
        unit = load.rate_unit or "requests"
        rows += [
            ("loop", "open (arrivals follow a schedule, whatever the server does)"),
            ("arrival rate", f"{show(load.rate)} {unit}/s"),
            ("arrival process", arrival_text(load)),
            ("rate unit", unit),
            ("user pool", f"{show(load.users)} users (the most requests in flight)"),
            ("late starts", show(given(stats.late_starts))),
            ("starts without a free user", show(given(stats.starts_without_free_user))),
        ]
        if stats.arrivals_not_sent is not None:  # newer runs: due before the end, never sent
            rows.append(("arrivals never sent", show(stats.arrivals_not_sent)))
    elif is_paced(load):
        rows.append(
            ("loop", f"closed, paced: each user starts a request every {show(load.pace_s)} s")
        )
    rows.append(("prompt prefixes", prefix_mode(load)))
    settings: dict[str, object] = msgspec.to_builtins(load)
    skip = {"shape", "rate", "arrival", "rate_unit", "unique_prefix", *_unused_keys(load)}
    if is_open_loop(load):
        skip.add("users")  # shown as the pool
    return rows + load_settings(settings, skip)


def stability_rows(stability: Stability | None) -> KeyValues:
    """--until-stable: why the run ended, and the warm-up its figures leave out."""
    if stability is None:
        return []
    checked = ", ".join(stability.metrics) or "the gated percentiles"
    bound = f"{checked} within ±{show(stability.ci_pct)} % (95 % interval)"
    if stability.stopped_because == "stable" and stability.stable_after_s is not None:
        ended = f"stable after {show(round(stability.stable_after_s))} s: {bound}"
    else:
        ended = f"ended by {stability.stopped_because or 'the run'} before {bound}"
    rows: KeyValues = [("until stable", ended)]
    if stability.warmup_s:
        rows.append(
            (
                "warm-up",
                f"the first {show(stability.warmup_s)} s are left out of the figures "
                "(phase 'warm-up')",
            )
        )
    return rows


def _unused_keys(load: LoadSettings) -> set[str]:
    shape = shape_of(load)
    unused = {k for s, keys in _SHAPE_KEYS.items() if s != shape for k in keys}
    unused -= set(_SHAPE_KEYS.get(shape, ()))
    if not is_open_loop(load):
        unused |= set(_OPEN_LOOP_KEYS)
    optional = {
        "pace_s": load.pace_s,
        "slo_ttft_ms": load.slo_ttft_ms,
        "slo_tpot_ms": load.slo_tpot_ms,
        "slo_ttft_p99_ms": load.slo_ttft_p99_ms,
    }
    unused |= {k for k, v in optional.items() if v is None}
    return unused


def prefix_mode(load: LoadSettings | None) -> str:
    """Which prefix-cache mode the run used (``--unique-prefix``), in words."""
    if load is not None and load.unique_prefix:
        if is_open_loop(load) and (load.rate_unit or "requests") == "requests":
            return (
                "unique per request (--unique-prefix, open loop by requests): cold "
                "prefill for every request"
            )
        return (
            "unique per conversation (--unique-prefix): cold prefill; only a "
            "conversation's own earlier turns can be served from a prefix cache"
        )
    return (
        "as recorded: prompts that start alike (a shared system prompt, a replayed "
        "conversation) may be served from the server's prefix cache"
    )


def goodput_text(load: LoadSettings | None) -> str:
    """Which per-request SLOs goodput used, in words."""
    load = load or LoadSettings()
    bounds = []
    if load.slo_ttft_ms is not None:
        bounds.append(f"TTFT ≤ {load.slo_ttft_ms:g} ms")
    if load.slo_tpot_ms is not None:
        bounds.append(f"TPOT ≤ {load.slo_tpot_ms:g} ms")
    if not bounds:
        return (
            "No per-request SLO was set (--slo-ttft-ms, --slo-tpot-ms), so goodput counts "
            "every successful request."
        )
    felt = " (TTFT from the scheduled start)" if is_open_loop(load) else ""
    return (
        f"Goodput counts the successful requests with {' and '.join(bounds)}{felt}; "
        "good share = good requests / all requests."
    )


def timing_notes(load: LoadSettings | None, differs: bool) -> list[str]:
    """What the scheduled and the service figures each mean, when the run has both."""
    notes = []
    if is_open_loop(load):
        notes.append(
            "Open-loop run: ttft_ms and e2e_ms run from each request's scheduled start, so a "
            "request the generator or a full user pool sent late counts its wait, as a user "
            "would feel it; this defeats coordinated omission. The '· service' figures "
            "(ttft_service_ms, e2e_service_ms) run from the actual send: the server's own time."
        )
    if is_paced(load):
        notes.append(
            f"Paced run (one request per user every {show(load.pace_s if load else None)} s): "
            "ttft_ms and e2e_ms carry HdrHistogram's expected-interval correction (interval = "
            "the pace), which adds the requests a slow reply kept from being sent; the "
            "'· service' figures are the raw measurements."
        )
    if differs and not notes:
        notes.append(
            "The '· service' figures run from the actual send; the plain ones from "
            "the scheduled start."
        )
    return notes


RECOVERY_RULE = (
    f"Recovery: seconds from the end of the burst until the model's TTFT p99 per second is "
    f"back within {100 * (RECOVERY_FACTOR - 1):.0f} % of its p99 in the 'before' phase and "
    f"stays there for {RECOVERY_HOLD_INTERVALS} intervals in a row."
)


@dataclass(frozen=True)
class Recovery:
    model: str
    text: str
    recovered: bool


def recovery(models: list[str], summary: Summary, phases: Sequence[PhaseFigures]) -> list[Recovery]:
    """One line per model from summary.json's "recovery_s" (spike runs); [] without it."""
    found = given(summary.recovery_s)
    if found is None:
        return []
    before = next((p for p in phases if p.name == "before"), None)
    out = []
    for model in models:
        seconds = found.get(model)
        if seconds is not None:
            out.append(Recovery(model, f"recovered {seconds:.1f} s after the burst", True))
            continue
        figures = before.models.get(model) if before is not None else None
        p99 = figures.ttft_ms.p99 if figures is not None else None
        why = (
            f"TTFT p99 never came back within {100 * (RECOVERY_FACTOR - 1):.0f} % of "
            f"{p99:g} ms ('before') for long enough"
            if p99 is not None
            else "no TTFT p99 in the 'before' phase to compare with"
        )
        out.append(Recovery(model, f"not recovered: {why}", False))
    return out


def capacity_text(
    summary: Summary,
    load: LoadSettings | None,
    models: list[str],
    top_users: dict[str, int],
) -> list[str]:
    """Each model's highest concurrency within the step SLO (summary.json), in words."""
    found = given(summary.max_concurrency_within_slo)
    slo = load.slo_ttft_p99_ms if load is not None else None
    if found is None or slo is None:
        return []
    lines = []
    for model in models:
        users = found.get(model)
        if users is None:
            continue
        if users == 0:
            lines.append(f"{model}: even the first step broke TTFT p99 ≤ {slo:g} ms.")
        elif users >= top_users.get(model, users + 1):
            lines.append(
                f"{model}: {users} users, the highest step tried, stayed within "
                f"TTFT p99 ≤ {slo:g} ms (its limit may be higher)."
            )
        else:
            lines.append(f"{model}: {users} users within TTFT p99 ≤ {slo:g} ms.")
    return lines
