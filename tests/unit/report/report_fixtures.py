"""Synthetic run folders written with the real writers (Collector, RunWriter, build_summary).

A uniquely named module (not conftest) so that `from report_fixtures import ...` cannot pick
up another directory's conftest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from loadprofile import rundir
from loadprofile.collector import Collector
from loadprofile.generator_health import GeneratorSample
from loadprofile.results import ErrorClass, RequestResult
from loadprofile.summary import build_summary

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
    rng: np.random.Generator, model: str, start_unix: float, i: int, fail_rate: float
) -> RequestResult:
    ttft_med, gap_med = PROFILES.get(model, (100.0, 20.0))
    turn = int(rng.integers(1, 6))
    prompt_tokens = int(rng.integers(50, 400)) * turn
    result = RequestResult(
        model=model, conversation_id=f"c{i % 40}", turn=turn, start_unix=start_unix,
        request_id=f"r{i}", prompt_chars=prompt_tokens * 4, prompt_tokens=prompt_tokens,
        status=200,
    )  # fmt: skip
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


def _run_json(models: list[str], writer: rundir.RunWriter, duration: float) -> dict[str, Any]:
    return {
        "run_id": "20261126-230605-ab12", "started_at": "2026-11-26T23:06:05Z",
        "duration_s": duration, "partial": False, "interrupted_by": None,
        "command": ["loadprofile", "run", "--mock", "-u", "20", "-t", f"{duration:g}s"],
        "versions": {"loadprofile": "0.1.0", "python": "3.11.7", "locust": "2.47.0"},
        "host": {"hostname": "bench-1", "platform": "Linux-6.1-x86_64", "cpus": 2},
        "target": {"kind": "mock", "hosts": ["http://127.0.0.1:8000"]},
        "targets": [{"name": m, "model": m, "host": "http://127.0.0.1:8000", "weight": 1.0}
                    for m in models],
        "models": models,
        "load": {"users": 20, "spawn_rate": 5, "run_time_s": duration, "think_time_s": [1, 3],
                 "history": "recorded", "timeout_s": 300, "max_tokens": 256, "interval_s": 1.0},
        "dataset": {"path": "builtin:chat", "conversations": 240, "stats": {"turns_mean": 3.1}},
        "histograms": writer.histogram_files,
        "generator": {"cpu_percent_mean": 35.2, "cpu_percent_max": 95.0},
        "unfinished_at_stop": 0, "warnings": ["synthetic warning: <b>not bold</b>"],
    }  # fmt: skip


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
) -> SyntheticRun:
    """A complete run folder: requests spread over `intervals` one-second intervals."""
    rng = np.random.default_rng(seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    writer = rundir.RunWriter(run_dir, START_UNIX)
    collector = Collector(start_ns=0)
    raw: dict[str, dict[str, list[float]]] = {}
    per_interval = requests // intervals if intervals else 0
    for k in range(intervals):
        for i in range(per_interval):
            model = models[(k * per_interval + i) % len(models)]
            start = START_UNIX + k + i / max(per_interval, 1)
            r = _result(rng, model, start, k * 1000 + i, fail_rate)
            collector.record(r)
            writer.add_request(r)
            _remember(raw, r)
        closed = collector.roll(int((k + 1) * 1e9))
        users = {m: min(10, 2 * (k + 1)) for m in models}
        writer.add_intervals(float(k), float(k + 1), closed, users)
        cpu = 50.0 + 45.0 * k / max(1, intervals - 1)  # the last ~10 % of the run is 'hot'
        writer.add_generator_sample(
            GeneratorSample(float(k), float(k + 1), sum(users.values()), cpu)
        )
    writer.close()
    rundir.write_json(run_dir / rundir.RUN, _run_json(list(models), writer, float(intervals)))
    summary = None
    if with_summary:
        summary = build_summary(
            run_id="20261126-230605-ab12", started_at="2026-11-26T23:06:05Z",
            duration_s=float(intervals), target={"kind": "mock"}, load={"users": 20},
            models=collector.totals, partial=partial,
        )  # fmt: skip
        rundir.write_json(run_dir / rundir.SUMMARY, summary)
    return SyntheticRun(run_dir, list(models), summary, raw)


@dataclass
class BuiltReport:
    run: SyntheticRun
    path: Path
    html: str
