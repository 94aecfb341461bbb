"""Throughput against the peers: loadprofile vs a bare aiohttp client vs Locust's FastHttpUser.

Target (issue "Exact tails at 100x"): at 16, 64 and 256 streams, 16-token replies, from a
trivial server that is not the bottleneck, one loadprofile process on one core serves at
least the requests/s of a bare aiohttp client (``peer_aiohttp.py``: one coroutine per
stream reading lines and timing them), and aims for Locust's naive ``FastHttpUser``
(``locust_peer.py``) - while loadprofile still times every chunk, checks the contract and
writes its whole run folder.

The server is ``peer_server.js`` (node.js: a role chunk, 16 content chunks, a finish chunk,
usage, [DONE], each its own write; keep-alive), pinned to one core (``taskset -c 0``); each
generator runs in turn, pinned to the other (``taskset -c 1``), for ``--seconds`` with no
think time:

    loadprofile run --host URL --model peer -u N -r N -t 15s --think-time 0 --max-tokens 16
        --dataset <one short prompt> --no-report --out DIR
    python peer_aiohttp.py URL N 15 WARMUP out.json
    locust -f locust_peer.py --headless --host URL -u N -r N -t 15s

Requests/s counts the requests that completed after a warm-up (``--warmup``, default 3 s)
and before the end, over that window (loadprofile's from its requests.csv). CPU is each
process's own (utime + stime over its whole life, from /proc) per second of wall time, and
the server's over the same span: the server must stay well below one core for the figures
to be the client's. The generators run interleaved, round by round (``--rounds``), and the
ratio loadprofile / aiohttp is taken per round: the machine is shared and its speed drifts.

    .venv/bin/python benchmarks/peers.py                    # 16,64,256 streams, 2 rounds, ~4 min
    .venv/bin/python benchmarks/peers.py --streams 64 --rounds 1 --seconds 10
    git worktree add /tmp/before HEAD~1 && .venv/bin/python benchmarks/peers.py --before /tmp/before

``--before TREE`` adds loadprofile as that source tree has it (``lp-before``, run with
``PYTHONPATH=TREE``) to every round: a before/after ratio taken on the same machine at the
same time.

Writes benchmarks/results/peers-<date>.json and .txt.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchsupport import (
    HERE,
    ROOT,
    NodeServer,
    Say,
    add_common_args,
    pins,
    save_results,
    sigterm_as_interrupt,
)
from procstat import proc_cpu_ticks

VENV_BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
GENERATORS = ("loadprofile", "aiohttp", "locust")
#: With --before TREE: loadprofile as that source tree has it (e.g. a git worktree of an
#: earlier commit), run in the same rounds for a before/after ratio.
BEFORE = "lp-before"
PROMPT = {"messages": [{"role": "user", "content": "Say something."}]}


def peer_server(caller: str, work: Path, pin: list[str]) -> NodeServer:
    """``peer_server.js`` (16-token replies) pinned to its core."""
    return NodeServer(caller, work, "peer_server.js", (16,), pin)


def command(
    gen: str, url: str, streams: int, args: argparse.Namespace, work: Path
) -> tuple[list[str], dict[str, str], Path]:
    out = work / f"{gen}-{streams}-{time.monotonic_ns()}"
    env = dict(os.environ)
    secs = f"{args.seconds:g}"
    if gen == BEFORE:
        env["PYTHONPATH"] = str(args.before)  # its package shadows the installed one
    if gen in ("loadprofile", BEFORE):
        cmd = [
            str(VENV_BIN / "loadprofile"),
            "run",
            "--host",
            url,
            "--model",
            "peer",
            "-u",
            str(streams),
            "-r",
            str(streams),
            "-t",
            f"{secs}s",
            "--think-time",
            "0",
            "--max-tokens",
            "16",
            "--stop-timeout",
            "5s",
            "--dataset",
            str(work / "one.jsonl"),
            "--no-report",
            "--out",
            str(out),
        ]
    elif gen == "aiohttp":
        cmd = [
            sys.executable,
            str(HERE / "peer_aiohttp.py"),
            url,
            str(streams),
            secs,
            f"{args.warmup:g}",
            str(out) + ".json",
        ]
    else:
        cmd = [
            str(VENV_BIN / "locust"),
            "-f",
            str(HERE / "locust_peer.py"),
            "--headless",
            "--host",
            url,
            "-u",
            str(streams),
            "-r",
            str(streams),
            "-t",
            f"{secs}s",
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]
        env.update(BENCH_OUT=str(out) + ".json", BENCH_WARMUP=f"{args.warmup:g}")
    return cmd, env, out


def requests_in_window(gen: str, out: Path, args: argparse.Namespace) -> tuple[int, float, int]:
    """(requests completed in the window, the window in s, failures)."""
    if gen in ("loadprofile", BEFORE):
        with (out / "requests.csv").open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        end = args.seconds - 0.5  # the stop is not load
        ok = [
            r
            for r in rows
            if not r["error_class"]
            and args.warmup <= float(r["start_s"]) + float(r["e2e_ms"] or 0) / 1e3 < end
        ]
        failed = sum(1 for r in rows if r["error_class"])
        return len(ok), end - args.warmup, failed
    data = json.loads(Path(str(out) + ".json").read_text())
    return int(data["requests"]), float(data["window_s"]), int(data["failures"])


def run_one(
    gen: str, server: NodeServer, streams: int, args: argparse.Namespace, work: Path, pin: list[str]
) -> dict[str, Any]:
    cmd, env, out = command(gen, server.url, streams, args, work)
    log = work / f"{out.name}.log"
    srv0 = proc_cpu_ticks(server.proc.pid)
    t0 = time.monotonic()
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [*pin, *cmd],
            cwd=ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        last_ticks = 0
        while proc.poll() is None:
            ticks = proc_cpu_ticks(proc.pid)
            last_ticks = ticks if ticks is not None else last_ticks
            if time.monotonic() - t0 > args.seconds + 60:
                proc.kill()
            time.sleep(0.1)
    wall = time.monotonic() - t0
    srv1 = proc_cpu_ticks(server.proc.pid)
    try:
        done, window, failed = requests_in_window(gen, out, args)
    except (OSError, KeyError, ValueError) as exc:
        return {"generator": gen, "streams": streams, "error": f"{exc}; see {log}"}
    return {
        "generator": gen,
        "streams": streams,
        "requests": done,
        "window_s": round(window, 2),
        "requests_per_s": round(done / window, 1) if window > 0 else None,
        "failures": failed,
        "exit_code": proc.returncode,
        "gen_cpu_percent": round(100.0 * last_ticks / CLK_TCK / wall, 1),
        "server_cpu_percent": round(100.0 * ((srv1 or 0) - (srv0 or 0)) / CLK_TCK / wall, 1),
    }


def table(results: list[dict[str, Any]], streams_list: list[int]) -> list[str]:
    gens = [*GENERATORS, *([BEFORE] if any(r["generator"] == BEFORE for r in results) else [])]
    lines = [
        f"{'streams':>7} | "
        + " | ".join(f"{g:>22}" for g in gens)
        + " | lp/aiohttp (per round) | lp/locust | lp/before"
    ]
    lines.append(f"{'':>7} | " + " | ".join(f"{'req/s  cpu%  srv%':>22}" for _ in gens))
    for streams in streams_list:
        rows = {
            g: [
                r
                for r in results
                if r["streams"] == streams and r["generator"] == g and "error" not in r
            ]
            for g in gens
        }
        cells = []
        for g in gens:
            if not rows[g]:
                cells.append(f"{'-':>22}")
                continue
            rps = statistics.median(r["requests_per_s"] for r in rows[g])
            cpu = statistics.median(r["gen_cpu_percent"] for r in rows[g])
            srv = max(r["server_cpu_percent"] for r in rows[g])
            cells.append(f"{rps:>9,.0f} {cpu:>5.0f} {srv:>5.0f}")
        ratios = [
            lp["requests_per_s"] / ai["requests_per_s"]
            for lp, ai in zip(rows["loadprofile"], rows["aiohttp"], strict=False)
        ]
        vs_locust = [
            lp["requests_per_s"] / lo["requests_per_s"]
            for lp, lo in zip(rows["loadprofile"], rows["locust"], strict=False)
        ]
        vs_before = [
            lp["requests_per_s"] / b["requests_per_s"]
            for lp, b in zip(rows["loadprofile"], rows.get(BEFORE, []), strict=False)
        ]
        lines.append(
            f"{streams:>7} | "
            + " | ".join(cells)
            + " | "
            + f"{' '.join(f'{r:.2f}' for r in ratios):>22} | "
            + f"{' '.join(f'{r:.2f}' for r in vs_locust):>9} | "
            + " ".join(f"{r:.2f}" for r in vs_before)
        )
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--streams", default="16,64,256")
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--generators", default=",".join(GENERATORS))
    p.add_argument(
        "--before",
        type=Path,
        metavar="TREE",
        help="also run loadprofile from this source tree (lp-before)",
    )
    add_common_args(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sigterm_as_interrupt()
    started = time.time()
    pinned, pin_server, pin_gen = pins(args)
    work = Path(tempfile.mkdtemp(prefix="peers-"))
    (work / "one.jsonl").write_text(json.dumps(PROMPT) + "\n")
    streams_list = [int(s) for s in args.streams.split(",")]
    gens = [g for g in args.generators.split(",") if g in GENERATORS]
    if args.before is not None:
        gens.append(BEFORE)
    say = Say()
    results: list[dict[str, Any]] = []
    say(
        f"peers: {args.seconds:g} s per run, warm-up {args.warmup:g} s, {args.rounds} round(s), "
        f"pinned: {pinned} (server core {args.server_core}, generators core "
        f"{args.client_core})"
    )
    server = peer_server("peers", work, pin_server)
    try:
        for rnd in range(args.rounds):
            for streams in streams_list:
                for gen in gens:
                    r = run_one(gen, server, streams, args, work, pin_gen)
                    r["round"] = rnd
                    results.append(r)
                    say(
                        f"  round {rnd} {gen:>11} {streams:>4} streams: "
                        + (
                            r.get("error")
                            or f"{r['requests_per_s']:>9,.1f} req/s, CPU "
                            f"{r['gen_cpu_percent']}%, server {r['server_cpu_percent']}%, "
                            f"failures {r['failures']}"
                        )
                    )
    except KeyboardInterrupt:
        say("interrupted: partial results")
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    for line in table(results, streams_list):
        say(line)
    if not args.no_save:
        save_results("peers", started, args, results, say.lines, pinned=pinned)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
