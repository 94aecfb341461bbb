"""Soak: does the generator's memory stay flat over a long run?

Target (issue "Exact tails at 100x"): a 30-minute run at 300 requests/s keeps the
generator's resident memory flat, growth < 50 MB after the first minute.

One ``loadprofile run --rate 300 --arrival poisson -u 100 -r 100 -t 30m`` (open loop, everything
recorded: requests.csv, interval logs, generator.csv) against ``peer_server.js`` (16-token
replies; node.js, not the bottleneck), the server pinned to one core and the run to the
other. Every ``--every`` seconds the run's VmRSS (and its children's: none in a local run)
is read from /proc. Printed: RSS at 1 minute, at the end, the largest after the first
minute, growth (max after 1 min - at 1 min), requests done, and a line every 5 minutes.

    .venv/bin/python benchmarks/soak.py                       # 30 min at 300 req/s
    .venv/bin/python benchmarks/soak.py --minutes 3 --rate 100

Writes benchmarks/results/soak-<date>.json (with every sample) and .txt.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchsupport import ROOT, Say, add_common_args, pins, save_results, sigterm_as_interrupt
from peers import PROMPT, peer_server
from procstat import rss_mb

VENV_BIN = Path(sys.executable).parent
TARGET_GROWTH_MB = 50.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--rate", type=float, default=300.0)
    p.add_argument("--every", type=float, default=5.0, help="seconds between RSS samples")
    add_common_args(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sigterm_as_interrupt()
    started = time.time()
    pinned, pin_server, pin_gen = pins(args)
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    (work / "one.jsonl").write_text(json.dumps(PROMPT) + "\n")
    say = Say()
    run_s = args.minutes * 60.0
    say(
        f"soak: {args.minutes:g} min at {args.rate:g} req/s (open loop, poisson), RSS every "
        f"{args.every:g} s; pinned: {pinned}"
    )
    server = peer_server("soak", work, pin_server)
    samples: list[tuple[float, float]] = []
    out = work / "run"
    cmd = [
        *pin_gen,
        str(VENV_BIN / "loadprofile"),
        "run",
        "--host",
        server.url,
        "--model",
        "peer",
        "--rate",
        f"{args.rate:g}",
        "--arrival",
        "poisson",
        "-t",
        f"{run_s:g}s",
        "-u",
        "100",
        "-r",
        "100",
        "--max-tokens",
        "16",
        "--dataset",
        str(work / "one.jsonl"),
        "--no-report",
        "--stop-timeout",
        "5s",
        "--out",
        str(out),
    ]
    result: dict[str, Any] = {}
    try:
        with (work / "run.log").open("wb") as log:
            proc = subprocess.Popen(
                cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
            t0 = time.monotonic()
            next_line = 300.0
            while proc.poll() is None:
                elapsed = time.monotonic() - t0
                rss = rss_mb(proc.pid)
                if rss is not None:
                    samples.append((round(elapsed, 1), round(rss, 1)))
                if elapsed >= next_line:
                    say(f"  {elapsed / 60:5.1f} min: RSS {rss:.1f} MB" if rss else "")
                    next_line += 300.0
                if elapsed > run_s + 120:
                    proc.kill()
                time.sleep(args.every)
        at_1min = next((r for t, r in samples if t >= 60.0), None)
        later = [r for t, r in samples if t >= 60.0]
        with (out / "requests.csv").open(newline="", encoding="utf-8") as fh:
            rows = sum(1 for _ in csv.reader(fh)) - 1
        result = {
            "exit_code": proc.returncode,
            "requests": rows,
            "rss_mb_at_1min": at_1min,
            "rss_mb_end": samples[-1][1] if samples else None,
            "rss_mb_max_after_1min": max(later) if later else None,
            "growth_mb": round(max(later) - at_1min, 1) if later and at_1min else None,
            "samples": samples,
        }
        growth = result["growth_mb"]
        say(
            f"requests {rows}, RSS at 1 min {at_1min} MB, at the end {result['rss_mb_end']} MB, "
            f"max after 1 min {result['rss_mb_max_after_1min']} MB: growth {growth} MB "
            f"(target < {TARGET_GROWTH_MB:g}: "
            f"{'ok' if growth is not None and growth < TARGET_GROWTH_MB else 'MISS'})"
        )
    except KeyboardInterrupt:
        say("interrupted")
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    if not args.no_save:
        save_results("soak", started, args, result, say.lines, pinned=pinned)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
