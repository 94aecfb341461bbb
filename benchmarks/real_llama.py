"""TTFT and ITL against a real server: llama.cpp's llama-server with SmolLM2-135M, at 1, 4
and 16 concurrent conversations, next to the server's own per-request timings.

The server (16 slots, continuous batching, one thread) is pinned to core 0, each
``loadprofile run`` to core 1, all on loopback. For every request llama-server reports
``timings.prompt_ms`` (prompt processing) and ``timings.predicted_ms`` (generation) on its
last chunk; loadprofile keeps them in requests.csv (``server_prompt_ms``,
``server_predicted_ms``). TTFT minus prompt_ms is what the server's timings do not hold:
waiting for a slot or a batch step, the HTTP exchange, the first token's sampling.

    .venv/bin/python benchmarks/real_llama.py [--users 1,4,16] [--seconds 30] [--modes warm,cold]

``warm``: the dataset replayed as it is, so llama-server's prefix cache serves what it saw
before (as in production traffic that repeats system prompts); ``cold``: ``--unique-prefix``,
every conversation's prompt new to the server (its later turns still reuse their history).

Installs and caches the server the first time (``scripts/real_servers.py``, ~10 min).
Prints a table and writes benchmarks/results/real_llama-<date>.json and .txt.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from benchsupport import cell, save_results

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))

import real_servers

DATASET = Path(__file__).parents[1] / "tests" / "real" / "conversations.jsonl"


def _pcts(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None}
    return {"p50": float(np.percentile(values, 50)), "p99": float(np.percentile(values, 99))}


def one_step(
    url: str, users: int, seconds: int, max_tokens: int, out: Path, mode: str
) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "loadprofile",
        "run",
        "--host",
        url,
        "--model",
        real_servers.MODEL_ALIAS,
        "--dataset",
        str(DATASET),
        "--out",
        str(out),
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{seconds}s",
        "--think-time",
        "0",
        "--max-tokens",
        str(max_tokens),
        "--timeout",
        "120s",
        "--stop-timeout",
        "120s",
        "--server-metrics",
        url + "/metrics",
        "--no-report",
        *(["--unique-prefix"] if mode == "cold" else []),
    ]
    done = subprocess.run(
        real_servers.pinned(command, "1"),
        capture_output=True,
        text=True,
        timeout=seconds + 300,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"run at {users} users failed: {done.stderr[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    entry = summary["models"][real_servers.MODEL_ALIAS]
    with (out / "requests.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if not r["error_class"]]
    prompt_ms = [float(r["server_prompt_ms"]) for r in rows if r["server_prompt_ms"]]
    per_token = [
        float(r["server_predicted_ms"]) / (int(r["output_tokens"]) - 1)
        for r in rows
        if r["server_predicted_ms"] and int(r["output_tokens"]) > 1
    ]
    beyond = [
        float(r["ttft_service_ms"]) - float(r["server_prompt_ms"])
        for r in rows
        if r["server_prompt_ms"] and r["ttft_service_ms"]
    ]
    return {
        "mode": mode,
        "users": users,
        "requests": entry["requests"],
        "failures": entry["failures"],
        "ttft_ms": {k: entry["ttft_ms"][k] for k in ("p50", "p99")},
        "itl_ms": {k: entry["itl_ms"][k] for k in ("p50", "p99")},
        "tpot_ms": {k: entry["tpot_ms"][k] for k in ("p50", "p99")},
        "server_prompt_ms": _pcts(prompt_ms),
        "server_ms_per_token": _pcts(per_token),
        "ttft_minus_prompt_ms": _pcts(beyond),
        "output_tokens_per_s": entry["output_tokens_per_s"],
        "tokens_estimated_share": entry["tokens_estimated_share"],
        "cached_prompt_tokens": entry.get("cached_prompt_tokens"),
        "prompt_tokens": entry.get("prompt_tokens"),
        "connections": entry.get("connections"),
    }


def table(results: list[dict[str, Any]]) -> list[str]:
    head = (
        f"{'mode':>4} {'users':>5} {'reqs':>5} {'fail':>4} | {'TTFT p50':>8} {'p99':>7} | "
        f"{'ITL p50':>7} {'p99':>7} | {'srv prompt p50':>14} {'p99':>7} | "
        f"{'srv ms/tok p50':>14} {'p99':>6} | {'TTFT-prompt p50':>15} {'p99':>7} | "
        f"{'tok/s':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r['mode']:>4} {r['users']:>5} {r['requests']:>5} {r['failures']:>4} | "
            f"{cell(r['ttft_ms']['p50'], 1, 8)} {cell(r['ttft_ms']['p99'], 1)} | "
            f"{cell(r['itl_ms']['p50'], 1)} {cell(r['itl_ms']['p99'], 1)} | "
            f"{cell(r['server_prompt_ms']['p50'], 1, 14)} "
            f"{cell(r['server_prompt_ms']['p99'], 1)} | "
            f"{cell(r['server_ms_per_token']['p50'], 1, 14)} "
            f"{cell(r['server_ms_per_token']['p99'], 1, 6)} | "
            f"{cell(r['ttft_minus_prompt_ms']['p50'], 1, 15)} "
            f"{cell(r['ttft_minus_prompt_ms']['p99'], 1)} | {cell(r['output_tokens_per_s'], 1, 6)}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", default="1,4,16", help="concurrencies (default 1,4,16)")
    parser.add_argument("--seconds", type=int, default=30, help="run time per step")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument(
        "--modes",
        default="warm,cold",
        help="warm (as recorded), cold (--unique-prefix), or both (default)",
    )
    args = parser.parse_args()
    started = time.time()
    manifest = real_servers.ensure("llama-server")
    steps = [int(u) for u in args.users.split(",")]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        port = real_servers.free_port()
        command = real_servers.llama_server_command(manifest, port)
        with real_servers.serving(command, port, Path(tmp) / "server.log") as url:
            for mode in args.modes.split(","):
                for users in steps:
                    print(f"{mode}: {users} conversations for {args.seconds}s ...", flush=True)
                    results.append(
                        one_step(
                            url,
                            users,
                            args.seconds,
                            args.max_tokens,
                            Path(tmp) / f"{mode}-u{users}",
                            mode,
                        )
                    )
    lines = [
        f"llama-server (16 slots, 1 thread, core 0) with SmolLM2-135M-Instruct Q4_1; "
        f"loadprofile on core 1; {args.seconds}s per step, max_tokens {args.max_tokens}",
        "",
        *table(results),
    ]
    print("\n".join(lines))
    save_results(
        "real_llama",
        started,
        args,
        results,
        lines,
        pinned=True,
        extra={"server_command": " ".join(command[1:])},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
