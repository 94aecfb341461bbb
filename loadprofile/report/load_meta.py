"""The words about how load was applied: shape, arrivals, SLOs, goodput, timing, recovery.

Everything reads run.json's "load" and summary.json's top-level keys with ``.get``: older
run folders have none of the shape, arrival, SLO or phase keys, and must still render.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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


def is_open_loop(load: Mapping[str, Any]) -> bool:
    return isinstance(load.get("rate"), int | float) and not isinstance(load.get("rate"), bool)


def is_paced(load: Mapping[str, Any]) -> bool:
    pace = load.get("pace_s")
    return isinstance(pace, int | float) and pace > 0


def shape_of(load: Mapping[str, Any]) -> str:
    return str(load.get("shape") or "steady")


def arrival_text(load: Mapping[str, Any]) -> str:
    """'poisson', 'gamma (shape k = 0.5, burstier than Poisson)', 'constant'."""
    arrival = str(load.get("arrival") or "poisson")
    if arrival != "gamma":
        return arrival
    k = load.get("gamma_shape")
    if not isinstance(k, int | float):
        return "gamma"
    burst = "burstier than" if k < 1 else "smoother than" if k > 1 else "same as"
    return f"gamma (shape k = {k:g}, {burst} Poisson)"


def load_rows(load: Any, generator: Any) -> KeyValues:
    """The load block of the header: the headline first (shape, rate, pool, SLOs), then the
    other settings, leaving out those the run's shape and loop do not use."""
    if not isinstance(load, Mapping):
        return []
    stats = generator if isinstance(generator, Mapping) else {}
    rows: KeyValues = [("shape", shape_of(load))]
    if is_open_loop(load):
        unit = str(load.get("rate_unit") or "requests")
        rows += [
            ("loop", "open (arrivals follow a schedule, whatever the server does)"),
            ("arrival rate", f"{show(load.get('rate'))} {unit}/s"),
            ("arrival process", arrival_text(load)),
            ("rate unit", unit),
            ("user pool", f"{show(load.get('users'))} users (the most requests in flight)"),
            ("late starts", show(stats.get("late_starts"))),
            ("starts without a free user", show(stats.get("starts_without_free_user"))),
        ]
        if "arrivals_not_sent" in stats:  # newer runs: due before the end, never sent
            rows.append(("arrivals never sent", show(stats.get("arrivals_not_sent"))))
    elif is_paced(load):
        rows.append(
            (
                "loop",
                f"closed, paced: each user starts a request every {show(load.get('pace_s'))} s",
            )
        )
    rows.append(("prompt prefixes", prefix_mode(load)))
    skip = {"shape", "rate", "arrival", "rate_unit", "unique_prefix", *_unused_keys(load)}
    if is_open_loop(load):
        skip.add("users")  # shown as the pool
    return rows + load_settings(load, skip)


def _unused_keys(load: Mapping[str, Any]) -> set[str]:
    shape = shape_of(load)
    unused = {k for s, keys in _SHAPE_KEYS.items() if s != shape for k in keys}
    unused -= set(_SHAPE_KEYS.get(shape, ()))
    if not is_open_loop(load):
        unused |= set(_OPEN_LOOP_KEYS)
    unused |= {k for k in _OPTIONAL_KEYS if load.get(k) is None}
    return unused


def prefix_mode(load: Mapping[str, Any]) -> str:
    """Which prefix-cache mode the run used (``--unique-prefix``), in words."""
    if load.get("unique_prefix"):
        if is_open_loop(load) and (load.get("rate_unit") or "requests") == "requests":
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


def goodput_text(load: Mapping[str, Any]) -> str:
    """Which per-request SLOs goodput used, in words."""
    bounds = []
    if isinstance(load.get("slo_ttft_ms"), int | float):
        bounds.append(f"TTFT ≤ {load['slo_ttft_ms']:g} ms")
    if isinstance(load.get("slo_tpot_ms"), int | float):
        bounds.append(f"TPOT ≤ {load['slo_tpot_ms']:g} ms")
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


def timing_notes(load: Mapping[str, Any], differs: bool) -> list[str]:
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
            f"Paced run (one request per user every {show(load.get('pace_s'))} s): ttft_ms and "
            "e2e_ms carry HdrHistogram's expected-interval correction (interval = the pace), "
            "which adds the requests a slow reply kept from being sent; the '· service' figures "
            "are the raw measurements."
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


def recovery(
    models: list[str], summary: Mapping[str, Any], phases: Sequence[Mapping[str, Any]]
) -> list[Recovery]:
    """One line per model from summary.json's "recovery_s" (spike runs); [] without it."""
    found = summary.get("recovery_s")
    if not isinstance(found, Mapping):
        return []
    before = next((p for p in phases if p.get("name") == "before"), {})
    out = []
    for model in models:
        seconds = found.get(model)
        if isinstance(seconds, int | float):
            out.append(Recovery(model, f"recovered {seconds:.1f} s after the burst", True))
            continue
        base = ((before.get("models") or {}).get(model) or {}).get("ttft_ms") or {}
        why = (
            f"TTFT p99 never came back within {100 * (RECOVERY_FACTOR - 1):.0f} % of "
            f"{base['p99']:g} ms ('before') for long enough"
            if base.get("p99") is not None
            else "no TTFT p99 in the 'before' phase to compare with"
        )
        out.append(Recovery(model, f"not recovered: {why}", False))
    return out


def capacity_text(
    summary: Mapping[str, Any],
    load: Mapping[str, Any],
    models: list[str],
    top_users: Mapping[str, int],
) -> list[str]:
    """Each model's highest concurrency within the step SLO (summary.json), in words."""
    found = summary.get("max_concurrency_within_slo")
    slo = load.get("slo_ttft_p99_ms")
    if not isinstance(found, Mapping) or not isinstance(slo, int | float):
        return []
    lines = []
    for model in models:
        users = found.get(model)
        if not isinstance(users, int):
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
