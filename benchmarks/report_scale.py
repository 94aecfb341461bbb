"""Report at scale: ``loadprofile report`` on a run folder of a million requests.

Target (issue "Exact tails at 100x"): under 15 s and under 1 GiB of peak resident memory
for 1,000,000 requests.

The run folder is a real one: ``loadprofile run`` at 64 streams, no think time, against
``peer_server.js`` (16-token replies) for ``--seconds`` (200 s make about a million requests
here), server and run pinned to different cores. Then ``loadprofile report DIR`` runs
``--repeats`` times; each one's wall time and peak RSS come from the kernel's accounting of
that process (os.wait4). ``--reuse DIR`` times an existing run folder instead.

    .venv/bin/python benchmarks/report_scale.py                 # ~4 min: the run, 3 reports
    .venv/bin/python benchmarks/report_scale.py --reuse reports/big-run

Writes benchmarks/results/report_scale-<date>.json and .txt.
"""

from __future__ import annotations

import argparse
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

from benchsupport import ROOT, Say, add_common_args, pins, save_results, sigterm_as_interrupt
from peers import PROMPT, peer_server

VENV_BIN = Path(sys.executable).parent
TARGET_S, TARGET_MB = 15.0, 1024.0


def timed(cmd: list[str]) -> tuple[float, float, int]:
    """(wall s, peak RSS MB, exit code) of one process, from the kernel's accounting."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - t0, usage.ru_maxrss / 1024.0, proc.returncode


def make_run(
    args: argparse.Namespace, work: Path, pin_server: list[str], pin_gen: list[str]
) -> Path:
    (work / "one.jsonl").write_text(json.dumps(PROMPT) + "\n")
    out = work / "run"
    server = peer_server("report_scale", work, pin_server)
    try:
        cmd = [
            *pin_gen,
            str(VENV_BIN / "loadprofile"),
            "run",
            "--host",
            server.url,
            "--model",
            "peer",
            "-u",
            "64",
            "-r",
            "64",
            "-t",
            f"{args.seconds:g}s",
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
        with (work / "run.log").open("wb") as log:
            subprocess.run(
                cmd,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
                timeout=args.seconds + 120,
            )
    finally:
        server.close()
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=200.0, help="length of the run to report")
    p.add_argument("--reuse", type=Path, help="time this run folder instead of making one")
    p.add_argument("--repeats", type=int, default=3)
    add_common_args(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sigterm_as_interrupt()
    started = time.time()
    pinned, pin_server, pin_gen = pins(args)
    work = Path(tempfile.mkdtemp(prefix="report_scale-"))
    say = Say()
    result: dict[str, Any] = {}
    try:
        run_dir = args.reuse or make_run(args, work, pin_server, pin_gen)
        summary = json.loads((run_dir / "summary.json").read_text())
        requests = sum(m["requests"] for m in summary["models"].values())
        size_mb = (run_dir / "requests.csv").stat().st_size / 2**20
        say(f"report_scale: {requests:,} requests, requests.csv {size_mb:.0f} MB ({run_dir})")
        runs = [
            timed([*pin_gen, str(VENV_BIN / "loadprofile"), "report", str(run_dir)])
            for _ in range(args.repeats)
        ]
        walls, peaks = [w for w, _, _ in runs], [m for _, m, _ in runs]
        result = {
            "requests": requests,
            "requests_csv_mb": round(size_mb, 1),
            "wall_s": [round(w, 2) for w in walls],
            "peak_rss_mb": [round(m) for m in peaks],
            "exit_codes": [c for _, _, c in runs],
        }
        wall, peak = statistics.median(walls), max(peaks)
        say(
            f"loadprofile report: wall {wall:.2f} s (median of {len(walls)}: "
            f"{', '.join(f'{w:.2f}' for w in walls)}), peak RSS {peak:.0f} MB; targets "
            f"< {TARGET_S:g} s and < {TARGET_MB:g} MB for 1,000,000 requests: "
            f"{'ok' if wall < TARGET_S and peak < TARGET_MB else 'MISS'}"
        )
    except KeyboardInterrupt:
        say("interrupted")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not args.no_save:
        save_results("report_scale", started, args, result, say.lines, pinned=pinned)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
