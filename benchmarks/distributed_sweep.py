"""Distributed sweep: streams and chunks/s with 1 and 2 worker processes (``loadprofile run
--processes N``), and the TTFT error of each against the mock's record.

The mock (``--record``, fixed-timing ``bench`` profile as in client_sweep.py: TTFT 20 ms, ITL
10 ms, no jitter) runs pinned to core 0; at each stream count (closed loop, think time 0, all
users spawned at once) each configuration runs once, interleaved: ``single`` (no
--processes), ``proc1`` and ``proc2`` (master + 1 or 2 workers), all pinned to core 1 (the
workers inherit the affinity: two workers on one core cannot be faster than one), and
``proc2-free`` (2 workers, not pinned). Only requests started in the steady window [warmup,
run time - 0.5 s) count. TTFT error per request = client TTFT (requests.csv, from the send)
- server TTFT (the record: first content write - receive), matched by request id (the
client's X-Request-Id is the record's request_id).

    .venv/bin/python benchmarks/distributed_sweep.py                  # ~5 min
    .venv/bin/python benchmarks/distributed_sweep.py --streams 50 --configs single,proc2

Writes benchmarks/results/distributed_sweep-<date>.json and .txt (the printed tables).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import re
import shutil
import signal
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
    save_results,
    sigterm_as_interrupt,
    token_range,
)
from procstat import proc_cpu_ticks, watch

VENV_BIN = Path(sys.executable).parent
MODEL, TTFT_MS, ITL_MS = "bench", 20.0, 10.0  # the fixed-timing profile of client_sweep.py
CLK_TCK = os.sysconf("SC_CLK_TCK")
#: name -> (--processes, pinned to the client core)
CONFIGS: dict[str, tuple[int | None, bool]] = {
    "single": (None, True),
    "proc1": (1, True),
    "proc2": (2, True),
    "proc2-free": (2, False),
}
STOP_TIMEOUT_S = 5.0
STOP_MARGIN_S = 0.5
#: A run still going this long after run time + stop timeout is killed (master and workers).
HARD_TIMEOUT_MARGIN_S = 45.0
#: Expected start-up, drain and record fetch per run, for the printed estimate.
RUN_OVERHEAD_S = 5.0
MOCK_BUSY_PERCENT = 90.0
LOG_NOTE = re.compile(r"warn|traceback|lost|refused|partial|error:", re.IGNORECASE)


# -- processes -----------------------------------------------------------------------------
def children(pid: int) -> list[int]:
    """Child processes of ``pid`` (the master's local workers)."""
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as fh:
                out += [int(x) for x in fh.read().split()]
    return out


def start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat: tells our worker from a later process with its pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class Sampler:
    """CPU ticks of the generator (master + workers) and of the mock, on the wall clock."""

    gen_pid: int
    mock_pid: int
    workers: dict[int, int] = field(default_factory=dict)  # pid -> start time
    samples: list[tuple[float, dict[int, int], int | None]] = field(default_factory=list)

    def sample(self) -> None:
        for pid in children(self.gen_pid):
            if pid not in self.workers and (st := start_time(pid)) is not None:
                self.workers[pid] = st
        ticks = {
            p: t for p in (self.gen_pid, *self.workers) if (t := proc_cpu_ticks(p)) is not None
        }
        self.samples.append((time.time(), ticks, proc_cpu_ticks(self.mock_pid)))

    def window(self, t0: float, t1: float) -> dict[str, Any]:
        """CPU % (100 = one core) between the first and last sample inside [t0, t1]."""
        inside = [s for s in self.samples if t0 <= s[0] <= t1]
        if len(inside) < 2:
            return {"gen_cpu": None, "mock_cpu": None}
        (ta, gen_a, mock_a), (tb, gen_b, mock_b) = inside[0], inside[-1]
        pct = lambda ticks: round(100.0 * ticks / CLK_TCK / (tb - ta), 1)  # noqa: E731
        return {
            "gen_cpu": pct(sum(gen_b[p] - gen_a[p] for p in gen_b if p in gen_a)),
            "gen_processes": sum(1 for p in gen_b if p in gen_a),
            "mock_cpu": None if mock_a is None or mock_b is None else pct(mock_b - mock_a),
        }

    def kill_leftovers(self) -> None:
        """SIGKILL this run's workers still alive: they run in their own session, so the
        kill of the master's process group does not reach them."""
        for pid, st in self.workers.items():
            if start_time(pid) == st:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


# -- one run -------------------------------------------------------------------------------
def run_one(
    name: str, streams: int, args: argparse.Namespace, mock: Mock, work: Path
) -> dict[str, Any]:
    """One ``loadprofile run`` of configuration ``name`` at ``streams`` users."""
    processes, pinned = CONFIGS[name]
    tag = f"{name}-u{streams}"
    out_dir, log_path = work / tag, work / f"{tag}.log"
    pin = ["taskset", "-c", args.client_core] if pinned and args.pinning else []
    cmd = [
        *pin,
        str(VENV_BIN / "loadprofile"),
        "run",
        "--host",
        mock.url,
        "--model",
        MODEL,
        "-u",
        str(streams),
        "-r",
        str(streams),
        "-t",
        f"{args.run_time:g}s",
        "--think-time",
        "0",
        "--max-tokens",
        "256",
        "--stop-timeout",
        f"{STOP_TIMEOUT_S:g}s",
        "--seed",
        "0",
        "--no-report",
        "--out",
        str(out_dir),
    ]
    cmd += ["--processes", str(processes)] if processes else []
    mock.call("DELETE", "/mock/requests")
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
        deadline = t_start + args.run_time + STOP_TIMEOUT_S + HARD_TIMEOUT_MARGIN_S
        try:
            killed = watch(proc, deadline, sampler.sample, 0.25)
        finally:
            sampler.kill_leftovers()
    log_lines = log_path.read_text(errors="replace").splitlines()
    base: dict[str, Any] = {
        "config": name,
        "streams": streams,
        "exit_code": proc.returncode,
        "wall_s": round(time.monotonic() - t_start, 1),
        "log_notes": [ln.strip() for ln in log_lines if LOG_NOTE.search(ln)],
    }
    if killed or not (out_dir / "summary.json").exists():
        base["error"] = f"no summary (killed={killed}, exit={proc.returncode}): {log_lines[-2:]}"
        return base
    server = mock.call("GET", "/mock/requests", timeout_s=120.0)
    if args.keep:
        (work / f"{tag}.server.json").write_text(json.dumps(server))
    return {**base, **analyse(out_dir, args, sampler, server)}


def _pct(values: list[float], q: float, method: str = "linear") -> float | None:
    if not values:
        return None
    return round(float(np.percentile(values, q, method=method)), 3)  # type: ignore[call-overload]


def _p99(values: list[float]) -> float | None:
    """p99 by nearest rank, as an HdrHistogram (summary.json) takes it."""
    return _pct(values, 99, "inverted_cdf")


def analyse(
    out_dir: Path, args: argparse.Namespace, sampler: Sampler, server: list[dict[str, Any]]
) -> dict[str, Any]:
    """The run's figures over the steady window, and its TTFT against the server's."""
    summary = json.loads((out_dir / "summary.json").read_text())
    run = json.loads((out_dir / "run.json").read_text())
    with (out_dir / "requests.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return {"error": "no requests in requests.csv"}
    t0 = float(rows[0]["start_unix"]) - float(rows[0]["start_s"])  # run start, wall clock
    w0, w1 = args.warmup, args.run_time - STOP_MARGIN_S
    window = w1 - w0
    by_id = {r["request_id"]: r for r in server}
    ok = [r for r in rows if not r["error_class"] and r["ttft_service_ms"]]
    in_win = [r for r in rows if w0 <= float(r["start_s"]) < w1]
    tokens, unmatched = 0.0, 0
    pairs_all: list[tuple[float, float]] = []  # (client TTFT, server TTFT) of each request
    pairs_win: list[tuple[float, float]] = []  # the same, requests started in the window
    for r in ok:
        s, n, inside = float(r["start_s"]), int(r["output_tokens"]), w0 <= float(r["start_s"]) < w1
        # Chunks received in the window: a fixed-ITL reply's arrive evenly between its first
        # token and its end (requests.csv has no per-chunk times).
        t1, t2 = s + float(r["ttft_service_ms"]) / 1e3, s + float(r["e2e_service_ms"]) / 1e3
        tokens += n * max(0.0, min(t2, w1) - max(t1, w0)) / (t2 - t1) if t2 > t1 else 0.0
        srv = by_id.get(r["request_id"])
        if not srv or srv.get("status") != 200 or not srv.get("first_content_ns"):
            unmatched += inside
            continue
        pair = (float(r["ttft_service_ms"]), (srv["first_content_ns"] - srv["received_ns"]) / 1e6)
        pairs_all.append(pair)
        pairs_win += [pair] * inside
    err = [c - s for c, s in pairs_win]
    model = summary["models"].get(MODEL, {})
    sum_p99 = model.get("ttft_ms", {}).get("p99")
    diff = lambda a, b: None if a is None or b is None else round(a - b, 3)  # noqa: E731
    srv_p99, csv_p99 = _p99([s for _, s in pairs_all]), _p99([c for c, _ in pairs_all])
    cpu = sampler.window(t0 + w0, t0 + w1)
    chunks_per_s = round(tokens / window, 1)
    out: dict[str, Any] = {
        "window_s": window,
        "requests": len(pairs_win),
        "chunks_per_s": chunks_per_s,
        "requests_per_s": round(sum(1 for r in in_win if not r["error_class"]) / window, 1),
        "unmatched": unmatched,
        "failures": sum(1 for r in in_win if r["error_class"]),
        "failures_whole_run": sum(1 for r in rows if r["error_class"]),
        "errors": model.get("errors", {}),
        "ttft_err_ms": {
            "p50": _pct(err, 50),
            "p99": _pct(err, 99),
            "max": _pct(err, 100),
            "n": len(err),
        },
        "summary_ttft_p99_ms": sum_p99,
        "server_ttft_p99_ms": srv_p99,
        "csv_ttft_p99_ms": csv_p99,
        "summary_minus_server_p99_ms": diff(sum_p99, srv_p99),
        "summary_minus_csv_p99_ms": diff(sum_p99, csv_p99),  # the HdrHistogram and merge
        "window_csv_minus_server_p99_ms": diff(
            _p99([c for c, _ in pairs_win]), _p99([s for _, s in pairs_win])
        ),
        "summary_count": model.get("ttft_ms", {}).get("count"),
        "csv_count": len(ok),
        **cpu,
        "gen_us_per_chunk": (
            round(cpu["gen_cpu"] * 1e4 / chunks_per_s, 1)
            if cpu.get("gen_cpu") and chunks_per_s
            else None
        ),
        "workers": [
            {
                k: w.get(k)
                for k in (
                    "index",
                    "pid",
                    "status",
                    "partial",
                    "requests",
                    "cpu_percent_mean",
                    "cpu_percent_max",
                    "note",
                )
            }
            for w in run.get("workers") or []
        ],
        "master_cpu_percent": (run.get("distributed") or {}).get("master_cpu_percent"),
        "generator": run.get("generator") or {},
        "partial": run.get("partial"),
        "warnings": run.get("warnings") or [],
    }
    out["notes"] = notes(out)
    return out


def notes(r: dict[str, Any]) -> list[str]:
    """What in a run is not as it should be."""
    out = [
        f"worker {w['index']} {w['status']}"
        for w in r["workers"]
        if w["status"] != "complete" or w["partial"]
    ]
    out += ["partial"] * bool(r["partial"]) + [f"{len(r['warnings'])} warning(s)"] * bool(
        r["warnings"]
    )
    if r["generator"].get("bound_seconds"):
        out.append(f"generator-bound {r['generator']['bound_seconds']} s")
    if r["unmatched"]:
        out.append(f"{r['unmatched']} not in the mock's record")
    if r["summary_count"] != r["csv_count"]:
        out.append(f"summary count {r['summary_count']} != requests.csv {r['csv_count']}")
    if (r.get("mock_cpu") or 0) > MOCK_BUSY_PERCENT:
        out.append("MOCK>90%")
    if r["failures_whole_run"]:
        out.append(f"{r['failures_whole_run']} failed (whole run): {r['errors']}")
    return out


# -- output --------------------------------------------------------------------------------
def _f(value: Any, digits: int = 2, width: int = 7) -> str:
    return cell(value, digits, width)


HEADER = (
    f"{'streams':>7} {'req/s':>7} {'chunks/s':>9} | {'gen':>6} {'gen':>6} {'mock':>5} | "
    f"{'TTFT err':>8} {'':>7} | {'summary':>8} {'window':>7} | {'fail':>4}  notes"
)
UNITS = (
    f"{'':>7} {'':>7} {'':>9} | {'cpu%':>6} {'us/ch':>6} {'cpu%':>5} | "
    f"{'p50 ms':>8} {'p99 ms':>7} | {'-srv p99':>8} {'-srv p99':>7} | {'':>4}"
)


def row(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"{r['streams']:>7}  ERROR {r['error']}"
    e = r["ttft_err_ms"]
    extra = (
        [f"exit {r['exit_code']}"] * bool(r["exit_code"])
        + r["notes"]
        + [f"{len(r['log_notes'])} log line(s)"] * bool(r["log_notes"])
    )
    return (
        f"{r['streams']:>7} {r['requests_per_s']:>7.1f} {r['chunks_per_s']:>9.0f} | "
        f"{_f(r['gen_cpu'], 0, 6)} {_f(r['gen_us_per_chunk'], 1, 6)} "
        f"{_f(r['mock_cpu'], 0, 5)} | {_f(e['p50'], 2, 8)} {_f(e['p99'])} | "
        f"{_f(r['summary_minus_server_p99_ms'], 2, 8)} "
        f"{_f(r['window_csv_minus_server_p99_ms'])} | "
        f"{r['failures'] + r['unmatched']:>4}  {'; '.join(extra)}"
    )


def comparison(results: dict[str, list[dict[str, Any]]], steps: list[int]) -> list[str]:
    """Per stream count, the configurations side by side."""
    lines = [f"{'streams':>7} | chunks/s ({' / '.join(results)}) | TTFT err p99 ms | gen cpu%"]
    for n in steps:
        got = [
            next((r for r in rows if r["streams"] == n and "error" not in r), {})
            for rows in results.values()
        ]
        cols = [
            " / ".join(_f(f(r), digits, 0) for r in got)
            for f, digits in (
                (lambda r: r.get("chunks_per_s"), 0),
                (lambda r: r.get("ttft_err_ms", {}).get("p99"), 2),
                (lambda r: r.get("gen_cpu"), 0),
            )
        ]
        lines.append(f"{n:>7} | {cols[0]} | {cols[1]} | {cols[2]}")
    return lines


# -- main ----------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--streams", default="50,150,300,450", help="concurrent streams (users)")
    p.add_argument("--configs", default=",".join(CONFIGS), help=f"of: {', '.join(CONFIGS)}")
    p.add_argument("--run-time", type=float, default=15.0, help="seconds per run (-t)")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds left out at the start")
    p.add_argument("--tokens", default="100-200", help="output tokens MIN-MAX per reply")
    p.add_argument("--cores", default="0,1", help="mock core,generator core")
    p.add_argument(
        "--budget",
        type=float,
        default=420.0,
        help="wall-clock budget (s): no new run starts after it",
    )
    p.add_argument("--no-save", action="store_true", help="do not write benchmarks/results/")
    p.add_argument(
        "--keep",
        metavar="DIR",
        type=Path,
        help="keep the run folders, logs and the mock's records in DIR",
    )
    args = p.parse_args(argv)
    args.streams = [int(s) for s in args.streams.split(",") if s.strip()]
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    args.server_core, _, args.client_core = args.cores.partition(",")
    if set(args.configs) - set(CONFIGS) or not args.configs or not args.streams:
        p.error(f"--configs takes {', '.join(CONFIGS)}; --streams at least one count")
    if args.run_time < args.warmup + STOP_MARGIN_S + 3:
        p.error("--run-time must be at least 3.5 s longer than --warmup")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sigterm_as_interrupt()
    args.pinning = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    runs = len(args.streams) * len(args.configs)
    per_run_bound = args.run_time + STOP_TIMEOUT_S + HARD_TIMEOUT_MARGIN_S
    bound = min(runs * per_run_bound, args.budget + per_run_bound) + 20  # + the mock's start
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    expect_min = runs * (args.run_time + RUN_OVERHEAD_S) / 60
    say(
        f"distributed_sweep: {runs} runs of {args.run_time:g} s, about {expect_min:.1f} min "
        f"(hard bound {bound / 60:.1f} min: budget {args.budget:g} s, each run killed after "
        f"{per_run_bound:g} s)"
    )
    say(
        f"mock '{MODEL}': TTFT {TTFT_MS:g} ms, ITL {ITL_MS:g} ms, {args.tokens} tokens; steady "
        f"window [{args.warmup:g}, {args.run_time - STOP_MARGIN_S:g}) s; "
        + (
            f"mock on core {args.server_core}, generator on {args.client_core}"
            if args.pinning
            else "NOT PINNED (no taskset or 1 core): figures unreliable"
        )
    )
    say(
        f"host: {platform.node()}, {os.cpu_count()} cores, loadavg {os.getloadavg()[0]:.2f}, "
        f"python {platform.python_version()}"
    )
    results: dict[str, list[dict[str, Any]]] = {c: [] for c in args.configs}
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="distributed_sweep-") as tmp:
        work = Path(tmp) if args.keep is None else args.keep
        work.mkdir(parents=True, exist_ok=True)
        timing = FixedTiming(TTFT_MS, ITL_MS, *token_range(args.tokens))
        mock = Mock(
            "distributed_sweep",
            work,
            {MODEL: timing},
            ["taskset", "-c", args.server_core] if args.pinning else [],
            serve_only=True,
        )
        try:
            for streams in args.streams:
                for name in args.configs:
                    if time.time() - started > args.budget:
                        raise TimeoutError
                    r = run_one(name, streams, args, mock, work)
                    results[name].append(r)
                    print(f"  [{time.time() - started:4.0f} s] {name:<10} {row(r)}", flush=True)
        except KeyboardInterrupt:
            say("interrupted: partial results follow")
        except TimeoutError:
            say(f"budget of {args.budget:g} s spent: the remaining runs were not started")
        finally:
            mock.close()
    for name, rows in results.items():
        processes, pinned = CONFIGS[name]
        say(
            f"\n== {name}: --processes {processes or '(none)'}, "
            + (f"pinned to core {args.client_core}" if pinned else "not pinned")
        )
        for line in (HEADER, UNITS, *map(row, rows)):
            say(line)
    say()
    for line in comparison(results, args.streams):
        say(line)
    say(
        "\nTTFT err = client - server TTFT per request (window); summary -srv p99 = summary.json"
        "'s TTFT p99 - the record's (whole run, same requests); window -srv p99 = the same from "
        "requests.csv, window only; gen cpu% = master + workers (100 = one core)"
    )
    say("\nrun.json warnings and warning lines of the runs' output (master and workers):")
    for name, rows in results.items():
        for r in rows:
            for text in dict.fromkeys(r.get("warnings", []) + r["log_notes"]):
                say(f"  {name} {r['streams']}: {text}")
    say(f"\ntotal {time.time() - started:.0f} s")
    if not args.no_save:
        save_results("distributed_sweep", started, args, results, out, timespec="seconds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
