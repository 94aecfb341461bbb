"""Client timing accuracy and throughput sweep: loadprofile's ChatUser vs a naive HttpUser.

The mock server runs pinned to one core (``taskset -c 0``) with a fixed-timing ``bench``
profile and ``--record``; each load generator runs as a plain headless Locust process
pinned to the other core (``taskset -c 1``), no think time, at each concurrency of the
sweep. After each run the server's record (when it finished writing each content chunk,
``perf_counter_ns`` = CLOCK_MONOTONIC, machine-wide) is compared with the client's receive
time of the same chunk:

    TTFT error   client first-content receive − server first-content write   (per request)
    token error  client receive − server write, for every content chunk      (per token)
    ITL error    |client gap − server gap| between consecutive content chunks (per gap)

and the chunk rate the generator handled (content chunks received per second) is counted.
Only the steady window [test start + warmup, test start + step time − 0.5 s] is used.

    .venv/bin/python benchmarks/client_sweep.py                       # full sweep (~4 min)
    .venv/bin/python benchmarks/client_sweep.py --steps 10,100 --step-time 5

Speed targets live here, not in the tests; the machine is shared, so compare generators as
ratios within one run (runs of the generators are interleaved at every step).
Writes benchmarks/results/client_sweep-<date>.json and .txt (the printed tables).
"""

from __future__ import annotations

import argparse
import json
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
    save_results,
    sigterm_as_interrupt,
    token_range,
)
from procstat import core_ticks, proc_cpu_ticks, run_delay_ns, wait_ms_per_s, watch

BENCH_DIR = Path(__file__).resolve().parent
MODEL = "bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")

#: name -> (locustfile, extra environment)
GENERATORS: dict[str, tuple[str, dict[str, str]]] = {
    "loadprofile": ("locust_ours.py", {}),
    "naive-iter_content": ("locust_naive.py", {"BENCH_NAIVE_MODE": "iter_content"}),
    "naive-iter_lines": ("locust_naive.py", {"BENCH_NAIVE_MODE": "iter_lines"}),
    "naive-iter_content_1": ("locust_naive.py", {"BENCH_NAIVE_MODE": "iter_content_1"}),
    "naive-fasthttp": ("locust_fasthttp.py", {}),
}
DEFAULT_GENERATORS = (
    "loadprofile",
    "naive-iter_content_1",
    "naive-iter_content",
    "naive-iter_lines",
)
#: The baselines the targets are stated against (HttpUser + requests).
TARGET_BASELINES = ("naive-iter_content_1", "naive-iter_content", "naive-iter_lines")
OURS = "loadprofile"
#: Seconds a locust process may need beyond --run-time (start-up, drain, dump) before it is
#: killed; a stream of the bench profile lasts ~2 s, the drain waits for it.
HARD_TIMEOUT_MARGIN_S = 60.0
#: Expected overhead per run (start-up, drain, record fetch), for the printed estimate.
RUN_OVERHEAD_S = 1.5
MOCK_BUSY_PERCENT = 90.0
STOP_MARGIN_S = 0.5
THRESHOLDS_MS = (2.0, 5.0)


# -- /proc sampling ------------------------------------------------------------------------
@dataclass
class Sample:
    t_ns: int
    gen: int | None
    mock: int | None
    gen_wait: int | None
    mock_wait: int | None
    cores: dict[str, tuple[int, int]]


@dataclass
class Sampler:
    """Samples CPU ticks of the generator, the mock and every core against perf_counter."""

    gen_pid: int
    mock_pid: int
    samples: list[Sample] = field(default_factory=list)

    def sample(self) -> None:
        self.samples.append(
            Sample(
                time.perf_counter_ns(),
                proc_cpu_ticks(self.gen_pid),
                proc_cpu_ticks(self.mock_pid),
                run_delay_ns(self.gen_pid),
                run_delay_ns(self.mock_pid),
                core_ticks(),
            )
        )

    def window(self, w0: int, w1: int) -> dict[str, float | None]:
        """CPU percentages between the samples nearest inside [w0, w1]."""
        inside = [s for s in self.samples if w0 <= s.t_ns <= w1 and s.gen is not None]
        if len(inside) < 2:
            return {"gen_cpu": None, "mock_cpu": None}
        a, b = inside[0], inside[-1]
        secs = (b.t_ns - a.t_ns) / 1e9
        out: dict[str, float | None] = {
            "gen_cpu": _pct(a.gen, b.gen, secs),
            "mock_cpu": _pct(a.mock, b.mock, secs),
            # ms per second spent waiting for a CPU: other load on the machine, not our code
            "gen_runq_ms_per_s": wait_ms_per_s(a.gen_wait, b.gen_wait, secs),
            "mock_runq_ms_per_s": wait_ms_per_s(a.mock_wait, b.mock_wait, secs),
        }
        for core, (busy1, total1) in b.cores.items():
            busy0, total0 = a.cores.get(core, (busy1, total1))
            out[f"{core}_busy"] = round(100.0 * (busy1 - busy0) / max(1, total1 - total0), 1)
        return out


def _pct(t0: int | None, t1: int | None, secs: float) -> float | None:
    if t0 is None or t1 is None or secs <= 0:
        return None
    return round(100.0 * (t1 - t0) / CLK_TCK / secs, 1)


# -- one run -------------------------------------------------------------------------------
@dataclass
class StepConfig:
    users: int
    step_time_s: float
    warmup_s: float
    ttft_ms: float
    itl_ms: float
    server_core: str = "0"
    client_core: str = "1"


def run_generator(
    name: str,
    cfg: StepConfig,
    mock: Mock,
    work: Path,
    pin: list[str],
    dataset: Path,
    keep: bool = False,
) -> dict[str, Any]:
    """One headless Locust run of generator ``name``; returns its figures."""
    locustfile, extra_env = GENERATORS[name]
    tag = f"{name}-u{cfg.users}"
    dump = work / f"{tag}.json"
    env = {
        **os.environ,
        **extra_env,
        "BENCH_DUMP": str(dump),
        "BENCH_DATASET": str(dataset),
        "BENCH_MODEL": MODEL,
        "BENCH_MAX_TOKENS": "256",
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [
        *pin,
        str(Path(sys.executable).parent / "locust"),
        "-f",
        str(BENCH_DIR / locustfile),
        "--host",
        mock.url,
        "--headless",
        "-u",
        str(cfg.users),
        "-r",
        str(cfg.users),
        "-t",
        f"{cfg.step_time_s:g}s",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    if name == OURS:
        cmd += [
            "--model",
            MODEL,
            "--dataset",
            str(dataset),
            "--think-time",
            "0",
            "--max-tokens",
            "256",
            "--out",
            str(work / f"run-{tag}"),
        ]
    mock.call("DELETE", "/mock/requests")
    log = (work / f"{tag}.log").open("w")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    sampler = Sampler(proc.pid, mock.proc.pid)
    deadline = time.monotonic() + cfg.step_time_s + HARD_TIMEOUT_MARGIN_S
    try:
        killed = watch(proc, deadline, sampler.sample, 0.25)
    finally:
        log.close()
    base: dict[str, Any] = {"generator": name, "streams": cfg.users, "exit_code": proc.returncode}
    if killed or not dump.exists():
        base["error"] = f"no results (killed={killed}, exit={proc.returncode}); see {log.name}"
        return base
    client = json.loads(dump.read_text())
    server = mock.call("GET", "/mock/requests")
    if keep:
        (work / f"{tag}.server.json").write_text(json.dumps(server))
    figures = analyse(client, server, cfg, sampler)
    # Work of other processes on the two cores (the machine is shared).
    for side, core, own in (
        ("client", cfg.client_core, "gen_cpu"),
        ("server", cfg.server_core, "mock_cpu"),
    ):
        busy = figures.get(f"cpu{core}_busy")
        if busy is not None and figures.get(own) is not None:
            figures[f"other_cpu_{side}_core"] = round(max(0.0, busy - figures[own]), 1)
    gen_cpu, rate = figures.get("gen_cpu"), figures.get("chunks_per_s")
    figures["gen_us_per_chunk"] = round(gen_cpu * 1e4 / rate, 1) if gen_cpu and rate else None
    return {**base, **figures}


def _pcts(values: list[float] | np.ndarray) -> dict[str, float | None]:
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return {"p50": None, "p99": None, "max": None, "n": 0}
    p50, p99 = np.percentile(arr, [50, 99])
    return {
        "p50": round(float(p50), 3),
        "p99": round(float(p99), 3),
        "max": round(float(arr.max()), 3),
        "n": int(arr.size),
    }


def analyse(
    client: dict[str, Any], server: list[dict[str, Any]], cfg: StepConfig, sampler: Sampler
) -> dict[str, Any]:
    """Match client and server records by request id and compute the step's figures."""
    start = client["marks"].get("test_start_ns")
    if start is None:
        return {"error": "the generator never started"}
    w0 = start + int(cfg.warmup_s * 1e9)
    # Locust's stop itself blocks the generator for ~15 ms (inspect.stack() in
    # Runner.stop): end the window before it.
    w1 = start + int((cfg.step_time_s - STOP_MARGIN_S) * 1e9)
    window_s = (w1 - w0) / 1e9
    by_id = {r["request_id"]: r for r in server}

    received = 0
    for rec in client["records"]:
        recv = rec["recv_ns"]
        if recv and recv[0] <= w1 and recv[-1] >= w0:
            received += int(np.count_nonzero((np.asarray(recv) >= w0) & (np.asarray(recv) <= w1)))
    sent = sum(1 for s in server for t in s["token_ns"] if w0 <= t <= w1)

    ttft_err: list[float] = []
    tok_err: list[np.ndarray] = []
    itl_err: list[np.ndarray] = []
    lateness: list[np.ndarray] = []
    completed = failures = mismatched = 0
    for rec in client["records"]:
        if rec["sent_ns"] > w1 or (rec["recv_ns"] and rec["recv_ns"][-1] < w0):
            continue
        in_window = w0 <= rec["sent_ns"] < w1
        # A request Locust killed at the stop (the naive user) is no failure, and what it
        # received before is still measured.
        killed = not rec["ok"] and not rec.get("error_class")
        if not rec["ok"] and not killed:
            failures += in_window
            continue
        srv = by_id.get(rec["request_id"])
        n = len(rec["recv_ns"])
        if srv is None or (
            len(srv["token_ns"]) < n
            if killed
            else srv.get("status") != 200 or len(srv["token_ns"]) != n
        ):
            mismatched += in_window
            continue
        completed += in_window and not killed
        if not n:
            continue
        c = np.asarray(rec["recv_ns"], dtype=np.int64)
        s = np.asarray(srv["token_ns"][:n], dtype=np.int64)
        # Only tokens the server wrote inside the window: the start-up and the stop (when
        # Locust tears users down) are not steady state.
        inside = (s >= w0) & (s <= w1)
        err = (c - s) / 1e6
        if inside[0]:
            ttft_err.append(float(err[0]))
        tok_err.append(err[inside])
        itl_err.append((np.abs(np.diff(c) - np.diff(s)) / 1e6)[inside[1:] & inside[:-1]])
        if srv.get("service_start_ns") is not None:
            due = srv["service_start_ns"] + (cfg.ttft_ms + cfg.itl_ms * np.arange(s.size)) * 1e6
            lateness.append(((s - due) / 1e6)[inside])
    pauses = [(d / 1e6, g) for t, d, g in client.get("gc", []) if w0 <= t <= w1]
    cat = lambda xs: np.concatenate(xs) if xs else np.asarray([])  # noqa: E731
    cpu = sampler.window(w0, w1)
    mock_cpu = cpu.get("mock_cpu")
    mock_us_per_chunk = (
        round(mock_cpu / 100.0 * window_s * 1e6 / sent, 1) if mock_cpu and sent else None
    )
    return {
        "window_s": round(window_s, 3),
        "requests": completed,
        "failures": failures,
        "mismatched": mismatched,
        "chunks_per_s": round(received / window_s, 1),
        "server_chunks_per_s": round(sent / window_s, 1),
        "ttft_err_ms": _pcts(ttft_err),
        "token_err_ms": _pcts(cat(tok_err)),
        "itl_err_ms": _pcts(cat(itl_err)),
        "server_late_ms": _pcts(cat(lateness)),
        "gc_pauses": len(pauses),
        "gc_max_ms": round(max((d for d, _ in pauses), default=0.0), 3),
        "gc_ms_per_s": round(sum(d for d, _ in pauses) / window_s, 3),
        **cpu,
        "mock_us_per_chunk": mock_us_per_chunk,
        "mock_saturated": bool(mock_cpu is not None and mock_cpu > MOCK_BUSY_PERCENT),
    }


# -- output --------------------------------------------------------------------------------
def _f(value: Any, digits: int = 2, width: int = 7) -> str:
    return cell(value, digits, width)


HEADER = (
    f"{'streams':>7} {'reqs':>6} {'fail':>4} {'chunks/s':>9} | {'TTFT err':>7} {'p99':>7} | "
    f"{'tok err':>7} {'p99':>7} {'max':>7} | {'ITL err':>7} {'p99':>7} | "
    f"{'gen':>5} {'gen':>5} {'runq':>5} {'other':>5} {'GC':>5} | "
    f"{'mock':>5} {'runq':>5} {'late':>6}"
)
UNITS = (
    f"{'':>7} {'':>6} {'':>4} {'':>9} | {'p50 ms':>7} {'ms':>7} | "
    f"{'p50 ms':>7} {'ms':>7} {'ms':>7} | {'p50 ms':>7} {'ms':>7} | "
    f"{'cpu%':>5} {'us/ch':>5} {'ms/s':>5} {'cpu%':>5} {'maxms':>5} | "
    f"{'cpu%':>5} {'ms/s':>5} "
    f"{'p99 ms':>6}"
)


def row(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"{r['streams']:>7}  {r['error']}"
    flag = "  MOCK>90%" if r["mock_saturated"] else ""
    t, k, i = r["ttft_err_ms"], r["token_err_ms"], r["itl_err_ms"]
    return (
        f"{r['streams']:>7} {r['requests']:>6} {r['failures'] + r['mismatched']:>4} "
        f"{r['chunks_per_s']:>9.0f} | {_f(t['p50'])} {_f(t['p99'])} | "
        f"{_f(k['p50'])} {_f(k['p99'])} {_f(k['max'])} | {_f(i['p50'])} {_f(i['p99'])} | "
        f"{_f(r['gen_cpu'], 0, 5)} {_f(r['gen_us_per_chunk'], 1, 5)} "
        f"{_f(r['gen_runq_ms_per_s'], 0, 5)} "
        f"{_f(r.get('other_cpu_client_core'), 0, 5)} {_f(r.get('gc_max_ms'), 1, 5)} | "
        f"{_f(r['mock_cpu'], 0, 5)} {_f(r['mock_runq_ms_per_s'], 0, 5)} "
        f"{_f(r['server_late_ms']['p99'], 2, 6)}{flag}"
    )


def best_rate(
    rows: list[dict[str, Any]], limit_ms: float, metric: str = "ttft_err_ms"
) -> tuple[float | None, int | None, bool]:
    """(highest chunks/s with p99 error < limit, at which streams, was it the last step?)."""
    ok = [
        r
        for r in rows
        if "error" not in r and r[metric]["p99"] is not None and r[metric]["p99"] < limit_ms
    ]
    if not ok:
        return None, None, False
    best = max(ok, key=lambda r: r["chunks_per_s"])
    top = max(r["streams"] for r in rows)
    return best["chunks_per_s"], best["streams"], best["streams"] == top


def comparison(results: dict[str, list[dict[str, Any]]]) -> tuple[list[str], dict[str, Any]]:
    lines: list[str] = []
    data: dict[str, Any] = {"rate_ratio": {}, "at_equal_error": {}}
    ours = {r["streams"]: r for r in results.get(OURS, []) if "error" not in r}
    for name, rows in results.items():
        if name == OURS:
            continue
        ratios = {}
        for r in rows:
            o = ours.get(r["streams"])
            if o and "error" not in r and r["chunks_per_s"]:
                ratios[r["streams"]] = round(o["chunks_per_s"] / r["chunks_per_s"], 2)
        data["rate_ratio"][name] = ratios
        lines.append(
            f"chunks/s ratio {OURS} / {name} per step: "
            + ", ".join(f"{n}: {v:.2f}x" for n, v in ratios.items())
        )
        cost = {}
        for r in rows:
            o = ours.get(r["streams"])
            if o and "error" not in r and o.get("gen_us_per_chunk") and r.get("gen_us_per_chunk"):
                cost[r["streams"]] = round(r["gen_us_per_chunk"] / o["gen_us_per_chunk"], 2)
        data.setdefault("cpu_per_chunk_ratio", {})[name] = cost
        lines.append(
            f"  CPU per chunk {name} / {OURS} (capacity ratio when CPU-bound): "
            + ", ".join(f"{n}: {v:.2f}x" for n, v in cost.items())
        )
    for name, rows in results.items():
        top = [r for r in rows if "error" not in r and r.get("gen_us_per_chunk")]
        if top:
            best = max(top, key=lambda r: r["streams"])
            lines.append(
                f"  {name}: {best['gen_us_per_chunk']:.1f} us CPU per chunk at "
                f"{best['streams']} streams -> ~{1e6 / best['gen_us_per_chunk']:.0f} "
                "chunks/s at 100 % of its core"
            )
    lines.append("")
    lines.append(
        "at equal error: highest chunks/s with p99 error below the limit "
        "(streams in brackets; '>=' = the sweep's top step, not a limit):"
    )
    for metric in ("ttft_err_ms", "token_err_ms"):
        for limit in THRESHOLDS_MS:
            key = f"{metric}<{limit:g}"
            entry: dict[str, Any] = {}
            parts = []
            for name, rows in results.items():
                rate, streams, at_top = best_rate(rows, limit, metric)
                entry[name] = {"chunks_per_s": rate, "streams": streams, "sweep_limited": at_top}
                parts.append(
                    f"{name} "
                    + (
                        "none"
                        if rate is None
                        else f"{'>=' if at_top else ''}{rate:.0f} ({streams})"
                    )
                )
            ours_rate = entry.get(OURS, {}).get("chunks_per_s")
            for name in results:
                if name == OURS:
                    continue
                other = entry[name]["chunks_per_s"]
                ratio = (
                    None
                    if ours_rate is None
                    else float("inf")
                    if other is None
                    else round(ours_rate / other, 2)
                )
                entry[f"ratio_vs_{name}"] = ratio
                if ratio is not None:
                    bound = ">=" if entry[OURS]["sweep_limited"] or other is None else ""
                    parts.append(
                        f"ratio vs {name} {bound}{ratio:.2f}x"
                        if other is not None
                        else f"ratio vs {name} inf"
                    )
            data["at_equal_error"][key] = entry
            lines.append(
                f"  p99 {metric[:-3].replace('_', ' ')} < {limit:g} ms: " + "; ".join(parts)
            )
    return lines, data


def verdict(results: dict[str, list[dict[str, Any]]], data: dict[str, Any]) -> list[str]:
    lines = []
    at100 = next(
        (r for r in results.get(OURS, []) if r["streams"] == 100 and "error" not in r), None
    )
    if at100 is None:
        lines.append("target 1 (p99 TTFT error < 2 ms at 100 streams): not measured (no 100 step)")
    else:
        p99 = at100["ttft_err_ms"]["p99"]
        ok = p99 is not None and p99 < 2.0
        lines.append(
            f"target 1 (p99 TTFT error < 2 ms at 100 streams): "
            f"{'MET' if ok else 'NOT MET'} (p99 {p99} ms)"
        )
    entry = data["at_equal_error"]["ttft_err_ms<2"]
    ratios = [entry[f"ratio_vs_{b}"] for b in TARGET_BASELINES if f"ratio_vs_{b}" in entry]
    if not ratios or any(r is None for r in ratios):
        lines.append("target 2 (>= 3x naive chunk rate at equal error): not measurable")
    else:
        ok = all(r >= 3.0 for r in ratios)
        lines.append(
            f"target 2 (>= 3x naive chunk rate at p99 TTFT error < 2 ms): "
            f"{'MET' if ok else 'NOT MET'} (ratios "
            + ", ".join("inf" if r == float("inf") else f"{r:.2f}x" for r in ratios)
            + ")"
        )
    return lines


# -- main ----------------------------------------------------------------------------------
def write_dataset(work: Path) -> Path:
    """The prompts every generator sends, in the same order."""
    dataset = work / "prompts.jsonl"
    topics = (
        "TCP slow start",
        "HdrHistogram",
        "tail latency",
        "gevent",
        "SSE framing",
        "KV caches",
        "batching",
        "prefix caching",
        "rate limits",
        "coordinated omission",
    )
    with dataset.open("w", encoding="utf-8") as fh:
        for i in range(200):
            text = f"Question {i}: explain {topics[i % len(topics)]} in a few sentences."
            fh.write(
                json.dumps(
                    {"id": f"bench-{i:03d}", "messages": [{"role": "user", "content": text}]}
                )
                + "\n"
            )
    return dataset


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--steps", default="1,10,25,50,100,150,200", help="concurrencies (streams), comma-separated"
    )
    p.add_argument("--step-time", type=float, default=10.0, help="seconds per run (-t)")
    p.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        help="seconds at the start of each run left out of the figures",
    )
    p.add_argument(
        "--generators",
        default=",".join(DEFAULT_GENERATORS),
        help=f"comma-separated, of: {', '.join(GENERATORS)}",
    )
    p.add_argument("--ttft-ms", type=float, default=20.0)
    p.add_argument("--itl-ms", type=float, default=10.0)
    p.add_argument("--tokens", default="100-200", help="output tokens MIN-MAX per reply")
    p.add_argument("--server-core", default="0")
    p.add_argument("--client-core", default="1")
    p.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run mock and generator at this nice level (negative needs root): "
        "less sensitive to other load on a shared machine",
    )
    p.add_argument("--no-save", action="store_true", help="do not write benchmarks/results/")
    p.add_argument(
        "--keep",
        metavar="DIR",
        type=Path,
        help="keep the runs' files (locust logs, client dumps, server records) in DIR",
    )
    args = p.parse_args(argv)
    args.steps = [int(s) for s in args.steps.split(",") if s.strip()]
    args.generators = [g.strip() for g in args.generators.split(",") if g.strip()]
    unknown = [g for g in args.generators if g not in GENERATORS]
    if args.nice < 0 and os.geteuid() != 0:
        p.error("a negative --nice needs root")
    if unknown or not args.steps or args.warmup >= args.step_time - STOP_MARGIN_S - 1:
        p.error(
            f"bad --generators {unknown}"
            if unknown
            else "need steps, and a step time at least 1.5 s longer than the warmup"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sigterm_as_interrupt()
    pinned = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    nice = ["nice", "-n", str(args.nice)] if args.nice else []
    pin_server = [*nice, *(["taskset", "-c", args.server_core] if pinned else [])]
    pin_client = [*nice, *(["taskset", "-c", args.client_core] if pinned else [])]
    runs = len(args.steps) * len(args.generators)
    expected = runs * (args.step_time + RUN_OVERHEAD_S)
    bound = runs * (args.step_time + HARD_TIMEOUT_MARGIN_S)
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    say(
        f"client_sweep: {len(args.steps)} steps x {len(args.generators)} generators x "
        f"{args.step_time:g} s = {runs} runs, about {expected / 60:.1f} min "
        f"(hard bound {bound / 60:.0f} min)"
    )
    say(
        f"mock profile '{MODEL}': ttft {args.ttft_ms:g} ms, itl {args.itl_ms:g} ms, no jitter, "
        f"{args.tokens} tokens, unlimited concurrency; warmup {args.warmup:g} s excluded"
    )
    say(
        f"pinning: mock on core {args.server_core}, generator on core {args.client_core}"
        if pinned
        else "pinning: UNAVAILABLE (taskset missing or 1 core): figures are unreliable"
    )
    if args.nice:
        say(f"priority: mock and generator run at nice {args.nice}")
    say(
        f"host: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"loadavg {os.getloadavg()[0]:.2f}, python {platform.python_version()}"
    )

    results: dict[str, list[dict[str, Any]]] = {g: [] for g in args.generators}
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="client_sweep-") as tmp:
        work = Path(tmp) if args.keep is None else args.keep
        work.mkdir(parents=True, exist_ok=True)
        dataset = write_dataset(work)
        timing = FixedTiming(args.ttft_ms, args.itl_ms, *token_range(args.tokens))
        mock = Mock("client_sweep", work, {MODEL: timing}, pin_server)
        try:
            for users in args.steps:
                cfg = StepConfig(
                    users,
                    args.step_time,
                    args.warmup,
                    args.ttft_ms,
                    args.itl_ms,
                    args.server_core,
                    args.client_core,
                )
                for name in args.generators:
                    r = run_generator(
                        name, cfg, mock, work, pin_client, dataset, keep=args.keep is not None
                    )
                    r["loadavg"] = round(os.getloadavg()[0], 2)
                    results[name].append(r)
                    print(f"  [{time.time() - started:5.0f} s] {name:<19}{row(r)}", flush=True)
        except KeyboardInterrupt:
            say("interrupted: partial results follow")
        finally:
            mock.close()
    say()
    for name, rows in results.items():
        say(f"== {name}")
        say(HEADER)
        say(UNITS)
        for r in rows:
            say(row(r))
        say()
    lines, data = comparison(results)
    for line in lines:
        say(line)
    say()
    for line in verdict(results, data):
        say(line)
    say(f"\ntotal {time.time() - started:.0f} s")
    if not args.no_save:
        save_results("client_sweep", started, args, results, out, pinned=pinned, extra=data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
