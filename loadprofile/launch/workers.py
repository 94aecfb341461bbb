"""Worker processes on this machine for ``--processes N`` (each its own interpreter).

Subprocesses rather than Locust's fork: each worker imports and patches what it needs by
itself, and takes the run from the master over loopback like any remote worker would.
Under a local master they run in their own process group, so a Ctrl-C at the terminal
reaches the master only, which then drains the workers in order.
"""

from __future__ import annotations

import socket
import subprocess
import sys

from loadprofile.launch.processes import stop_process


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def start_local_workers(
    count: int, master_host: str, master_port: int, *, own_group: bool = True
) -> list[subprocess.Popen[bytes]]:
    """``own_group``: under a local master (which drains them); without it, a Ctrl-C at the
    terminal reaches each worker itself (``--worker --processes N``)."""
    command = [
        sys.executable,
        "-m",
        "loadprofile",
        "run",
        "--worker",
        "--master-host",
        master_host,
        "--master-port",
        str(master_port),
    ]
    return [
        subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=own_group)
        for _ in range(count)
    ]


def stop_local_workers(procs: list[subprocess.Popen[bytes]], timeout_s: float = 15.0) -> None:
    """Wait for the workers the master told to quit; terminate, then kill, stragglers."""
    for proc in procs:
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            stop_process(proc)


def wait_local_workers(procs: list[subprocess.Popen[bytes]]) -> int:
    """``--worker --processes N``: the highest exit code of the workers."""
    return max((proc.wait() for proc in procs), default=0)
