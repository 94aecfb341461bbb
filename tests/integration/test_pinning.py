"""``loadprofile run`` with the embedded mock keeps the mock on one CPU and itself on the
others (Linux, 2+ CPUs), says so and records it in run.json; --no-pin and a single CPU leave
both on every CPU; ``start_mock(pin_apart=True)`` gives the caller its CPUs back at stop()."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from loadprofile.launch.mock import start_mock

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
        reason="pinning needs Linux and at least 2 CPUs",
    ),
]

RUN = ["run", "-t", "1s", "-u", "2", "--no-report"]


def _cpus_allowed(pid: int) -> set[int] | None:
    """/proc/PID/status's Cpus_allowed_list ("0", "0-2,5") as a set; None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    listed = next(
        line.split(":", 1)[1].strip()
        for line in status.splitlines()
        if line.startswith("Cpus_allowed_list")
    )
    cpus: set[int] = set()
    for part in listed.split(","):
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return cpus


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _launch(
    tmp_path: Path, name: str, *extra: str, preexec: Callable[[], None] | None = None
) -> tuple[subprocess.Popen[str], Path]:
    out = tmp_path / name
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "loadprofile", *RUN, *extra, "--out", str(out)],
        cwd=tmp_path,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=preexec,
    )
    return proc, out


def _mock_cpus_while_running(proc: subprocess.Popen[str]) -> set[int] | None:
    """The embedded mock's CPUs, read while the run goes (its first child is the mock)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        for child in _children(proc.pid):
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue  # gone already
            if b"loadprofile.mock" in cmdline:  # exec'd: pinned before, if at all
                return _cpus_allowed(child)
        time.sleep(0.05)
    return None


def test_the_mock_and_the_generator_run_apart(tmp_path: Path) -> None:
    available = sorted(os.sched_getaffinity(0))
    pinned, pinned_out = _launch(tmp_path, "pinned")
    mock_cpus = _mock_cpus_while_running(pinned)
    shared, shared_out = _launch(tmp_path, "shared", "--no-pin")
    lonely, lonely_out = _launch(
        tmp_path, "one-cpu", preexec=lambda: os.sched_setaffinity(0, {available[0]})
    )
    results = {
        name: p.communicate(timeout=120)
        for name, p in (("pinned", pinned), ("shared", shared), ("one-cpu", lonely))
    }
    for name, proc in (("pinned", pinned), ("shared", shared), ("one-cpu", lonely)):
        assert proc.returncode == 0, (name, results[name][1][-2000:])

    assert mock_cpus == {available[-1]}
    meta = json.loads((pinned_out / "run.json").read_text())
    assert meta["pinning"] == {"mock": [available[-1]], "generator": available[:-1]}
    assert f"pinned the embedded mock to CPU {available[-1]} and the load generator to" in (
        results["pinned"][0] + results["pinned"][1]
    )
    for name, out in (("shared", shared_out), ("one-cpu", lonely_out)):
        assert "pinning" not in json.loads((out / "run.json").read_text()), name
        assert "pinned" not in results[name][0] + results[name][1], name


def test_start_mock_gives_the_caller_its_cpus_back() -> None:
    before = os.sched_getaffinity(0)
    mock = start_mock(pin_apart=True)
    try:
        assert mock.pinning is not None
        assert os.sched_getaffinity(0) == set(mock.pinning.generator)
        assert os.sched_getaffinity(mock.process.pid) == set(mock.pinning.mock)
    finally:
        mock.stop()
    assert os.sched_getaffinity(0) == before
    plain = start_mock()  # not asked: nothing pinned
    try:
        assert plain.pinning is None and os.sched_getaffinity(plain.process.pid) == before
    finally:
        plain.stop()
