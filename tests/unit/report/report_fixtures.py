"""Synthetic run folders written with the real writers (Collector, RunWriter, build_summary).

A uniquely named module (not conftest) so that `from report_fixtures import ...` cannot pick
up another directory's conftest.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from loadprofile.contract.summary import TargetInfo
from loadprofile.core.collector import Collector, RequestSlo
from loadprofile.core.generator_health import GeneratorSample, health_summary
from loadprofile.core.loadplan import Phase
from loadprofile.core.metrics import SERVICE_METRICS
from loadprofile.core.phases import phase_index, summary_extras
from loadprofile.core.results import ErrorClass, RequestResult
from loadprofile.core.summary import build_summary
from loadprofile.rundir import writer as rundir
from tests.models import load_of, plain

START_UNIX = 1_790_000_000.0
#: (median TTFT ms, median inter-token gap ms) per synthetic model.
PROFILES = {"mock-small": (80.0, 12.0), "mock-large": (260.0, 35.0)}


@dataclass
class SyntheticRun:
    run_dir: Path
    models: list[str]
    summary: dict[str, Any] | None
    #: model -> metric -> every recorded value (ms), for checking the histograms exactly.
    raw: dict[str, dict[str, list[float]]] = field(default_factory=dict)


def _result(
    rng: np.random.Generator,
    model: str,
    start_unix: float,
    i: int,
    fail_rate: float,
    scale: float = 1.0,
    delay_ms: float = 0.0,
) -> RequestResult:
    """One request; ``scale`` multiplies its TTFT (a burst), ``delay_ms`` is an open-loop
    late send (TTFT and E2E count it, their service twins do not)."""
    ttft_med, gap_med = PROFILES.get(model, (100.0, 20.0))
    ttft_med *= scale
    turn = int(rng.integers(1, 6))
    prompt_tokens = int(rng.integers(50, 400)) * turn
    result = RequestResult(
        model=model,
        conversation_id=f"c{i % 40}",
        turn=turn,
        start_unix=start_unix,
        request_id=f"r{i}",
        prompt_chars=prompt_tokens * 4,
        prompt_tokens=prompt_tokens,
        status=200,
    )
    if rng.random() < fail_rate:
        result.error_class = list(ErrorClass)[int(rng.integers(0, len(ErrorClass)))]
        result.status = 500 if result.error_class == ErrorClass.HTTP_5XX else 0
        result.error = f"synthetic {result.error_class} failure"
        return result
    n = int(rng.integers(2, 30))
    result.ttft_ms = float(rng.lognormal(np.log(ttft_med + prompt_tokens * 0.05), 0.4))
    result.itl_ms = [float(v) for v in rng.lognormal(np.log(gap_med), 0.5, n - 1)]
    result.output_tokens = n
    result.tokens_estimated = bool(rng.random() < 0.1)
    result.e2e_ms = result.ttft_ms + sum(result.itl_ms)
    result.tpot_ms = (result.e2e_ms - result.ttft_ms) / (n - 1)
    result.ttft_service_ms, result.e2e_service_ms = result.ttft_ms, result.e2e_ms
    if delay_ms:
        result.start_delay_ms = delay_ms
        result.ttft_ms += delay_ms
        result.e2e_ms += delay_ms
    result.chunks = n
    return result


def _remember(raw: dict[str, dict[str, list[float]]], r: RequestResult) -> None:
    if not r.ok:
        return
    metrics = raw.setdefault(r.model, {"ttft_ms": [], "itl_ms": [], "tpot_ms": [], "e2e_ms": []})
    metrics["ttft_ms"].append(r.ttft_ms or 0.0)
    metrics["tpot_ms"].append(r.tpot_ms or 0.0)
    metrics["e2e_ms"].append(r.e2e_ms or 0.0)
    metrics["itl_ms"].extend(r.itl_ms)


def _run_json(
    models: list[str], writer: rundir.RunWriter, duration: float, shape: Shape
) -> dict[str, Any]:
    return {
        "run_id": "20261126-230605-ab12",
        "started_at": "2026-11-26T23:06:05Z",
        "duration_s": duration,
        "partial": False,
        "interrupted_by": None,
        "command": ["loadprofile", "run", "--mock", "-u", "20", "-t", f"{duration:g}s"],
        "versions": {"loadprofile": "0.1.0", "python": "3.11.7", "locust": "2.47.0"},
        "host": {"hostname": "bench-1", "platform": "Linux-6.1-x86_64", "cpus": 2},
        "target": {"kind": "mock", "hosts": ["http://127.0.0.1:8000"]},
        "targets": [
            {"name": m, "model": m, "host": "http://127.0.0.1:8000", "weight": 1.0} for m in models
        ],
        "models": models,
        "load": {
            "users": 20,
            "spawn_rate": 5,
            "run_time_s": duration,
            "think_time_s": [1, 3],
            "history": "recorded",
            "timeout_s": 300,
            "max_tokens": 256,
            "interval_s": 1.0,
            **shape.load,
        },
        "phases": [p.to_json() for p in shape.phases],
        "dataset": {"path": "builtin:chat", "conversations": 240, "stats": {"turns_mean": 3.1}},
        "histograms": writer.histogram_files,
        "generator": {"cpu_percent_mean": 35.2, "cpu_percent_max": 95.0},
        "unfinished_at_stop": 0,
        "warnings": ["synthetic warning: <b>not bold</b>"],
    }


@dataclass
class Shape:
    """How a synthetic run's load changes over its intervals (steady by default)."""

    load: dict[str, Any] = field(default_factory=dict)
    phases: list[Phase] = field(default_factory=list)
    #: (interval, model) -> users of the model in that interval.
    users: Callable[[int, str], int] = lambda k, m: min(10, 2 * (k + 1))
    #: (interval, model) -> factor on the model's TTFT (a burst slows it down).
    scale: Callable[[int, str], float] = lambda k, m: 1.0
    delay_ms: float = 0.0
    #: interval -> (loop lag max ms, late starts) of the generator sample.
    strain: Callable[[int], tuple[float, int]] = lambda k: (0.5, 0)


def steady(intervals: int) -> Shape:
    return Shape(phases=[Phase("steady", 0.0, float(intervals), 20)])


def spike_shape() -> Shape:
    """2 users per model, 10 from 4 s to 7 s; after it mock-small is quick again (it
    recovers), mock-large stays slow (it does not)."""
    phases = [
        Phase("before", 0.0, 4.0, 4),
        Phase("burst", 4.0, 7.0, 20),
        Phase("after", 7.0, 12.0, 4),
    ]

    def scale(k: int, model: str) -> float:
        if 4 <= k < 7:
            return 4.0
        if k >= 7:
            return 3.0 if model == "mock-large" else 0.6
        return 1.0

    return Shape(
        load={
            "shape": "spike",
            "base_users": 4,
            "spike_users": 20,
            "spike_at_s": 4.0,
            "spike_for_s": 3.0,
            "rate": None,
            "pace_s": None,
            "slo_ttft_ms": None,
            "slo_tpot_ms": None,
            "slo_ttft_p99_ms": None,
        },
        phases=phases,
        users=lambda k, m: 10 if 4 <= k < 7 else 2,
        scale=scale,
    )


STEP_SLO_MS = 750.0


def step_shape() -> Shape:
    """Steps of 2, 4, 8 users per model, 3 s each; TTFT grows with the users, so that
    mock-small keeps TTFT p99 within STEP_SLO_MS up to 4 users and mock-large up to 2."""
    phases = [
        Phase(f"step {i + 1} ({4 * 2**i} users)", 3.0 * i, 3.0 * (i + 1), 4 * 2**i)
        for i in range(3)
    ]

    def scale(k: int, model: str) -> float:
        step = min(2, k // 3)
        return (1.0, 1.5, 4.0)[step] if model == "mock-small" else (0.8, 1.3, 1.8)[step]

    return Shape(
        load={
            "shape": "step",
            "base_users": 4,
            "steps": [1, 2, 4],
            "step_time_s": 3.0,
            "slo_ttft_p99_ms": STEP_SLO_MS,
            "rate": None,
        },
        phases=phases,
        users=lambda k, m: 2 * 2 ** min(2, k // 3),
        scale=scale,
    )


def open_shape(intervals: int) -> Shape:
    """20 requests/s, gamma arrivals; every request sent 30 ms late; the generator's loop
    lags 25 ms in interval 3 and sends late in interval 5 (both marked bound)."""
    return Shape(
        load={
            "shape": "steady",
            "rate": 20.0,
            "arrival": "gamma",
            "gamma_shape": 0.5,
            "rate_unit": "requests",
            "users": 64,
            "slo_ttft_ms": 200.0,
            "slo_tpot_ms": 30.0,
        },
        phases=[Phase("steady", 0.0, float(intervals), 64)],
        users=lambda k, m: 16,
        delay_ms=30.0,
        strain=lambda k: (25.0 if k == 3 else 0.8, 7 if k == 5 else 0),
    )


def write_run(
    run_dir: Path,
    *,
    requests: int = 600,
    intervals: int = 10,
    models: tuple[str, ...] = ("mock-small", "mock-large"),
    with_summary: bool = True,
    partial: bool = False,
    fail_rate: float = 0.04,
    seed: int = 7,
    shape: Shape | None = None,
    old_format: bool = False,
) -> SyntheticRun:
    """A complete run folder: requests spread over `intervals` one-second intervals, the
    summary built as the live session builds it (phases, recovery, capacity, generator).

    ``old_format``: rewritten as a folder from before load shapes (no phases, goodput,
    service times, generator verdict or per-interval TTFT columns)."""
    shape = shape or steady(intervals)
    rng = np.random.default_rng(seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    writer = rundir.RunWriter(run_dir, START_UNIX)
    slo = RequestSlo(shape.load.get("slo_ttft_ms"), shape.load.get("slo_tpot_ms"))
    phase_of = (lambda t: phase_index(shape.phases, t)) if shape.phases else None
    collector = Collector(start_ns=0, slo=slo, phase_of=phase_of)
    raw: dict[str, dict[str, list[float]]] = {}
    series, samples = [], []
    per_interval = requests // intervals if intervals else 0
    for k in range(intervals):
        for i in range(per_interval):
            model = models[(k * per_interval + i) % len(models)]
            start = START_UNIX + k + i / max(per_interval, 1)
            r = _result(
                rng, model, start, k * 1000 + i, fail_rate, shape.scale(k, model), shape.delay_ms
            )
            collector.record(r)
            writer.add_request(r)
            _remember(raw, r)
        closed = collector.roll(int((k + 1) * 1e9))
        users = {m: shape.users(k, m) for m in models}
        series += writer.add_intervals(float(k), float(k + 1), closed, users)
        cpu = 50.0 + 45.0 * k / max(1, intervals - 1)  # the last ~10 % of the run is 'hot'
        lag, late = shape.strain(k)
        samples.append(
            GeneratorSample(
                float(k),
                float(k + 1),
                sum(users.values()),
                cpu,
                loop_lag_ms_max=lag,
                late_starts=late,
            )
        )
        writer.add_generator_sample(samples[-1])
    writer.close()
    run_json = _run_json(list(models), writer, float(intervals), shape)
    run_json["generator"] = plain(health_summary(samples))
    rundir.write_json(run_dir / rundir.RUN, run_json)
    summary = None
    if with_summary:
        load = load_of(run_json["load"])
        timeline = summary_extras(
            load, shape.phases, collector.phase_totals, series, sorted(collector.totals)
        )
        summary = plain(
            build_summary(
                run_id="20261126-230605-ab12",
                started_at="2026-11-26T23:06:05Z",
                duration_s=float(intervals),
                target=TargetInfo(kind="mock"),
                load=load,
                models=collector.totals,
                partial=partial,
                timeline=timeline,
                generator=health_summary(samples),
            )
        )
        rundir.write_json(run_dir / rundir.SUMMARY, summary)
    if old_format:
        summary = make_old_format(run_dir)
    return SyntheticRun(run_dir, list(models), summary, raw)


#: Columns and keys that arrived with load shapes; an older folder has none of them.
NEW_COLUMNS = {
    rundir.TIMESERIES: ("good", "ttft_p50_ms", "ttft_p95_ms", "ttft_p99_ms"),
    rundir.GENERATOR: (
        "loop_lag_ms_max",
        "loop_lag_ms_mean",
        "late_starts",
        "starts_without_free_user",
        "bound",
    ),
    rundir.REQUESTS: ("start_delay_ms", "ttft_service_ms", "e2e_service_ms"),
}
NEW_MODEL_KEYS = ("good_requests", "goodput_per_s", *SERVICE_METRICS)
NEW_LOAD_KEYS = (
    "shape",
    "base_users",
    "steps",
    "step_time_s",
    "spike_users",
    "spike_at_s",
    "spike_for_s",
    "stages",
    "rate",
    "arrival",
    "gamma_shape",
    "rate_unit",
    "pace_s",
    "slo_ttft_ms",
    "slo_tpot_ms",
    "slo_ttft_p99_ms",
)


def make_old_format(run_dir: Path) -> dict[str, Any] | None:
    """Strip a run folder back to the format from before load shapes; returns its summary."""
    for name, columns in NEW_COLUMNS.items():
        path = run_dir / name
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        kept = [c for c in rows[0] if c not in columns] if rows else []
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, kept, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    for path in (run_dir / rundir.HISTOGRAMS).glob("*_service_ms.hlog"):
        path.unlink()
    run = rundir.read_json(run_dir / rundir.RUN)
    for key in ("phases", "generator"):
        run.pop(key, None)
    for key in NEW_LOAD_KEYS:
        run["load"].pop(key, None)
    run["histograms"] = {
        m: {k: v for k, v in files.items() if k not in SERVICE_METRICS}
        for m, files in run["histograms"].items()
    }
    run["generator"] = {"cpu_percent_mean": 72.5, "cpu_percent_max": 95.0}
    rundir.write_json(run_dir / rundir.RUN, run)
    path = run_dir / rundir.SUMMARY
    if not path.exists():
        return None
    summary = rundir.read_json(path)
    for key in ("phases", "recovery_s", "max_concurrency_within_slo", "generator"):
        summary.pop(key, None)
    summary["load"] = {"users": 20}
    for entry in summary["models"].values():
        for key in NEW_MODEL_KEYS:
            entry.pop(key, None)
    rundir.write_json(path, summary)
    return dict(summary)


@dataclass
class BuiltReport:
    run: SyntheticRun
    path: Path
    html: str
