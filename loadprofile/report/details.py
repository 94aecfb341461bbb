"""Run, load and dataset details for people: labelled values with units, never raw JSON.

run.json keeps settings under program names (``think_time_s: [1, 3]``) and the dataset's
shape as nested dicts; a reader wants "think time: 1–3 s" and "user message: median 51
characters". Known keys get a label and a unit; a key this version does not know still
shows, its name spelled out and its value flattened into words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from loadprofile.contract.run_meta import CharStats, DatasetStats, RunMeta, TurnStats
from loadprofile.report.meta import KeyValues, fmt_duration, is_unset, show

Fmt = Callable[[Any], str]


def readable(value: Any) -> str:
    """Any run.json value as words: a dict as 'key value, key value', a list joined."""
    if isinstance(value, Mapping):
        if not value:
            return "–"
        return ", ".join(f"{str(k).replace('_', ' ')} {readable(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(readable(v) for v in value) if value else "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return _num(value)
    return show(value)


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return show(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.6g}"


def _seconds(value: Any) -> str:
    return f"{_num(value)} s" if isinstance(value, int | float) else readable(value)


def _range_s(value: Any) -> str:
    """think_time_s: [1, 3] -> '1–3 s'; [0, 0] -> 'none'."""
    if isinstance(value, list | tuple) and len(value) == 2:
        low, high = value
        if not low and not high:
            return "none"
        return _seconds(low) if low == high else f"{_num(low)}–{_num(high)} s"
    return _seconds(value)


def _stages(value: Any) -> str:
    """[[load.stages]]: '60 s at 10 users; 30 s at 50 users (spawn 100/s)'."""
    if not isinstance(value, list) or not value:
        return "–"
    parts = []
    for stage in value:
        if not isinstance(stage, Mapping):
            parts.append(readable(stage))
            continue
        text = (
            f"{fmt_duration(stage.get('duration_s', stage.get('duration')))} at "
            f"{_num(stage.get('users'))} users"
        )
        if stage.get("spawn_rate"):
            text += f" (spawn {_num(stage['spawn_rate'])}/s)"
        parts.append(text)
    return "; ".join(parts)


_HISTORY = {
    "recorded": "recorded (the dataset's replies, the same prompts for every model)",
    "live": "live (each model's own replies)",
}

#: run.json "load" key -> (label, format), in the order they are shown.
LOAD_LABELS: dict[str, tuple[str, Fmt]] = {
    "users": ("users", _num),
    "spawn_rate": ("spawn rate", lambda v: f"{_num(v)} users/s"),
    "run_time_s": ("run time", fmt_duration),
    "think_time_s": ("think time", _range_s),
    "history": ("history", lambda v: _HISTORY.get(str(v), readable(v))),
    "max_tokens": ("max tokens", lambda v: f"{_num(v)} per request (a turn's own wins)"),
    "timeout_s": ("request timeout", _seconds),
    "stop_timeout_s": ("stop timeout", _seconds),
    "interval_s": ("histogram interval", _seconds),
    "seed": ("seed", _num),
    "base_users": ("base users", _num),
    "steps": ("steps", lambda v: f"{readable(v)} × base users"),
    "step_time_s": ("each step lasts", fmt_duration),
    "spike_users": ("spike users", _num),
    "spike_at_s": ("spike at", _seconds),
    "spike_for_s": ("spike lasts", _seconds),
    "stages": ("stages", _stages),
    "slo_ttft_ms": ("goodput SLO: TTFT", lambda v: f"≤ {_num(v)} ms"),
    "slo_tpot_ms": ("goodput SLO: TPOT", lambda v: f"≤ {_num(v)} ms"),
    "slo_ttft_p99_ms": ("step SLO: TTFT p99", lambda v: f"≤ {_num(v)} ms"),
}
#: Shown elsewhere (the loop, the arrival process) or folded into the retries line.
_FOLDED = ("pace_s", "gamma_shape", "retry_backoff_s", "retry_backoff_max_s", "retry_on")


def load_settings(load: Mapping[str, Any], skip: set[str]) -> KeyValues:
    """The load settings not in ``skip``, labelled: known keys first, in LOAD_LABELS'
    order, then retries, then any key this version does not know."""
    rows = [
        (label, fmt(load[key]))
        for key, (label, fmt) in LOAD_LABELS.items()
        if key in load and key not in skip
    ]
    if "retries" in load and "retries" not in skip:
        rows.append(("retries", retries_text(load)))
    known = {*LOAD_LABELS, *_FOLDED, "retries"}
    rows += [
        (_label(k), _with_unit(k, v))
        for k, v in load.items()
        if k not in known and k not in skip and not is_unset(v)
    ]
    return rows


def retries_text(load: Mapping[str, Any]) -> str:
    retries = load.get("retries")
    if not isinstance(retries, int | float) or not retries:
        return "off"
    low, high = load.get("retry_backoff_s"), load.get("retry_backoff_max_s")
    text = f"up to {_num(retries)} per request"
    if isinstance(low, int | float):
        top = f"–{_num(high)}" if isinstance(high, int | float) else ""
        text += f", backoff {_num(low)}{top} s (doubling, jittered)"
    on = load.get("retry_on")
    return text + (f", after {readable(on)}" if on else "")


def _label(key: str) -> str:
    for suffix in ("_s", "_ms"):
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    return key.replace("_", " ")


def _with_unit(key: str, value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if key.endswith("_ms"):
            return f"{_num(value)} ms"
        if key.endswith("_s"):
            return _seconds(value)
    return readable(value)


def dataset_rows(run: RunMeta) -> KeyValues:
    """run.json's "dataset" (its file and the shape of its conversations) in words."""
    data = run.dataset
    if data is None:
        return []
    stats = data.stats or DatasetStats()
    rows: KeyValues = [("file", show(data.path))] if data.path else []
    count = stats.conversations if stats.conversations is not None else data.conversations
    if count is not None:
        system = stats.with_system
        rows.append(
            (
                "conversations",
                _num(count) + (f" ({_num(system)} with a system prompt)" if system else ""),
            )
        )
    if stats.turns is not None or stats.turns_total is not None:
        rows.append(("turns", _turns_text(stats.turns_total, stats.turns)))
    if stats.turns_histogram:
        rows.append(
            (
                "conversations by turns",
                " · ".join(
                    f"{k} turn{'s' if str(k) != '1' else ''}: {_num(v)}"
                    for k, v in stats.turns_histogram.items()
                ),
            )
        )
    for found, label in (
        (stats.user_chars, "user message"),
        (stats.prompt_chars, "prompt sent"),
        (stats.reply_chars, "recorded reply"),
    ):
        if found is not None:
            rows.append((label, chars_text(found)))
    if stats.sha256:
        rows.append(("fingerprint", f"sha256 {stats.sha256[:16]}…"))
    passes = run.dataset_passes
    if passes:
        rows.append(("passes over it", ", ".join(f"{k} {_num(v)}" for k, v in passes.items())))
    if data.max_prompt_tokens:
        rows.append(("max prompt tokens", readable(msgspec.to_builtins(data.max_prompt_tokens))))
    return rows


def _turns_text(total: int | None, turns: TurnStats | None) -> str:
    parts = [f"{_num(total)} in all"] if total is not None else []
    if turns is not None:
        spread = (
            f"{_num(turns.min)}"
            if turns.min == turns.max
            else f"{_num(turns.min)}–{_num(turns.max)}"
        )
        mean = f", mean {_num(turns.mean)}" if turns.min != turns.max else ""
        parts.append(f"{spread} per conversation{mean}")
    return "; ".join(parts) or "–"


def chars_text(found: CharStats) -> str:
    """p50 51, p90 355, max 6452, mean 235.1 -> 'median 51 characters, p90 355, max 6,452
    (mean 235)'."""
    if found.max == 0:
        return "none"  # e.g. no recorded replies in single-turn data
    return (
        f"median {_num(found.p50)} characters, p90 {_num(found.p90)}, max {_num(found.max)}"
        f" (mean {_num(round(found.mean))})"
    )
