"""How often does a relative SLO bound flap on noise, and how often does it catch a real
regression? Point values against the gate's block bootstrap, on synthetic run folders.

Each trial writes a real run folder (the Collector, the run writer, summary.json) with two
models: ``base`` and ``cand``. Latencies are lognormal per request, times a load factor per
1-s interval (requests in one second share the server's state: the correlation that makes
per-request bootstraps over-confident). Under the null, ``cand`` has base's distribution; under
the regression, its latencies are 1.3x (a 30 % p99 regression). The bound judged is
``cand.ttft_ms.p99 <= 1.1 * base.ttft_ms.p99`` (10 % tolerance), with significance 0 (point
values) and 0.05, over run lengths of 30 s, 120 s and 600 s.

    .venv/bin/python benchmarks/gate_significance.py [--trials 100]

Prints false-alarm and detection rates, and the gate's time per relative bound.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from benchsupport import save_results

from loadprofile.commands.gate.verdicts import evaluate
from loadprofile.config.slo import parse_slo
from loadprofile.core.collector import Collector
from loadprofile.core.results import RequestResult
from loadprofile.core.summary import build_summary
from loadprofile.rundir.writer import RUN, SUMMARY, RunWriter, write_json

RATE_PER_S = 20  # requests per model and second
TTFT_MEDIAN_MS = 200.0
SIGMA = 0.5  # per-request spread (lognormal)
LOAD_SIGMA = 0.15  # per-interval load factor (shared by the requests of one second)
BOUND = "cand.ttft_ms.p99 <= 1.1 * base.ttft_ms.p99"


def write_run(run_dir: Path, seconds: int, scale: float, rng: np.random.Generator) -> None:
    collector = Collector(0)
    writer = RunWriter(run_dir, 1_790_000_000.0)
    for k in range(seconds):
        for model, factor in (("base", 1.0), ("cand", scale)):
            load = float(rng.lognormal(0.0, LOAD_SIGMA))
            for ttft in rng.lognormal(np.log(TTFT_MEDIAN_MS), SIGMA, rng.poisson(RATE_PER_S)):
                r = RequestResult(model, "c", 1, 0.0, status=200, output_tokens=10)
                r.ttft_ms = float(ttft) * load * factor
                r.e2e_ms = r.ttft_ms + 500.0
                collector.record(r)
        closed = collector.roll((k + 1) * 1_000_000_000)
        writer.add_intervals(float(k), float(k + 1), closed, {"base": 10, "cand": 10})
    writer.close()
    write_json(
        run_dir / RUN,
        {"run_id": run_dir.name, "models": ["base", "cand"], "histograms": writer.histogram_files},
    )
    summary = build_summary(
        run_id=run_dir.name,
        started_at="",
        duration_s=float(seconds),
        target={},
        load={},
        models=collector.totals,
        partial=False,
    )
    write_json(run_dir / SUMMARY, summary)


def trial(root: Path, seconds: int, scale: float, seed: int) -> tuple[bool, bool, float]:
    """(fails on point values, fails at 0.05, seconds the bootstrapped verdict took)."""
    run_dir = root / f"run-{seconds}-{scale}-{seed}"
    write_run(run_dir, seconds, scale, np.random.default_rng(seed))
    slo = parse_slo({"model": {"cand": {"bounds": [BOUND]}}}, "bench")
    point = evaluate(run_dir, slo, significance_level=0.0)
    started = time.perf_counter()
    tested = evaluate(run_dir, slo, significance_level=0.05)
    return not point.passed, not tested.passed, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    args = parser.parse_args()
    started = time.time()
    rows = []
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        head = (
            f"{'run':>6} {'case':>6} {'point fails':>12} {'bootstrap fails':>16} "
            f"{'gate s (violated)':>18}"
        )
        print(head)
        lines.append(head)
        for seconds in (30, 120, 600):
            trials = args.trials if seconds < 600 else max(20, args.trials // 4)
            for case, scale in (("same", 1.0), ("+30 %", 1.3)):
                results = [trial(root, seconds, scale, seed) for seed in range(trials)]
                point = sum(r[0] for r in results) / trials
                boot = sum(r[1] for r in results) / trials
                timed = [r[2] for r in results if r[0]] or [0.0]
                line = (
                    f"{seconds:>5}s {case:>6} {point:>12.0%} {boot:>16.0%} "
                    f"{float(np.median(timed)):>18.3f}"
                )
                print(line, flush=True)
                lines.append(line)
                rows.append(
                    {
                        "seconds": seconds,
                        "case": case,
                        "trials": trials,
                        "point_fail_rate": point,
                        "bootstrap_fail_rate": boot,
                        "gate_seconds_median": float(np.median(timed)),
                    }
                )
    save_results(
        "gate_significance",
        started,
        args,
        rows,
        lines,
        extra={"bound": BOUND, "rate_per_s": RATE_PER_S, "sigma": SIGMA, "load_sigma": LOAD_SIGMA},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
