"""How load is generated, from CLI/TOML values: shapes, open-loop arrivals, pacing, SLOs.

Pure core, split from ``config`` because these options constrain each other (a step run
sets its own run time, an open-loop run has no think time between requests, ...): every
combination that cannot mean what the user hoped is refused here with a one-line reason.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

from loadprofile.errors import ConfigError

SHAPES = ("steady", "step", "spike", "stages")
ARRIVALS = ("poisson", "gamma", "constant")
RATE_UNITS = ("requests", "conversations")
#: Users started per second when a shape changes its user count and -r was not given: a
#: burst must arrive within Locust's one-second shape tick, or it is smeared out.
SHAPE_SPAWN_RATE = 1000.0
#: Open-loop runs: how many users wait for arrivals unless -u says: rate x this many seconds.
OPEN_LOOP_POOL_SECONDS = 10.0
OPEN_LOOP_POOL_LIMITS = (20, 1000)

Duration = Callable[[Any, str], float]


def positive_number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be a positive number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a positive number, got {value!r}") from None
    if not number > 0 or not math.isfinite(number):
        raise ConfigError(f"{what} must be a positive number, got {value!r}")
    return number


def parse_steps(value: Any) -> tuple[int, ...]:
    """'1,10,25' or [1, 10, 25] -> (1, 10, 25): multiples of the base users, rising."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise ConfigError(f"bad steps {value!r} (use e.g. 1,10,25,50)")
    steps: list[int] = []
    for item in items:
        try:
            step = int(str(item).strip())
        except ValueError:
            raise ConfigError(f"bad steps {value!r}: {item!r} is not a whole number") from None
        if step < 1:
            raise ConfigError(f"bad steps {value!r}: every step must be at least 1")
        steps.append(step)
    if any(b <= a for a, b in itertools.pairwise(steps)):
        raise ConfigError(f"bad steps {value!r}: steps must rise")
    return tuple(steps)


def parse_arrival(text: Any) -> tuple[str, float]:
    """'poisson' | 'constant' | 'gamma:SHAPE' -> (kind, gamma shape). Gamma's shape k sets
    the burstiness: inter-arrival CV^2 = 1/k (k < 1 burstier than Poisson, k = 1 is Poisson)."""
    kind, _, shape_text = str(text).strip().lower().partition(":")
    if kind not in ARRIVALS:
        raise ConfigError(f"bad arrival {text!r} (use poisson, constant or gamma:SHAPE)")
    if kind != "gamma":
        if shape_text:
            raise ConfigError(f"bad arrival {text!r}: only gamma takes a shape")
        return kind, 1.0
    if not shape_text:
        raise ConfigError(f"bad arrival {text!r}: give gamma's shape, e.g. gamma:0.5")
    return kind, positive_number(shape_text, "gamma shape")


def whole_number(value: Any, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{what} must be a whole number, got {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{what} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{what} must be at least {minimum}, got {number}")
    return number


def parse_stages(raw: Any, duration: Duration) -> tuple[tuple[float, int, float | None], ...]:
    """[[load.stages]] tables: {duration, users, spawn_rate?} -> (duration_s, users, rate)."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError("stages must be a non-empty array of tables ([[load.stages]])")
    out = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise ConfigError(f"stages #{i} is not a table")
        unknown = set(item) - {"duration", "users", "spawn_rate"}
        if unknown:
            raise ConfigError(f"stages #{i}: unknown key(s) {', '.join(sorted(unknown))}")
        if "duration" not in item or "users" not in item:
            raise ConfigError(f"stages #{i} needs 'duration' and 'users'")
        seconds = duration(item["duration"], f"stages #{i} duration")
        if seconds <= 0:
            raise ConfigError(f"stages #{i}: duration must be positive")
        users = whole_number(item["users"], f"stages #{i} users")
        rate = item.get("spawn_rate")
        out.append(
            (
                seconds,
                users,
                None if rate is None else positive_number(rate, f"stages #{i} spawn_rate"),
            )
        )
    return tuple(out)


def resolve_load_options(values: dict[str, Any], duration: Duration) -> dict[str, Any]:
    """The LoadConfig fields for shape, arrivals, pacing and SLOs (plus users, run time and
    spawn rate where a shape or a rate decides them). ``values`` holds only given keys."""
    shape = values.get("shape") or "steady"
    if shape not in SHAPES:
        raise ConfigError(f"bad shape {shape!r} (use {', '.join(SHAPES)})")
    out: dict[str, Any] = {"shape": shape}
    out.update(_slos(values))
    rate = values.get("rate")
    if rate is not None:
        out.update(_open_loop(values, shape, rate))
    else:
        for key in ("arrival", "rate_unit"):
            if values.get(key) is not None:
                raise ConfigError(f"{key.replace('_', '-')} needs --rate (an open-loop run)")
    if values.get("pace") is not None:
        if rate is not None:
            raise ConfigError(
                "--pace is for closed-loop runs; an open-loop --rate sets the arrivals itself"
            )
        if values.get("think_time") is not None:
            raise ConfigError(
                "--pace and --think-time both set the wait between requests; give one"
            )
        pace = duration(values["pace"], "pace")
        if pace <= 0:
            raise ConfigError("pace must be positive")
        out["pace_s"] = pace
    out.update(_SHAPE_RESOLVERS[shape](values, duration))
    if shape != "steady" and values.get("spawn_rate") is None:
        out["spawn_rate"] = SHAPE_SPAWN_RATE
    _refuse_foreign_keys(values, shape)
    return out


_SHAPE_KEYS = {
    "step": ("steps", "step_time"),
    "spike": ("spike_users", "spike_at", "spike_for"),
    "stages": ("stages",),
}


def _refuse_foreign_keys(values: dict[str, Any], shape: str) -> None:
    for other, keys in _SHAPE_KEYS.items():
        for key in keys:
            if other != shape and values.get(key) is not None:
                raise ConfigError(
                    f"{key.replace('_', '-')} belongs to --shape {other}, not {shape}"
                )
    if shape in ("steady", "stages") and values.get("base_users") is not None:
        raise ConfigError("base-users belongs to --shape step or spike")


def _slos(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("slo_ttft_ms", "slo_tpot_ms", "slo_ttft_p99_ms"):
        if values.get(key) is not None:
            out[key] = positive_number(values[key], key.replace("_", "-"))
    return out


def _open_loop(values: dict[str, Any], shape: str, rate: Any) -> dict[str, Any]:
    if shape != "steady":
        raise ConfigError(
            f"--rate (open loop) runs at one arrival rate; it does not combine with --shape {shape}"
        )
    per_s = positive_number(rate, "rate")
    kind, gamma_shape = parse_arrival(values.get("arrival") or "poisson")
    unit = values.get("rate_unit") or "requests"
    if unit not in RATE_UNITS:
        raise ConfigError(f"bad rate unit {unit!r} (use requests or conversations)")
    if unit == "requests" and values.get("history") == "live":
        raise ConfigError(
            "--history live needs --rate-unit conversations (a single request "
            "has no live replies before it)"
        )
    if unit == "requests" and values.get("think_time") is not None:
        raise ConfigError(
            "--think-time has no meaning with --rate-unit requests: every request "
            "is its own arrival"
        )
    low, high = OPEN_LOOP_POOL_LIMITS
    out: dict[str, Any] = {
        "rate": per_s,
        "arrival": kind,
        "gamma_shape": gamma_shape,
        "rate_unit": unit,
    }
    if values.get("users") is None:
        out["users"] = max(low, min(high, math.ceil(per_s * OPEN_LOOP_POOL_SECONDS)))
    if values.get("spawn_rate") is None:
        out["spawn_rate"] = SHAPE_SPAWN_RATE
    return out


def _steady(values: dict[str, Any], duration: Duration) -> dict[str, Any]:
    return {}


def _base_users(values: dict[str, Any]) -> int:
    """--base-users, or -u when that was given instead (it means the same for a shape)."""
    for key in ("base_users", "users"):
        if values.get(key) is not None:
            return whole_number(values[key], key.replace("_", "-"))
    return 1


def _step(values: dict[str, Any], duration: Duration) -> dict[str, Any]:
    if values.get("steps") is None or values.get("step_time") is None:
        raise ConfigError("--shape step needs --steps (e.g. 1,10,25) and --step-time (e.g. 60s)")
    steps = parse_steps(values["steps"])
    step_time = duration(values["step_time"], "step time")
    if step_time < 1:
        raise ConfigError("step time must be at least 1s (Locust's shapes tick once a second)")
    base = _base_users(values)
    total = step_time * len(steps)
    _no_run_time(values, total, "step")
    return {
        "steps": steps,
        "step_time_s": step_time,
        "base_users": base,
        "users": base * steps[-1],
        "run_time_s": total,
    }


def _spike(values: dict[str, Any], duration: Duration) -> dict[str, Any]:
    missing = [k for k in ("spike_users", "spike_at", "spike_for") if values.get(k) is None]
    if missing:
        raise ConfigError("--shape spike needs --spike-users, --spike-at and --spike-for")
    base = _base_users(values)
    spike_users = whole_number(values["spike_users"], "spike users")
    if spike_users <= base:
        raise ConfigError(f"spike users ({spike_users}) must exceed the base users ({base})")
    spike_at = duration(values["spike_at"], "spike at")
    spike_for = duration(values["spike_for"], "spike for")
    if spike_at < 1 or spike_for < 1:
        raise ConfigError(
            "--spike-at and --spike-for must be at least 1s (Locust's shapes tick once a second)"
        )
    end = spike_at + spike_for
    run_time = values.get("run_time")
    total = duration(run_time, "run time") if run_time is not None else end + spike_at
    if total <= end:
        raise ConfigError(
            f"run time ({total:g}s) must outlast the spike (ends at {end:g}s) to see the recovery"
        )
    return {
        "base_users": base,
        "spike_users": spike_users,
        "spike_at_s": spike_at,
        "spike_for_s": spike_for,
        "users": spike_users,
        "run_time_s": total,
    }


def _stages(values: dict[str, Any], duration: Duration) -> dict[str, Any]:
    if values.get("stages") is None:
        raise ConfigError("--shape stages needs [[load.stages]] tables in the --config file")
    stages = parse_stages(values["stages"], duration)
    total = sum(s[0] for s in stages)
    _no_run_time(values, total, "stages")
    return {"stages": stages, "users": max(s[1] for s in stages), "run_time_s": total}


def _no_run_time(values: dict[str, Any], total: float, shape: str) -> None:
    if values.get("run_time") is not None:
        raise ConfigError(f"--shape {shape} sets the run time itself ({total:g}s); drop -t")


_SHAPE_RESOLVERS: dict[str, Callable[[dict[str, Any], Duration], dict[str, Any]]] = {
    "steady": _steady,
    "step": _step,
    "spike": _spike,
    "stages": _stages,
}
