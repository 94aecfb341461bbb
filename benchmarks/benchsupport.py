"""The harness the benchmark scripts share: the mock with a fixed-timing profile, pinned to
its core; SIGTERM handled like Ctrl-C; and the results files
(``benchmarks/results/<name>-<stamp>.json`` and ``.txt``).

What /proc says and watching a process are procstat.py's; stopping one is the package's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from loadprofile.processes import stop_process

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
READY_PREFIX = "loadprofile mock listening on "


# -- the mock ------------------------------------------------------------------------------
@dataclass(frozen=True)
class FixedTiming:
    """One model of the mock's profile: fixed TTFT and ITL (no jitter, no stalls, unlimited
    concurrency), replies of ``tokens_min`` to ``tokens_max`` tokens."""

    ttft_ms: float
    itl_ms: float
    tokens_min: int
    tokens_max: int
    slow_every: int = 0  # every N-th request's first token comes slow_ms later (a known tail)
    slow_ms: float = 0.0

    def toml(self, model: str) -> str:
        """The ``[models.<model>]`` table."""
        return (f"[models.{model}]\nttft_base_ms = {float(self.ttft_ms)}\n"
                "ttft_per_prompt_token_ms = 0.0\nttft_jitter_ms = 0.0\n"
                f"itl_ms = {float(self.itl_ms)}\nitl_jitter_ms = 0.0\nstall_probability = 0.0\n"
                "max_concurrency = 0\nmax_queue = 0\n"
                f"output_tokens_min = {self.tokens_min}\noutput_tokens_max = {self.tokens_max}\n"
                f"slow_every = {self.slow_every}\nslow_ms = {float(self.slow_ms)}\n")


def token_range(spec: str) -> tuple[int, int]:
    """A ``--tokens`` value: ``"100-200"`` -> (100, 200), ``"150"`` -> (150, 150)."""
    low, _, high = spec.partition("-")
    return int(low), int(high or low)


class Mock:
    """``python -m loadprofile.mock --record`` serving ``models`` (written to
    ``work/<profile_name>``), started behind ``pin`` (a nice/taskset prefix) in its own
    session, its output in ``work/mock.log`` (never a pipe); always stopped by ``close``.

    ``serve_only`` adds ``--models`` with these models (else the mock's built-in models
    are served too); ``caller`` names the script in the message when the mock does not start.
    """

    def __init__(self, caller: str, work: Path, models: Mapping[str, FixedTiming],
                 pin: Sequence[str], *, profile_name: str = "bench_profiles.toml",
                 serve_only: bool = False, ready_timeout_s: float = 20.0) -> None:
        profile, self.log = work / profile_name, work / "mock.log"
        profile.write_text("\n".join(timing.toml(name) for name, timing in models.items()))
        cmd = [*pin, sys.executable, "-m", "loadprofile.mock", "--host", "127.0.0.1",
               "--port", "0", "--record", "--profiles", str(profile)]  # fmt: skip
        if serve_only:
            cmd += ["--models", ",".join(models)]
        cmd.append("--quiet")
        with self.log.open("wb") as fh:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self.url = self._wait_ready(caller, ready_timeout_s)
        except BaseException:  # did not start, or Ctrl-C / SIGTERM while waiting
            self.close()
            raise

    def _wait_ready(self, caller: str, timeout_s: float) -> str:
        """The mock's URL, from its ready line in the log."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.proc.poll() is None:
            for line in self.log.read_text(errors="replace").splitlines():
                if line.startswith(READY_PREFIX):
                    return line[len(READY_PREFIX):].split()[0]
            time.sleep(0.05)
        raise SystemExit(f"{caller}: the mock did not start; see {self.log}")

    def call(self, method: str, path: str, timeout_s: float = 60.0) -> Any:
        """The mock's control API (``/mock/requests``, ``/mock/stats``), JSON in and out."""
        req = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return json.loads(resp.read())

    def close(self) -> None:
        stop_process(self.proc)


# -- signals -------------------------------------------------------------------------------
def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def sigterm_as_interrupt() -> None:
    """SIGTERM raises KeyboardInterrupt: the script cleans up (its runs, the mock) and
    reports partial results as on Ctrl-C."""
    signal.signal(signal.SIGTERM, _raise_interrupt)


# -- results -------------------------------------------------------------------------------
def save_results(name: str, started: float, args: argparse.Namespace, results: Any,
                 lines: Sequence[str], *, pinned: bool | None = None,
                 extra: Mapping[str, Any] | None = None, timespec: str = "auto") -> Path:
    """Write ``RESULTS_DIR/<name>-<stamp>.json`` (benchmark, started_at, args, pinned if
    given, host, results, then ``extra``) and ``.txt`` (the printed ``lines``); say where.
    ``timespec`` is that of ``started_at`` (datetime.isoformat)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "benchmark": name,
        "started_at": datetime.fromtimestamp(started).isoformat(timespec=timespec),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    if pinned is not None:
        doc["pinned"] = pinned
    doc["host"] = {"node": platform.node(), "cores": os.cpu_count(),
                   "python": platform.python_version()}  # fmt: skip
    doc["results"] = results
    doc.update(extra or {})
    path = RESULTS_DIR / f"{name}-{datetime.now():%Y-%m-%d-%H%M%S}.json"
    path.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    path.with_suffix(".txt").write_text("\n".join(lines) + "\n")
    print(f"wrote {path} and .txt")
    return path


def cell(value: Any, digits: int = 2, width: int = 7) -> str:
    """A table cell: floats to ``digits`` decimals, anything else as text, None as '-'."""
    if value is None:
        return "-".rjust(width)
    return f"{value:{width}.{digits}f}" if isinstance(value, float) else f"{value!s:>{width}}"
