"""Child processes: stopping one politely, then for sure (the mock, local workers, servers);
keeping the embedded mock and the load generator on different CPUs (Linux)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Collection
from typing import Any, NamedTuple


def stop_process(proc: subprocess.Popen[Any], grace_s: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if it has not gone within ``grace_s``; reaped either way."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- CPU pinning: the embedded mock and the load generator apart ---------------------------


class Pinning(NamedTuple):
    """Which CPUs the embedded mock and the load generator (this process) run on."""

    mock: tuple[int, ...]
    generator: tuple[int, ...]

    def to_json(self) -> dict[str, list[int]]:
        return {"mock": list(self.mock), "generator": list(self.generator)}


def plan_pinning(available: Collection[int]) -> Pinning | None:
    """The mock on the last CPU of ``available``, the generator on the rest; None with fewer
    than two CPUs (nothing to keep apart)."""
    cpus = sorted(set(available))
    if len(cpus) < 2:
        return None
    return Pinning(mock=(cpus[-1],), generator=tuple(cpus[:-1]))


def usable_cpus() -> set[int] | None:
    """The CPUs this process may run on; None where that cannot be read (not Linux)."""
    getter = getattr(os, "sched_getaffinity", None)
    if getter is None:
        return None
    try:
        return set(getter(0))
    except OSError:
        return None


def cpus_of(pid: int) -> set[int] | None:
    """The CPUs process ``pid`` (its main thread) may run on; None if unknown."""
    try:
        return set(os.sched_getaffinity(pid))
    except (AttributeError, OSError):
        return None


def set_cpus(cpus: Collection[int]) -> bool:
    """Put this process, every thread it has now and any it starts later, on ``cpus``
    (Linux's affinity is per thread, inherited by new ones); False if it could not be set."""
    try:
        os.sched_setaffinity(0, cpus)
    except (AttributeError, OSError):
        return False
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        tasks = []
    for task in tasks:
        with contextlib.suppress(OSError, ValueError):  # a thread that has just ended
            os.sched_setaffinity(int(task), cpus)
    return True
