"""The harness the benchmark scripts share: the servers (the mock with a fixed-timing
profile, the node.js peers) pinned to their core; the pinning options; SIGTERM handled like
Ctrl-C; printed lines kept for the results files (``benchmarks/results/<name>-<stamp>.json``
and ``.txt``); the wall-to-monotonic clock offset and CSV reading.

What /proc says and watching a process are procstat.py's; stopping one is the package's.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import signal
import ssl
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

from loadprofile.launch.processes import stop_process

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
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
        return (
            f"[models.{model}]\nttft_base_ms = {float(self.ttft_ms)}\n"
            "ttft_per_prompt_token_ms = 0.0\nttft_jitter_ms = 0.0\n"
            f"itl_ms = {float(self.itl_ms)}\nitl_jitter_ms = 0.0\nstall_probability = 0.0\n"
            "max_concurrency = 0\nmax_queue = 0\n"
            f"output_tokens_min = {self.tokens_min}\noutput_tokens_max = {self.tokens_max}\n"
            f"slow_every = {self.slow_every}\nslow_ms = {float(self.slow_ms)}\n"
        )


def token_range(spec: str) -> tuple[int, int]:
    """A ``--tokens`` value: ``"100-200"`` -> (100, 200), ``"150"`` -> (150, 150)."""
    low, _, high = spec.partition("-")
    return int(low), int(high or low)


class Server:
    """A server process started in its own session (``cmd`` carries its nice/taskset
    prefix), its output in ``log`` (never a pipe), its URL read from the line of its log
    that starts with ``ready_prefix``; always stopped by ``close``. ``caller`` names the
    script in the message when it does not start."""

    #: what ``call`` trusts on an https server (a TLS mock's private CA); None: plain HTTP
    tls_context: ssl.SSLContext | None = None

    def __init__(
        self,
        cmd: Sequence[str],
        log: Path,
        ready_prefix: str,
        caller: str,
        what: str,
        ready_timeout_s: float = 20.0,
    ) -> None:
        self.log = log
        self.what = what
        with log.open("wb") as fh:
            self.proc = subprocess.Popen(
                list(cmd),
                cwd=ROOT,
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            self.url = self._wait_ready(ready_prefix, caller, ready_timeout_s)
        except BaseException:  # did not start, or Ctrl-C / SIGTERM while waiting
            self.close()
            raise

    def _wait_ready(self, prefix: str, caller: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.proc.poll() is None:
            for line in self.log.read_text(errors="replace").splitlines():
                if line.startswith(prefix):
                    return line[len(prefix) :].split()[0]
            time.sleep(0.05)
        raise SystemExit(f"{caller}: {self.what} did not start; see {self.log}")

    def call(self, method: str, path: str, timeout_s: float = 60.0) -> Any:
        """The server's control API (``/mock/requests``, ``/mock/stats``), JSON in and out."""
        req = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(req, timeout=timeout_s, context=self.tls_context) as resp:
            return json.loads(resp.read())

    def close(self) -> None:
        stop_process(self.proc)


class Mock(Server):
    """``python -m loadprofile.mock --record`` serving ``models`` (written to
    ``work/<profile_name>``), behind ``pin``, its output in ``work/mock.log``.

    ``serve_only`` adds ``--models`` with these models (else the mock's built-in models
    are served too). ``tls_cert`` (a PEM with the key) serves HTTPS; ``ca_cert`` is the CA
    that signed it, which ``call`` then trusts.
    """

    def __init__(
        self,
        caller: str,
        work: Path,
        models: Mapping[str, FixedTiming],
        pin: Sequence[str],
        *,
        profile_name: str = "bench_profiles.toml",
        serve_only: bool = False,
        ready_timeout_s: float = 20.0,
        tls_cert: Path | None = None,
        ca_cert: Path | None = None,
    ) -> None:
        profile = work / profile_name
        profile.write_text("\n".join(timing.toml(name) for name, timing in models.items()))
        cmd = [
            *pin,
            sys.executable,
            "-m",
            "loadprofile.mock",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--record",
            "--profiles",
            str(profile),
        ]
        if serve_only:
            cmd += ["--models", ",".join(models)]
        if tls_cert is not None:
            cmd += ["--tls-cert", str(tls_cert)]
            self.tls_context = ssl.create_default_context(cafile=ca_cert)
        cmd.append("--quiet")
        super().__init__(cmd, work / "mock.log", READY_PREFIX, caller, "the mock", ready_timeout_s)


class NodeServer(Server):
    """``node benchmarks/<script> PORT ARGS...`` on a free port, behind ``pin``; the node
    servers print "listening on URL" when ready."""

    def __init__(
        self, caller: str, work: Path, script: str, args: Sequence[object], pin: Sequence[str]
    ) -> None:
        if shutil.which("node") is None:
            raise SystemExit(f"{caller}: needs node.js ({script})")
        cmd = [*pin, "node", str(HERE / script), "0", *(str(a) for a in args)]
        super().__init__(cmd, work / f"{Path(script).stem}.log", "listening on ", caller, script)


# -- pinning, output, clocks ---------------------------------------------------------------
def add_common_args(p: argparse.ArgumentParser) -> None:
    """The options every pinned benchmark takes: its two cores and --no-save."""
    p.add_argument("--server-core", default="0", help="the server's core (default 0)")
    p.add_argument("--client-core", default="1", help="the generator's core (default 1)")
    p.add_argument("--no-save", action="store_true", help="write no results files")


def pins(args: argparse.Namespace) -> tuple[bool, list[str], list[str]]:
    """(pinned?, the server's taskset prefix, the generator's): pinned only where taskset
    exists and there are two cores."""
    pinned = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    if not pinned:
        return False, [], []
    return True, ["taskset", "-c", args.server_core], ["taskset", "-c", args.client_core]


class Say:
    """Prints a line and keeps it for the results' .txt."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        print(line, flush=True)
        self.lines.append(line)


def wall_minus_monotonic_ns() -> int:
    """time.time_ns() - perf_counter_ns() (CLOCK_MONOTONIC, machine-wide): puts a server's
    record on the wall clock of the run folder's requests.csv (start_unix)."""
    diffs = []
    for _ in range(7):
        a = time.perf_counter_ns()
        w = time.time_ns()
        b = time.perf_counter_ns()
        diffs.append((b - a, w - (a + b) // 2))
    return min(diffs)[1]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# -- signals -------------------------------------------------------------------------------
def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def sigterm_as_interrupt() -> None:
    """SIGTERM raises KeyboardInterrupt: the script cleans up (its runs, the mock) and
    reports partial results as on Ctrl-C."""
    signal.signal(signal.SIGTERM, _raise_interrupt)


# -- results -------------------------------------------------------------------------------
def save_results(
    name: str,
    started: float,
    args: argparse.Namespace,
    results: Any,
    lines: Sequence[str],
    *,
    pinned: bool | None = None,
    extra: Mapping[str, Any] | None = None,
    timespec: str = "auto",
) -> Path:
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
    doc["host"] = {
        "node": platform.node(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
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
