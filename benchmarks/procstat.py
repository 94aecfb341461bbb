"""What /proc says about a process and the cores (CPU ticks, run-queue waits, core load),
and watching a run (stopping a process is loadprofile.launch.processes.stop_process).

Shared by the benchmarks that pin a mock and a generator to different cores and must know
whether either was starved, or other load on the machine took their core.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any


def proc_cpu_ticks(pid: int) -> int | None:
    """utime + stime of a process (all its threads) in clock ticks, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process (VmRSS) in MB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def run_delay_ns(pid: int) -> int | None:
    """Time the process's main thread was runnable but waiting for a CPU (schedstat):
    other load on its core."""
    try:
        with open(f"/proc/{pid}/schedstat", encoding="ascii") as fh:
            return int(fh.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None


def core_ticks() -> dict[str, tuple[int, int]]:
    """Per-core (busy, total) ticks from /proc/stat."""
    out: dict[str, tuple[int, int]] = {}
    with open("/proc/stat", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("cpu") and line[3].isdigit():
                name, *vals = line.split()
                nums = [int(v) for v in vals[:8]]
                idle = nums[3] + nums[4]  # idle + iowait
                out[name] = (sum(nums) - idle, sum(nums))
    return out


def wait_ms_per_s(t0_ns: int | None, t1_ns: int | None, secs: float) -> float | None:
    """A run-queue wait between two samples, in ms per second."""
    if t0_ns is None or t1_ns is None or secs <= 0:
        return None
    return round((t1_ns - t0_ns) / 1e6 / secs, 2)


def watch(
    proc: subprocess.Popen[Any], deadline: float, sample: Callable[[], None], every_s: float
) -> bool:
    """Sample while ``proc`` runs; past ``deadline`` (time.monotonic) kill its process
    group (started with start_new_session). Returns whether it had to be killed."""
    killed = False
    try:
        while proc.poll() is None:
            if time.monotonic() > deadline:
                killed = True
                break
            sample()
            time.sleep(every_s)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group of the run we started
            proc.wait(5)
    return killed
