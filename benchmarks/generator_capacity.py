"""Generator capacity: the largest open-loop rate and the most concurrent streams one
``loadprofile run`` process holds before its own self-monitor flags it as the bottleneck.

Why: a load generator that is itself saturated measures its own queueing, not the server's.
``loadprofile run`` now watches itself every interval (CPU %, gevent hub lag, late open-loop
starts; ``loadprofile/generator_health.py``) and marks such seconds "generator-bound". This
script finds where that happens on this machine, and how much TTFT our own client adds just
below that point, so users know how far one process can be trusted before ``--processes``.

The mock (``python -m loadprofile.mock``) runs pinned to one core (``taskset -c 1``) with
fixed timings (TTFT 50 ms, ITL 20 ms, no jitter, unlimited concurrency); each level is one
real ``loadprofile run`` process pinned to the other core (``taskset -c 0``):

    open loop    --rate R --arrival constant, replies of 32 tokens (~0.7 s per stream)
    closed loop  -u N --think-time 0, replies of 200 tokens (~4 s, so N users ~ N streams)

Each sweep goes upward and stops after the first level whose steady window (the first
``--warmup`` seconds, or the spawn time if longer, are left out) has a generator-bound
interval; with refinement on, one level halfway between the last clean and the first
flagged level is run too. The mock's own CPU is sampled from /proc so that a level where
the mock (not the generator) saturated is recognisable ("MOCK>90%"), and its record
(``--record``: when it received each request and wrote each chunk) splits the TTFT beyond
the planned 50 ms into send -> mock, the mock's own lateness, and mock write -> our
timestamp (the client's share). The machine is shared: before each level the script waits
(briefly) for quiet cores, and a flagged level that ran while other processes took the
generator's core is re-run once; ``--nice -10`` (root) gives both processes priority.

    .venv/bin/python benchmarks/generator_capacity.py --nice -10  # both sweeps, ~4-6 min
    .venv/bin/python benchmarks/generator_capacity.py --quick    # 2 levels each, ~1 min

Writes benchmarks/results/generator_capacity-<date>.json and .txt (the printed tables).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from benchsupport import (
    ROOT,
    FixedTiming,
    Mock,
    cell,
    read_csv,
    save_results,
    sigterm_as_interrupt,
    wall_minus_monotonic_ns,
)
from procstat import core_ticks, proc_cpu_ticks, run_delay_ns, wait_ms_per_s, watch

from loadprofile.config.load_options import OPEN_LOOP_POOL_LIMITS, OPEN_LOOP_POOL_SECONDS

VENV_BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
OPEN_MODEL = "cap-open"
CLOSED_MODEL = "cap-closed"
MOCK_BUSY_PERCENT = 90.0
#: A run still going this long after its run time (+ drain bound) is killed.
HARD_TIMEOUT_MARGIN_S = 60.0
#: Requests started this close to the end are left out (Locust's stop disturbs them).
STOP_MARGIN_S = 0.5
#: Seconds the run may spend draining streams in flight at the end (--stop-timeout).
STOP_TIMEOUT_S = 15.0
#: A level is "noisy" when the generator waited this long for its core (ms per s) ...
NOISY_RUNQ_MS_PER_S = 50.0
#: ... or other processes used this much of its core.
NOISY_OTHER_PERCENT = 20.0


# -- /proc sampling ------------------------------------------------------------------------
@dataclass
class Sample:
    t_unix: float
    mock: int | None
    gen_wait: int | None
    mock_wait: int | None
    cores: dict[str, tuple[int, int]]


@dataclass
class Sampler:
    """CPU of the mock, run-queue waits of both processes and per-core load, by wall clock
    (the run folder's requests.csv gives the run's start in the same clock)."""

    gen_pid: int
    mock_pid: int
    samples: list[Sample] = field(default_factory=list)

    def sample(self) -> None:
        self.samples.append(
            Sample(
                time.time(),
                proc_cpu_ticks(self.mock_pid),
                run_delay_ns(self.gen_pid),
                run_delay_ns(self.mock_pid),
                core_ticks(),
            )
        )

    def window(self, t0: float, t1: float, mock_core: str, gen_core: str) -> dict[str, Any]:
        """Mock CPU % (mean over the window, max over ~1 s slices), runq waits, core load."""
        inside = [s for s in self.samples if t0 <= s.t_unix <= t1 and s.mock is not None]
        if len(inside) < 2:
            return {"mock_cpu_mean": None, "mock_cpu_max": None}
        a, b = inside[0], inside[-1]
        secs = b.t_unix - a.t_unix
        slices: list[float] = []
        j = 0
        for i, s in enumerate(inside):  # ~1 s slices, like the generator's own intervals
            if s.t_unix - inside[j].t_unix >= 0.95 or i == len(inside) - 1:
                dt = s.t_unix - inside[j].t_unix
                if dt >= 0.5:
                    slices.append(100.0 * (s.mock - inside[j].mock) / CLK_TCK / dt)  # type: ignore[operator]
                j = i
        out: dict[str, Any] = {
            "mock_cpu_mean": round(100.0 * (b.mock - a.mock) / CLK_TCK / secs, 1),  # type: ignore[operator]
            "mock_cpu_max": round(max(slices), 1) if slices else None,
            "gen_runq_ms_per_s": wait_ms_per_s(a.gen_wait, b.gen_wait, secs),
            "mock_runq_ms_per_s": wait_ms_per_s(a.mock_wait, b.mock_wait, secs),
        }
        for core, key in (
            (f"cpu{mock_core}", "mock_core_busy"),
            (f"cpu{gen_core}", "gen_core_busy"),
        ):
            if core in a.cores and core in b.cores:
                (b0, t0_), (b1, t1_) = a.cores[core], b.cores[core]
                out[key] = round(100.0 * (b1 - b0) / max(1, t1_ - t0_), 1)
        return out


def noise(cpu: dict[str, Any], gen_cpus: list[float]) -> dict[str, Any]:
    """CPU other processes used on each core during the window, and whether the level is
    noisy: the generator waited for its core, so its own lag figures are partly the
    scheduler's."""
    gen = sum(gen_cpus) / len(gen_cpus) if gen_cpus else None
    out: dict[str, Any] = {}
    for key, busy, own in (
        ("other_gen_core", cpu.get("gen_core_busy"), gen),
        ("other_mock_core", cpu.get("mock_core_busy"), cpu.get("mock_cpu_mean")),
    ):
        out[key] = round(max(0.0, busy - own), 1) if busy is not None and own is not None else None
    runq = cpu.get("gen_runq_ms_per_s")
    out["noisy"] = bool(
        (runq is not None and runq > NOISY_RUNQ_MS_PER_S)
        or (out["other_gen_core"] or 0) > NOISY_OTHER_PERCENT
    )
    return out


def wait_quiet(below: float, max_wait_s: float) -> dict[str, Any]:
    """Wait (at most max_wait_s) until every core is less than ``below`` % busy over a
    second, so that a level does not start in the middle of someone's test suite."""
    t0 = time.monotonic()
    while True:
        a = core_ticks()
        time.sleep(1.0)
        b = core_ticks()
        busy = {
            c: round(100.0 * (b[c][0] - a[c][0]) / max(1, b[c][1] - a[c][1]), 1)
            for c in b
            if c in a
        }
        waited = time.monotonic() - t0
        if max(busy.values(), default=0.0) < below or waited >= max_wait_s:
            return {
                "cores_busy": busy,
                "waited_s": round(waited, 1),
                "quiet": max(busy.values(), default=0.0) < below,
            }


# -- the mock ------------------------------------------------------------------------------
def mock_models(args: argparse.Namespace) -> dict[str, FixedTiming]:
    """Two fixed-timing models: short replies for the open loop, long ones for streams."""
    return {
        model: FixedTiming(args.ttft_ms, args.itl_ms, tokens, tokens)
        for model, tokens in ((OPEN_MODEL, args.open_tokens), (CLOSED_MODEL, args.closed_tokens))
    }


# -- one level -----------------------------------------------------------------------------
@dataclass
class Level:
    """One ``loadprofile run`` of a sweep."""

    kind: str  # "open" (value = arrivals/s) or "closed" (value = users)
    value: int
    users: int
    spawn_rate: int
    model: str
    run_time_s: float
    warmup_s: float


def stream_s(args: argparse.Namespace, tokens: int) -> float:
    """How long one reply streams on the mock (TTFT + ITL x (tokens - 1))."""
    return (args.ttft_ms + args.itl_ms * (tokens - 1)) / 1000.0


def open_level(rate: int, args: argparse.Namespace) -> Level:
    """The CLI's default pool (10 x rate, 20..1000 users), spawned at 1000/s; arrivals start
    once it has spawned. The dispatcher hands each arrival to the most recently idle user,
    so only as many users (and connections) as there are streams in flight get busy; the
    steady window starts a second after the arrivals."""
    low, high = OPEN_LOOP_POOL_LIMITS
    users = max(low, min(high, math.ceil(rate * OPEN_LOOP_POOL_SECONDS)))
    spawn = max(1000, users)
    return Level(
        "open",
        rate,
        users,
        spawn,
        OPEN_MODEL,
        args.open_time,
        round(max(args.warmup, users / spawn + 1.0), 2),
    )


def closed_level(users: int, args: argparse.Namespace) -> Level:
    """N users, a short random think time (--closed-think), spawned at 1000/s. Locust
    spawns a whole batch at once, so the first round of requests starts together and, on a
    fixed-timing mock, every stream would write its tokens in the same millisecond for
    ever (a thundering herd, not a steady load). The think time spreads the second round;
    the steady window starts after the first round (plus the spawn batches and the longest
    think time)."""
    think_max = float(args.closed_think.split("-")[-1])
    warmup = stream_s(args, args.closed_tokens) + think_max + math.ceil(users / 1000) - 1 + 0.5
    return Level(
        "closed",
        users,
        users,
        1000,
        CLOSED_MODEL,
        args.closed_time,
        round(max(args.warmup, warmup), 2),
    )


def run_level(
    level: Level, args: argparse.Namespace, mock: Mock, work: Path, pin: list[str]
) -> dict[str, Any]:
    """Run one level as a separate, pinned ``loadprofile run``; return its figures."""
    tag = f"{level.kind}-{level.value}"
    n = 1
    while (work / tag).exists():  # a re-run gets its own folder
        n += 1
        tag = f"{level.kind}-{level.value}-{n}"
    out_dir = work / tag
    cmd = [
        *pin,
        str(VENV_BIN / "loadprofile"),
        "run",
        "--host",
        mock.url,
        "--model",
        level.model,
        "-t",
        f"{level.run_time_s:g}s",
        "--no-report",
        "--out",
        str(out_dir),
        "-u",
        str(level.users),
        "-r",
        str(level.spawn_rate),
        "--stop-timeout",
        f"{STOP_TIMEOUT_S:g}s",
        "--seed",
        "0",
    ]
    if level.kind == "open":
        cmd += ["--rate", str(level.value), "--arrival", "constant"]
    else:
        cmd += ["--think-time", args.closed_think]
    log_path = work / f"{tag}.log"
    mock.call("DELETE", "/mock/requests", timeout_s=120.0)
    t_start = time.monotonic()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        sampler = Sampler(proc.pid, mock.proc.pid)
        deadline = t_start + level.run_time_s + STOP_TIMEOUT_S + HARD_TIMEOUT_MARGIN_S
        killed = watch(proc, deadline, sampler.sample, 0.2)
    base: dict[str, Any] = {
        "run": tag,
        "kind": level.kind,
        "level": level.value,
        "users": level.users,
        "spawn_rate": level.spawn_rate,
        "run_time_s": level.run_time_s,
        "warmup_s": level.warmup_s,
        "exit_code": proc.returncode,
        "wall_s": round(time.monotonic() - t_start, 1),
    }
    if killed or not (out_dir / "summary.json").exists():
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        base["error"] = f"no run folder (killed={killed}, exit={proc.returncode}): {tail}"
        return base
    try:
        server = mock.call("GET", "/mock/requests", timeout_s=120.0)
    except (OSError, ValueError) as exc:
        server, base["server_record_error"] = [], str(exc)
    return {**base, **analyse(out_dir, level, args, sampler, server)}


def _pcts(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None}
    p50, p99 = np.percentile(np.asarray(values), [50, 99])
    return {
        "p50": round(float(p50), 2),
        "p99": round(float(p99), 2),
        "max": round(float(max(values)), 2),
    }


def split_ttft(
    in_win: list[dict[str, str]], server: list[dict[str, Any]], ttft_ms: float
) -> dict[str, Any]:
    """Where the TTFT beyond the mock's plan goes, per request (matched by request id):
    inbound (client send -> mock handler start: our send path, loopback, the mock's accept
    and parse), the mock's own lateness (first content written vs its plan), and the
    client's receive delay (mock write -> our timestamp: our hub, our core)."""
    off_ns = wall_minus_monotonic_ns()
    by_id = {r["request_id"]: r for r in server}
    inbound: list[float] = []
    late: list[float] = []
    recv: list[float] = []
    for r in in_win:
        srv = by_id.get(r["request_id"])
        if not srv or not srv.get("first_content_ns") or not r["ttft_service_ms"]:
            continue
        sent = float(r["start_unix"])
        inbound.append(((srv["received_ns"] + off_ns) / 1e9 - sent) * 1e3)
        late.append((srv["first_content_ns"] - srv["service_start_ns"]) / 1e6 - ttft_ms)
        recv.append(
            (sent + float(r["ttft_service_ms"]) / 1e3 - (srv["first_content_ns"] + off_ns) / 1e9)
            * 1e3
        )
    return {
        "matched": len(recv),
        "inbound_ms": _pcts(inbound),
        "mock_first_token_late_ms": _pcts(late),
        "client_receive_delay_ms": _pcts(recv),
    }


def analyse(
    out_dir: Path,
    level: Level,
    args: argparse.Namespace,
    sampler: Sampler,
    server: list[dict[str, Any]],
) -> dict[str, Any]:
    """The level's figures over the steady window [warmup, run time) of the run folder."""
    summary = json.loads((out_dir / "summary.json").read_text())
    model = summary["models"].get(level.model, {})
    gen_whole = summary.get("generator", {})
    # Requests and CPU: up to STOP_MARGIN_S before the end, where Locust's stop work (it
    # blocks the hub for ~10-15 ms and tears the users down) delays the last first tokens.
    w0, w1 = level.warmup_s, level.run_time_s - STOP_MARGIN_S
    end = level.run_time_s
    window = w1 - w0
    reqs = read_csv(out_dir / "requests.csv")
    # Health intervals inside the window. The interval that straddles the end is marked
    # draining by the run (Locust's stop blocks the hub for ~10-15 ms: never flagged).
    all_health = read_csv(out_dir / "generator.csv")
    health = [
        r
        for r in all_health
        if float(r["start_s"]) >= w0 - 0.05 and float(r["end_s"]) <= end + 0.002
    ]
    stop_rows = [r for r in all_health if float(r["end_s"]) > end + 0.002]
    bound_rows = [r for r in health if r["bound"]]

    ok = [r for r in reqs if not r["error_class"]]
    in_win = [r for r in ok if w0 <= float(r["start_s"]) < w1]
    ttft = [float(r["ttft_ms"]) for r in in_win if r["ttft_ms"]]
    at_stop = [float(r["ttft_ms"]) for r in ok if w1 <= float(r["start_s"]) < end and r["ttft_ms"]]
    ttft_svc = [float(r["ttft_service_ms"] or r["ttft_ms"]) for r in in_win if r["ttft_ms"]]
    delay = [float(r["start_delay_ms"]) for r in in_win if r.get("start_delay_ms")]
    # Late sends whose delay includes opening a connection (a cold pool user).
    late_conn = sum(
        1
        for r in in_win
        if r.get("start_delay_ms") and r.get("connect_ms") and float(r["start_delay_ms"]) > 10.0
    )
    # Tokens received inside the window: a fixed-ITL reply's tokens arrive evenly between
    # its first token and its end; streams in flight: time-average of open requests.
    tokens = busy = 0.0
    for r in ok:
        s = float(r["start_s"])  # the actual send; the *_service_ms times count from it
        t_first = s + float(r["ttft_service_ms"] or r["ttft_ms"] or 0) / 1e3
        t_end = s + float(r["e2e_service_ms"] or r["e2e_ms"] or 0) / 1e3
        busy += max(0.0, min(t_end, w1) - max(s, w0))
        n = int(r["output_tokens"] or 0)
        if n and t_end > t_first:
            tokens += n * max(0.0, min(t_end, w1) - max(t_first, w0)) / (t_end - t_first)
    failed = sum(1 for r in reqs if r["error_class"] and w0 <= float(r["start_s"]) < w1)
    # The run's start on the wall clock, to line up the mock's CPU samples.
    t0_unix = (float(reqs[0]["start_unix"]) - float(reqs[0]["start_s"])) if reqs else None
    mock = (
        sampler.window(t0_unix + w0, t0_unix + w1, args.server_core, args.client_core)
        if t0_unix is not None
        else {"mock_cpu_mean": None, "mock_cpu_max": None}
    )
    cpus = [float(r["cpu_percent"]) for r in health]
    lags = [float(r["loop_lag_ms_max"]) for r in health]
    ttft_p = _pcts(ttft)
    svc_p = _pcts(ttft_svc)
    mock_max = mock.get("mock_cpu_max")
    return {
        "window_s": round(window, 2),
        "requests_per_s": round(len(in_win) / window, 1),
        "streams_in_flight": round(busy / window, 1),
        "chunks_per_s": round(tokens / window, 0),
        "failures": failed,
        "errors": model.get("errors", {}),
        "gen_cpu_mean": round(sum(cpus) / len(cpus), 1) if cpus else None,
        "gen_cpu_max": max(cpus) if cpus else None,
        "loop_lag_ms_max": max(lags) if lags else None,
        "late_starts": sum(int(r["late_starts"]) for r in health),
        "late_starts_with_connect": late_conn,
        "connects_in_window": sum(1 for r in in_win if r.get("connect_ms")),
        "ttft_ms_last_0_5s": _pcts(at_stop),
        "ttft_split": split_ttft(in_win, server, args.ttft_ms),
        "stop_interval_lag_ms": max((float(r["loop_lag_ms_max"]) for r in stop_rows), default=None),
        "starts_without_free_user": sum(int(r["starts_without_free_user"]) for r in health),
        "bound_seconds": round(sum(float(r["end_s"]) - float(r["start_s"]) for r in bound_rows), 2),
        "bound_reasons": sorted({r["bound"] for r in bound_rows}),
        "flagged": bool(bound_rows),
        "ttft_ms": ttft_p,
        "ttft_service_ms": svc_p,
        "start_delay_ms": _pcts(delay),
        "ttft_p99_error_ms": (
            round(ttft_p["p99"] - args.ttft_ms, 2) if ttft_p["p99"] is not None else None
        ),
        "ttft_service_p99_error_ms": (
            round(svc_p["p99"] - args.ttft_ms, 2) if svc_p["p99"] is not None else None
        ),
        **mock,
        "mock_saturated": bool(mock_max is not None and mock_max >= MOCK_BUSY_PERCENT),
        **noise(mock, cpus),
        # As the run itself reports it (whole run, spawn included), for comparison.
        "summary_generator": {
            k: gen_whole.get(k)
            for k in (
                "cpu_percent_mean",
                "cpu_percent_max",
                "loop_lag_ms_max",
                "late_starts",
                "starts_without_free_user",
                "bound_seconds",
                "bound_intervals",
            )
        },
        "summary_ttft_ms": {k: model.get("ttft_ms", {}).get(k) for k in ("p50", "p99", "max")},
        "summary_ttft_service_ms": {
            k: model.get("ttft_service_ms", {}).get(k) for k in ("p50", "p99", "max")
        },
    }


# -- output --------------------------------------------------------------------------------
def _f(value: Any, digits: int = 1, width: int = 6) -> str:
    return cell(value, digits, width)


HEADER = (
    f"{'level':>6} {'users':>5} {'win s':>5} {'req/s':>7} {'inflt':>6} {'chunk/s':>8} | "
    f"{'cpu':>4} {'cpu':>4} {'lag':>5} {'late':>4} {'late':>4} {'no':>4} {'bound':>5} "
    f"{'bound':>5} | {'TTFT':>6} {'TTFT':>6} {'svc':>6} {'delay':>6} {'in':>5} {'mock':>5} "
    f"{'recv':>5} {'fail':>4} | "
    f"{'mock':>4} {'mock':>4} {'runq':>4} | verdict"
)
UNITS = (
    f"{'':>6} {'':>5} {'':>5} {'':>7} {'':>6} {'':>8} | {'mean':>4} {'max':>4} "
    f"{'maxms':>5} {'':>4} {'conn':>4} {'free':>4} {'s':>5} {'all s':>5} | {'p50':>6} "
    f"{'p99':>6} {'p99':>6} {'p99':>6} {'p99':>5} {'late':>5} {'p99':>5} {'':>4} | "
    f"{'mean':>4} {'max':>4} {'gen':>4} |"
)


def verdict(r: dict[str, Any]) -> str:
    if "error" in r:
        return "ERROR"
    parts = ["FLAGGED: " + "; ".join(r["bound_reasons"])] if r["flagged"] else ["ok"]
    if r["starts_without_free_user"]:
        parts.append(f"{r['starts_without_free_user']} without free user")
    if r["mock_saturated"]:
        parts.append("MOCK>90%")
    if r["failures"]:
        parts.append(f"{r['failures']} failed")
    if r.get("noisy"):
        parts.append(f"NOISY (other load {r.get('other_gen_core')}% of gen core)")
    return ", ".join(parts)


def row(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"{r['level']:>6}  {r['error']}"
    t, s, d = r["ttft_ms"], r["ttft_service_ms"], r["start_delay_ms"]
    sp = r["ttft_split"]
    whole = r["summary_generator"].get("bound_seconds")
    whole = float(whole) if whole is not None else None
    window = r["window_s"]
    return (
        f"{r['level']:>6} {r['users']:>5} {window:>5.1f} {_f(r['requests_per_s'], 1, 7)} "
        f"{_f(r['streams_in_flight'], 0)} {_f(r['chunks_per_s'], 0, 8)} | "
        f"{_f(r['gen_cpu_mean'], 0, 4)} {_f(r['gen_cpu_max'], 0, 4)} "
        f"{_f(r['loop_lag_ms_max'], 1, 5)} {_f(r['late_starts'], 0, 4)} "
        f"{_f(r['late_starts_with_connect'], 0, 4)} {_f(r['starts_without_free_user'], 0, 4)} "
        f"{_f(r['bound_seconds'], 0, 5)} {_f(whole, 0, 5)} | {_f(t['p50'], 1)} "
        f"{_f(t['p99'], 1)} {_f(s['p99'], 1)} {_f(d['p99'], 1)} "
        f"{_f(sp['inbound_ms']['p99'], 1, 5)} "
        f"{_f(sp['mock_first_token_late_ms']['p99'], 1, 5)} "
        f"{_f(sp['client_receive_delay_ms']['p99'], 1, 5)} {r['failures']:>4} | "
        f"{_f(r.get('mock_cpu_mean'), 0, 4)} {_f(r.get('mock_cpu_max'), 0, 4)} "
        f"{_f(r.get('gen_runq_ms_per_s'), 0, 4)} | {verdict(r)}"
    )


def clean(r: dict[str, Any]) -> bool:
    """A level that counts: ran, not flagged, mock not saturated, no failures."""
    return "error" not in r and not r["flagged"] and not r["mock_saturated"] and not r["failures"]


def final(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows that stand (a noisy flagged run that was re-run is superseded)."""
    return [r for r in rows if not r.get("superseded")]


def headline(kind: str, rows: list[dict[str, Any]], ttft_ms: float) -> dict[str, Any]:
    """The largest clean level, the first flagged one, and the TTFT our client adds there."""
    good = [r for r in final(rows) if clean(r)]
    bad = sorted((r for r in final(rows) if not clean(r)), key=lambda r: r["level"])
    best = max(good, key=lambda r: r["level"]) if good else None
    first_bad = bad[0] if bad else None
    unflagged = [r["level"] for r in final(rows) if "error" not in r and not r["flagged"]]
    out: dict[str, Any] = {
        "kind": kind,
        "largest_unflagged": best["level"] if best else None,
        "largest_unflagged_by_monitor": max(unflagged, default=None),
        "first_flagged": first_bad["level"] if first_bad else None,
        "first_flagged_reason": verdict(first_bad) if first_bad else None,
        "sweep_limited": first_bad is None,  # never flagged: only a lower bound
        "mock_ttft_ms": ttft_ms,
    }
    if best:
        out.update(
            {
                "achieved_requests_per_s": best["requests_per_s"],
                "streams_in_flight": best["streams_in_flight"],
                "chunks_per_s": best["chunks_per_s"],
                "gen_cpu_mean": best["gen_cpu_mean"],
                "ttft_p99_ms": best["ttft_ms"]["p99"],
                "ttft_p99_error_ms": best["ttft_p99_error_ms"],
                "ttft_service_p99_error_ms": best["ttft_service_p99_error_ms"],
                "client_receive_delay_p99_ms": best["ttft_split"]["client_receive_delay_ms"]["p99"],
                "inbound_p99_ms": best["ttft_split"]["inbound_ms"]["p99"],
                "mock_first_token_late_p99_ms": best["ttft_split"]["mock_first_token_late_ms"][
                    "p99"
                ],
            }
        )
    return out


def headline_line(h: dict[str, Any], unit: str) -> str:
    if h["largest_unflagged"] is None:
        return f"{h['kind']} loop: no clean level (first flagged {h['first_flagged']} {unit})"
    bound = ">= " if h["sweep_limited"] else ""
    nxt = (
        ""
        if h["sweep_limited"]
        else f" (next level {h['first_flagged']} {unit}: {h['first_flagged_reason']})"
    )
    return (
        f"{h['kind']} loop: largest clean level {bound}{h['largest_unflagged']} {unit}{nxt}; "
        f"largest level the generator's monitor did not flag: "
        f"{h['largest_unflagged_by_monitor']} {unit}. At {h['largest_unflagged']} {unit}: "
        f"{h['achieved_requests_per_s']:.1f} req/s, {h['streams_in_flight']:.0f} streams "
        f"in flight, {h['chunks_per_s']:.0f} chunks/s, generator CPU "
        f"{h['gen_cpu_mean']:.0f}%; TTFT p99 {h['ttft_p99_ms']:.1f} ms vs the mock's "
        f"{h['mock_ttft_ms']:g} ms = +{h['ttft_p99_error_ms']:.1f} ms from the scheduled "
        f"start (+{h['ttft_service_p99_error_ms']:.1f} ms from the actual send); p99 of its "
        f"parts: send->mock {_f(h['inbound_p99_ms'], 1, 0)} ms, mock late "
        f"{_f(h['mock_first_token_late_p99_ms'], 1, 0)} ms, mock write->our timestamp "
        f"{_f(h['client_receive_delay_p99_ms'], 1, 0)} ms"
    )


def anomalies_of(kind: str, r: dict[str, Any]) -> list[str]:
    """What in a level does not fit the simple story "flagged = CPU ran out"."""
    if "error" in r:
        return []
    out = []
    tag = f"{kind} {r['level']}" + (" (superseded)" if r.get("superseded") else "")
    ctx = (
        f"CPU max {r['gen_cpu_max']}%, runq {r.get('gen_runq_ms_per_s')} ms/s, other load "
        f"{r.get('other_gen_core')}% of the generator's core"
    )
    if (r["loop_lag_ms_max"] or 0) >= 10 and (r["gen_cpu_max"] or 0) < 90:
        out.append(f"{tag}: loop lag {r['loop_lag_ms_max']} ms with {ctx}")
    if r["late_starts"] and (r["gen_cpu_max"] or 0) < 90:
        out.append(
            f"{tag}: {r['late_starts']} late start(s) ({r['late_starts_with_connect']} "
            f"of them opening a connection) with {ctx}"
        )
    last = r["ttft_ms_last_0_5s"]["p99"]
    if last is not None and r["ttft_ms"]["p99"] is not None and last > r["ttft_ms"]["p99"] + 10:
        out.append(
            f"{tag}: requests sent in the last {STOP_MARGIN_S:g} s (left out) have TTFT "
            f"p99 {last:.1f} ms (window: {r['ttft_ms']['p99']:.1f}): the run's stop"
        )
    ttft_err = r.get("ttft_p99_error_ms")
    if not r["flagged"] and ttft_err is not None and ttft_err > 20:
        out.append(f"{tag}: not flagged, yet TTFT p99 is {ttft_err:+.1f} ms off the mock's")
    return out


# -- main ----------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--rates",
        default="25,50,100,200,400,800,1600,3200",
        help="open-loop arrival rates (req/s), ascending",
    )
    p.add_argument(
        "--users",
        default="50,100,200,400,800,1600,3200",
        help="closed-loop users (= concurrent streams), ascending",
    )
    p.add_argument("--sweeps", default="open,closed", help="which sweeps: open, closed")
    p.add_argument("--open-time", type=float, default=10.0, help="run time of an open level (s)")
    p.add_argument(
        "--closed-time",
        type=float,
        default=15.0,
        help="run time of a closed level (s); its first ~5.5 s are warm-up",
    )
    p.add_argument(
        "--closed-think",
        default="0-1",
        help="closed loop --think-time MIN-MAX (s); '0' = back to back (see "
        "closed_level: herds on a fixed-timing mock)",
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=1.0,
        help="seconds at the start of each run left out (longer if spawning is)",
    )
    p.add_argument(
        "--no-refine",
        action="store_true",
        help="do not run a level halfway between the last clean and first flagged",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2 levels per sweep (rates 50,400; users 50,400), 6 s each",
    )
    p.add_argument("--ttft-ms", type=float, default=50.0)
    p.add_argument("--itl-ms", type=float, default=20.0)
    p.add_argument("--open-tokens", type=int, default=32, help="reply length, open loop")
    p.add_argument("--closed-tokens", type=int, default=200, help="reply length, closed loop")
    p.add_argument("--server-core", default="1")
    p.add_argument("--client-core", default="0")
    p.add_argument(
        "--budget",
        type=float,
        default=600.0,
        help="wall-clock budget (s): no new level starts after it",
    )
    p.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run the mock and the generator at this nice level (negative needs "
        "root): less disturbed by other load on a shared machine",
    )
    p.add_argument(
        "--quiet-below",
        type=float,
        default=30.0,
        help="before each level wait until every core is below this %% busy",
    )
    p.add_argument(
        "--quiet-wait", type=float, default=20.0, help="... but at most this many seconds"
    )
    p.add_argument(
        "--retries",
        type=int,
        default=1,
        help="re-runs of a flagged level that ran while the machine was noisy",
    )
    p.add_argument("--no-save", action="store_true", help="do not write benchmarks/results/")
    p.add_argument(
        "--keep",
        metavar="DIR",
        type=Path,
        help="keep the run folders, logs and the mock's log in DIR",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.rates, args.users, args.no_refine = "50,400", "50,400", True
        args.open_time, args.closed_time = 6.0, 9.0
    args.rates = sorted(int(x) for x in args.rates.split(",") if x.strip())
    args.users = sorted(int(x) for x in args.users.split(",") if x.strip())
    args.sweeps = [s.strip() for s in args.sweeps.split(",") if s.strip()]
    if set(args.sweeps) - {"open", "closed"} or not args.sweeps:
        p.error("--sweeps takes open, closed")
    if args.nice < 0 and os.geteuid() != 0:
        p.error("a negative --nice needs root")
    if min(args.open_time, args.closed_time) < args.warmup + 3:
        p.error("run times must be at least 3 s longer than --warmup")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sigterm_as_interrupt()
    pinned = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    nice = ["nice", "-n", str(args.nice)] if args.nice else []
    pin_mock = [*nice, *(["taskset", "-c", args.server_core] if pinned else [])]
    pin_gen = [*nice, *(["taskset", "-c", args.client_core] if pinned else [])]
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    n_levels = (len(args.rates) if "open" in args.sweeps else 0) + (
        len(args.users) if "closed" in args.sweeps else 0
    )
    say(
        f"generator_capacity: up to {n_levels} levels of {args.open_time:g} s (open) / "
        f"{args.closed_time:g} s (closed, think {args.closed_think} s); each sweep stops after "
        f"its first flagged level; budget {args.budget:.0f} s"
    )
    say(
        f"mock: TTFT {args.ttft_ms:g} ms, ITL {args.itl_ms:g} ms, no jitter, unlimited "
        f"concurrency; {args.open_tokens} tokens (open loop), {args.closed_tokens} (closed)"
    )
    say(
        f"pinning: mock on core {args.server_core}, generator on core {args.client_core}"
        if pinned
        else "pinning: UNAVAILABLE (taskset missing or 1 core): figures unreliable"
    )
    if args.nice:
        say(f"priority: mock and generator run at nice {args.nice}")
    say(
        f"host: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, loadavg "
        f"{os.getloadavg()[0]:.2f}, python {platform.python_version()}"
    )
    say(
        f"steady window: [warm-up, run time) of each run; warm-up >= {args.warmup:g} s, open: "
        "until every pool user has connected, closed: after the first round of streams"
    )

    started = time.time()
    results: dict[str, list[dict[str, Any]]] = {s: [] for s in args.sweeps}
    with tempfile.TemporaryDirectory(prefix="generator_capacity-") as tmp:
        work = Path(tmp) if args.keep is None else args.keep
        work.mkdir(parents=True, exist_ok=True)
        mock = Mock(
            "generator_capacity",
            work,
            mock_models(args),
            pin_mock,
            profile_name="capacity_profiles.toml",
            serve_only=True,
        )
        try:
            for kind in args.sweeps:
                values = args.rates if kind == "open" else args.users
                make = open_level if kind == "open" else closed_level
                unit = "req/s" if kind == "open" else "users"
                say()
                say(f"== {kind} loop (level = {'offered req/s' if kind == 'open' else 'users'})")
                say(HEADER)
                say(UNITS)
                rows = results[kind]

                def measure(level: Level, rows: list[dict[str, Any]] = rows) -> dict[str, Any]:
                    """Run a level after a quiet check; a flagged level that ran while other
                    processes took the generator's core is re-run once (--retries)."""
                    for attempt in range(args.retries + 1):
                        quiet = wait_quiet(args.quiet_below, args.quiet_wait)
                        r = run_level(level, args, mock, work, pin_gen)
                        r["quiet_check"] = quiet
                        r["loadavg"] = round(os.getloadavg()[0], 2)
                        rows.append(r)
                        say(row(r))
                        if clean(r) or not r.get("noisy") or attempt == args.retries:
                            return r
                        r["superseded"] = True
                        say(
                            f"   re-running {level.value}: flagged while other load took the "
                            f"generator's core (runq {r.get('gen_runq_ms_per_s')} ms/s)"
                        )
                    return r

                todo = list(values)
                while todo:
                    if time.time() - started > args.budget:
                        say(f"   budget of {args.budget:.0f} s spent: {todo} not run")
                        break
                    r = measure(make(todo.pop(0), args))
                    if clean(r):
                        continue
                    todo = []
                    good = [x["level"] for x in rows if clean(x)]
                    mid = (max(good) + r["level"]) // 2 if good else None
                    if (
                        not args.no_refine
                        and mid
                        and mid not in (max(good), r["level"])
                        and "error" not in r
                        and time.time() - started < args.budget
                    ):
                        say(f"   refining: {mid} {unit} (halfway)")
                        measure(make(mid, args))
        except KeyboardInterrupt:
            say("interrupted: partial results follow")
        finally:
            mock.close()
    say()
    say(
        "columns: users = Locust users (open loop: the pool); win s = steady window; req/s "
        "achieved (requests started in the window / s); inflt = streams in flight (time "
        "average); chunk/s = output tokens received per s; cpu %, lag, late, no free, bound s "
        "= the generator's own per-second monitor in the window (late conn = late sends that "
        "included opening a connection; 'all s' = bound seconds in summary.json, spawn "
        "included); TTFT from the scheduled start, svc from the actual send, delay = send - "
        "due; in = send -> mock handler start, mock late = first token written vs the mock's "
        "plan, recv = mock write -> our timestamp (all ms, p99, from the mock's record); "
        "mock cpu % from /proc (max over ~1 s); runq gen = ms/s the generator "
        "waited for its core (other load on the machine)"
    )
    heads = {}
    for kind, rows in results.items():
        if rows:
            heads[kind] = headline(kind, rows, args.ttft_ms)
            say(headline_line(heads[kind], "req/s" if kind == "open" else "users"))
            low = min((r for r in rows if "error" not in r), key=lambda r: r["level"], default=None)
            if low is not None:
                heads[kind]["floor_level"] = low["level"]
                heads[kind]["floor_ttft_p99_error_ms"] = low["ttft_p99_error_ms"]
                say(
                    f"  (floor: +{low['ttft_p99_error_ms']:.1f} ms p99 at the lowest level, "
                    f"{low['level']}: mock scheduling + loopback + client at light load)"
                )
    anomalies = [a for kind, rows in results.items() for r in rows for a in anomalies_of(kind, r)]
    for a in anomalies:
        say(f"anomaly: {a}")
    say(f"\ntotal {time.time() - started:.0f} s")
    if not args.no_save:
        save_results(
            "generator_capacity",
            started,
            args,
            results,
            out,
            pinned=pinned,
            extra={"headline": heads, "anomalies": anomalies},
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
