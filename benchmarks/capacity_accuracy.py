"""How close ``loadprofile capacity --mode rate`` lands to the rate a queueing calculation
gives, on a mock whose service is fixed: c slots, each request holding one for
S = ttft + (tokens - 1) * itl. With constant arrivals (no bursts) nothing queues below
c / S requests a second and the queue grows without bound above it, so under a TTFT SLO
just above the unqueued TTFT the capacity is c / S. Prints the found rate against it.

    .venv/bin/python benchmarks/capacity_accuracy.py [--slots 4] [--budget 60s]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from loadprofile.launch.mock import start_mock

TTFT_MS, ITL_MS, TOKENS = 20.0, 8.0, 6


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--slots", type=int, default=4)
    p.add_argument("--budget", default="60s")
    p.add_argument("--slo-ttft-p99-ms", type=float, default=60.0)
    args = p.parse_args()
    service_s = (TTFT_MS + (TOKENS - 1) * ITL_MS) / 1000
    expected = args.slots / service_s
    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp) / "profiles.toml"
        profile.write_text(
            f"[models.slots]\nttft_base_ms = {TTFT_MS}\nitl_ms = {ITL_MS}\n"
            f"output_tokens_min = {TOKENS}\noutput_tokens_max = {TOKENS}\n"
            f"max_concurrency = {args.slots}\n",
            encoding="utf-8",
        )
        mock = start_mock(extra_args=["--profiles", str(profile)])
        try:
            out = Path(tmp) / "cap"
            cmd = [sys.executable, "-m", "loadprofile", "capacity", "--host", mock.url]
            cmd += ["--model", "slots", "--slo-ttft-p99-ms", f"{args.slo_ttft_p99_ms:g}"]
            cmd += ["--mode", "rate", "--start-rate", f"{expected / 4:.3g}", "--precision", "5"]
            cmd += ["--budget", args.budget, "--probe-time", "6s", "--warmup", "1s"]
            cmd += ["--min-time", "3s", "--stable-metrics", "ttft_ms.p90", "--stable-ci", "10"]
            cmd += ["--out", str(out), "--", "--arrival", "constant"]
            subprocess.run(cmd, check=True)
            answer = json.loads((out / "capacity.json").read_text())["models"]["slots"]
        finally:
            mock.stop()
    found = answer["max_rate"]
    off = (found - expected) / expected * 100
    within = "within" if abs(off) <= 15 else "beyond"
    print(
        f"found {found:.3g} req/s (interval {answer['interval']}, limited by "
        f"{answer['limited_by']}); calculated {args.slots} / {service_s:.3f} s = "
        f"{expected:.3g} req/s; off by {off:+.1f} % ({within} 15 %)"
    )
    return 0 if abs(off) <= 15 else 1


if __name__ == "__main__":
    raise SystemExit(main())
