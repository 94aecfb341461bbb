"""One capacity probe: a real ``loadprofile run --until-stable`` at one load, in a process of
its own (Locust and gevent run one load per process cleanly), cut short when its queue
clearly grows without bound, then read back into a verdict."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from loadprofile.contract.capacity import Probe
from loadprofile.contract.summary import Summary, given
from loadprofile.core.capacity_search import Mode
from loadprofile.core.capacity_verdict import (
    Figure,
    ProbeFigures,
    Verdict,
    rising,
    thirds,
    verdict,
)
from loadprofile.errors import UsageError
from loadprofile.rundir.reader import read_series
from loadprofile.rundir.view import SideError, read_summary

#: The run's drain and start-up on top of its -t before the probe is given up on.
_GRACE_S = 60.0
#: Intervals beyond the TTFT bound in a row (and climbing) before a probe is cut short.
_CUT_AFTER_INTERVALS = 4
#: Seconds after the warm-up without one completed request before a probe is cut ("no
#: answers": a frozen or dead server gives no TTFT to watch climb).
_SILENT_CUT_S = 5.0


@dataclass(frozen=True)
class ProbePlan:
    """Everything a probe's run needs but the load."""

    host: str
    model: str
    mode: Mode
    out: Path
    run_args: list[str]  # passed through to every run (dataset, think time, ...)
    warmup_s: float
    slo_ms: dict[str, float]
    max_error_rate: float | None


@dataclass(frozen=True)
class ProbeOutcome:
    """A probe as capacity.json records it, its verdict and what limited it."""

    record: Probe
    verdict: Verdict
    limited_by: str | None

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


def probe_dir_name(mode: Mode, load: float) -> str:
    return f"u{int(load)}" if mode == "concurrency" else f"r{load:g}"


def run_probe(plan: ProbePlan, load: float, cap_s: float) -> ProbeOutcome:
    """Run one probe of at most ``cap_s`` seconds and judge it."""
    run_dir = plan.out / probe_dir_name(plan.mode, load)
    cmd = [sys.executable, "-m", "loadprofile", "run", "--host", plan.host, "--model", plan.model]
    if plan.mode == "concurrency":
        users = str(int(load))
        cmd += ["-u", users, "-r", users]
    else:
        cmd += ["--rate", f"{load:g}"]
    cmd += ["--until-stable", "-t", f"{math.ceil(cap_s)}s", "--no-report", "--out", str(run_dir)]
    cmd += plan.run_args
    plan.out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    log_path = plan.out / f"{run_dir.name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        cut = _watch(proc, plan, run_dir, began + cap_s + _GRACE_S)
    seconds = round(time.monotonic() - began, 1)
    if proc.returncode == 2:
        lines = log_path.read_text(errors="replace").strip().splitlines()
        raise UsageError(f"the probe's run refused its input: {lines[-1] if lines else '?'}")
    return judge(plan, load, run_dir, seconds, cut, proc.returncode)


def _watch(
    proc: subprocess.Popen[bytes], plan: ProbePlan, run_dir: Path, deadline: float
) -> str | None:
    """Wait for the run; stop it (SIGTERM: it still writes what it measured) when its TTFT
    has been beyond the bound and climbing for several intervals ("over-saturated"), or when
    no request has completed for ``_SILENT_CUT_S`` after the warm-up ("no answers": a frozen
    server). Why it was cut, or None."""
    bound = plan.slo_ms.get("ttft_ms.p99")
    cut: str | None = None
    began = time.monotonic()
    completed, last_change = 0, began
    while proc.poll() is None:
        now = time.monotonic()
        if now > deadline:
            proc.kill()
            proc.wait()
            return cut
        if cut is None:
            done = _completed(run_dir, plan)
            if done != completed:
                completed, last_change = done, now
            if bound is not None and _climbing_beyond(run_dir, plan, bound):
                cut = "over-saturated"
            elif now - began > plan.warmup_s + _SILENT_CUT_S and now - last_change > _SILENT_CUT_S:
                cut = "no answers"
            if cut is not None:
                proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
    return cut


def _completed(run_dir: Path, plan: ProbePlan) -> int:
    """Requests of the model the run has closed intervals on so far."""
    return sum(p.requests for p in read_series(run_dir) if p.model == plan.model)


def _climbing_beyond(run_dir: Path, plan: ProbePlan, bound_ms: float) -> bool:
    ttfts = _ttft_series(run_dir, plan)
    recent = ttfts[-_CUT_AFTER_INTERVALS:]
    return (
        len(ttfts) >= 2 * _CUT_AFTER_INTERVALS
        and all(v > bound_ms for v in recent)
        and rising(thirds(ttfts))
    )


def _ttft_series(run_dir: Path, plan: ProbePlan) -> list[float]:
    """The model's TTFT p99 per interval after the warm-up (intervals without one left out)."""
    return [
        p.ttft_p99_ms
        for p in read_series(run_dir)
        if p.model == plan.model and p.midpoint_s >= plan.warmup_s and p.ttft_p99_ms is not None
    ]


def judge(
    plan: ProbePlan, load: float, run_dir: Path, seconds: float, cut: str | None, code: int | None
) -> ProbeOutcome:
    """The probe's verdict from its run folder (a run that left none: "failed")."""
    try:
        summary, _, _ = read_summary(run_dir)
    except SideError:
        return _outcome(plan, load, run_dir, seconds, f"run exited {code}", None, "failed", None)
    figures = _figures(summary, plan, run_dir)
    found, limited_by = verdict(figures, plan.slo_ms, plan.max_error_rate)
    stability = given(summary.stability)
    stopped = stability.stopped_because if stability else f"run exited {code}"
    if cut == "no answers":
        stopped, found = cut, "failed"
    elif cut is not None:
        stopped, found = cut, "over-saturated" if found != "failed" else found
    elif found == "over-saturated" and stopped != "time limit":
        found = "fail"  # climbing, but the run settled: not unbounded queueing
    return _outcome(plan, load, run_dir, seconds, stopped, figures, found, limited_by)


def _figures(summary: Summary, plan: ProbePlan, run_dir: Path) -> ProbeFigures:
    figures = summary.models.get(plan.model)
    stability = given(summary.stability)
    gated = stability.models.get(plan.model, {}) if stability else {}
    by_metric: dict[str, Figure] = {}
    for metric in plan.slo_ms:
        name, pct = metric.split(".")
        latency = getattr(figures, name, None) if figures else None
        estimate = getattr(latency, pct, None) if latency is not None else None
        stable = gated.get(metric)
        ci = stable.ci_ms if stable is not None else None
        if stable is not None and stable.estimate_ms is not None:
            estimate = stable.estimate_ms
        by_metric[metric] = Figure(estimate, (ci[0], ci[1]) if ci else None)
    successes = figures.requests - figures.failures if figures else 0
    return ProbeFigures(
        figures=by_metric,
        successes=successes,
        error_rate=figures.error_rate if figures else 0.0,
        ttft_trend=thirds(_ttft_series(run_dir, plan)),
    )


def _outcome(
    plan: ProbePlan,
    load: float,
    run_dir: Path,
    seconds: float,
    stopped: str,
    figures: ProbeFigures | None,
    found: Verdict,
    limited_by: str | None,
) -> ProbeOutcome:
    shown = figures.figures if figures else {}
    record = Probe(
        load=int(load) if plan.mode == "concurrency" else load,
        dir=str(run_dir.relative_to(plan.out.parent)),
        verdict=found,
        p99s={m: shown[m].estimate_ms if m in shown else None for m in plan.slo_ms},
        ci={m: list(shown[m].ci_ms or ()) or None if m in shown else None for m in plan.slo_ms},
        seconds=seconds,
        stopped_because=stopped,
    )
    return ProbeOutcome(record, found, limited_by if found != "pass" else None)
