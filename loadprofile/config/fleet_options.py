"""How a ``loadprofile run`` process takes part in a run: alone, as master, or as worker (pure).

The flags are Locust's, with Locust's meaning: ``--processes N`` (N local worker processes
under a master in this process; -1 = one per core; with ``--worker``, N workers of a remote
master), ``--master [--expect-workers N]``, ``--worker --master-host HOST``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from loadprofile.errors import ConfigError

DEFAULT_MASTER_PORT = 5557  # Locust's

#: Run options a worker must not be given: it runs what its master sends.
_RUN_OPTIONS = (
    "host",
    "model",
    "config",
    "dataset",
    "users",
    "spawn_rate",
    "run_time",
    "think_time",
    "history",
    "timeout",
    "max_tokens",
    "stop_timeout",
    "interval",
    "seed",
    "out",
    "shape",
    "rate",
    "pace",
    "steps",
    "spike_users",
    "content_schema",
    "retries",
    "slo",
    "canary",
    "on_fail_webhook",
    "junit",
    "markdown",
    "against",
    "api",
    "unique_prefix",
    "server_metrics",
    "warm_cache",
    "until_stable",
)


@dataclass(frozen=True)
class FleetOptions:
    role: str  # "master" or "worker"
    processes: int = 0  # local worker processes this process starts
    expect_workers: int = 1
    expect_workers_max_wait_s: float = 120.0
    master_host: str = "127.0.0.1"
    master_port: int = DEFAULT_MASTER_PORT
    bind_host: str = "*"
    bind_port: int = DEFAULT_MASTER_PORT

    @property
    def local_processes(self) -> bool:
        """All-in-one: this process is the master of its own worker processes."""
        return self.role == "master" and self.processes > 0


def resolve_fleet(args: Any, cpu_count: int | None = None) -> FleetOptions | None:
    """None for an ordinary single-process run; ConfigError (one line) on a bad combination."""
    processes = getattr(args, "processes", None)
    master, worker = bool(getattr(args, "master", False)), bool(getattr(args, "worker", False))
    if processes is None and not master and not worker:
        _refuse_orphans(args)
        return None
    if master and worker:
        raise ConfigError("--master and --worker exclude each other")
    if getattr(args, "until_stable", None) and not worker:
        raise ConfigError("--until-stable runs in one process only (drop --processes/--master)")
    if processes is not None:
        if processes == -1:
            processes = cpu_count or os.cpu_count() or 1
        if processes < 1:
            raise ConfigError(f"--processes {processes}: give a number of processes >= 1, or -1")
        if master:
            raise ConfigError(
                "--processes starts its own master: drop --master (or run the "
                "workers with --worker --processes N)"
            )
    port = _port(getattr(args, "master_port", None), "--master-port")
    bind_port = _port(getattr(args, "master_bind_port", None), "--master-bind-port")
    max_wait = getattr(args, "expect_workers_max_wait", None)
    if max_wait is not None and max_wait < 0:
        raise ConfigError("--expect-workers-max-wait: give seconds >= 0 (0 = wait forever)")
    if worker:
        given = [n for n in _RUN_OPTIONS if getattr(args, n, None) not in (None, [], False)]
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            raise ConfigError(f"a worker runs what its master sends: give {flags} to the master")
        return FleetOptions(
            "worker",
            processes=processes or 0,
            master_host=getattr(args, "master_host", None) or "127.0.0.1",
            master_port=port,
        )
    expect = getattr(args, "expect_workers", None)
    if expect is not None and (processes is not None or expect < 1):
        raise ConfigError("--expect-workers goes with --master and is at least 1")
    return FleetOptions(
        "master",
        processes=processes or 0,
        expect_workers=processes or expect or 1,
        expect_workers_max_wait_s=120.0 if max_wait is None else max_wait,
        bind_host=getattr(args, "master_bind_host", None) or ("127.0.0.1" if processes else "*"),
        bind_port=bind_port,
    )


def _refuse_orphans(args: Any) -> None:
    for flag in (
        "expect_workers",
        "expect_workers_max_wait",
        "master_host",
        "master_port",
        "master_bind_host",
        "master_bind_port",
    ):
        if getattr(args, flag, None) is not None:
            name = "--" + flag.replace("_", "-")
            raise ConfigError(f"{name} needs --master, --worker or --processes")


def _port(value: int | None, flag: str) -> int:
    if value is None:
        return DEFAULT_MASTER_PORT
    if not 0 < value < 65536:
        raise ConfigError(f"{flag} {value}: not a port number")
    return value
