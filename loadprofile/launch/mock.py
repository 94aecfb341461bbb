"""Start and stop the embedded mock server as its own process.

The mock runs asyncio/aiohttp; the load generator runs gevent. They must never share a
process (docs/architecture.md), so the runner starts ``python -m loadprofile.mock`` and waits
for the one line it prints when it is listening. Its output goes to a file, never a pipe, so a
chatty server can never block on a full pipe in the middle of a run.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loadprofile.errors import UnreachableError
from loadprofile.launch.processes import (
    Pinning,
    cpus_of,
    plan_pinning,
    set_cpus,
    stop_process,
    usable_cpus,
)

_READY = re.compile(r"listening on (https?://\S+) models=(\S+)")
_START_TIMEOUT_S = 30.0
_PR_SET_PDEATHSIG = 1
#: The models `loadprofile run` loads from the embedded mock when given none.
DEFAULT_MOCK_MODELS = ("mock-small", "mock-large")


@dataclass
class MockProcess:
    url: str
    models: list[str]
    process: subprocess.Popen[bytes]
    log_path: Path
    pinning: Pinning | None = None  # pin_apart: where the mock and this process run
    cpus_before: set[int] | None = None  # this process's CPUs before it was pinned

    def stop(self) -> None:
        stop_process(self.process)
        self.log_path.unlink(missing_ok=True)
        if self.cpus_before is not None:  # the generator gets every CPU back
            set_cpus(self.cpus_before)
            self.cpus_before = None


def _die_with_parent() -> None:
    """Linux: the mock gets SIGTERM when the process that started it dies, however it dies
    (a signal during preflight, SIGKILL), so no mock is ever left behind."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the runner's finally-block still stops the mock


def _child_setup(cpus: tuple[int, ...] | None) -> Callable[[], None]:
    """What the mock's process does before it runs Python: die with its parent and, pinned,
    keep to ``cpus`` (before exec, so every thread it ever starts inherits them)."""

    def setup() -> None:
        _die_with_parent()
        if cpus is not None:
            # on failure it shares every CPU: checked from outside once it listens
            with contextlib.suppress(AttributeError, OSError):
                os.sched_setaffinity(0, cpus)

    return setup


def start_mock(
    seed: int = 0, extra_args: list[str] | None = None, *, pin_apart: bool = False
) -> MockProcess:
    """Start the mock on a free loopback port and wait until it listens. ``pin_apart``
    (Linux, two CPUs or more): the mock on the last CPU this process may use, this process
    on the others until ``stop()`` (``pinning`` says where; None when it did not happen)."""
    plan = plan_pinning(usable_cpus() or ()) if pin_apart else None
    cmd = [
        sys.executable,
        "-m",
        "loadprofile.mock",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--seed",
        str(seed),
        "--quiet",
        *(extra_args or []),
    ]
    fd, log_name = tempfile.mkstemp(prefix="loadprofile-mock-", suffix=".log")
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=fd,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_child_setup(plan.mock if plan else None),
        )
    finally:
        os.close(fd)
    mock = MockProcess("", [], proc, Path(log_name))
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        text = mock.log_path.read_text(errors="replace")
        match = _READY.search(text)
        if match:
            mock.url, mock.models = match.group(1), match.group(2).split(",")
            if plan is not None:
                _pin_generator(mock, plan)
            return mock
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    lines = mock.log_path.read_text(errors="replace").strip().splitlines()
    mock.stop()
    detail = lines[-1] if lines else "it printed no ready line"
    raise UnreachableError(f"the embedded mock server did not start: {detail}")


def _pin_generator(mock: MockProcess, plan: Pinning) -> None:
    """The mock keeps to its CPU: this process moves to the others (the runner says so)."""
    before = usable_cpus()
    if before is None or cpus_of(mock.process.pid) != set(plan.mock):
        return  # the mock could not be pinned: both keep sharing every CPU
    if set_cpus(plan.generator):
        mock.pinning, mock.cpus_before = plan, before
