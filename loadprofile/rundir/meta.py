"""run.json: what was run, how and where; everything but secrets (pure)."""

from __future__ import annotations

import os
import platform
import secrets
import socket
import sys
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from loadprofile import __version__
from loadprofile.config.run_config import RunConfig


def new_run_id(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(2)}"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    return {
        "loadprofile": __version__,
        "python": platform.python_version(),
        "locust": _version("locust"),
        "hdrhistogram": _version("hdrhistogram"),
        "gevent": _version("gevent"),
    }


def build_meta(
    config: RunConfig,
    *,
    run_id: str,
    command: list[str],
    target_kind: str,
    dataset: dict[str, Any],
    warnings: list[str],
) -> dict[str, Any]:
    """The run.json skeleton; the session adds times, histogram files and CPU figures."""
    hosts = sorted({t.host for t in config.targets if t.host})
    as_json = config.to_json()
    load = as_json["load"]
    return {
        "run_id": run_id,
        "started_at": None,
        "ended_at": None,
        "duration_s": None,
        "partial": True,
        "interrupted_by": None,
        "command": command,
        "versions": versions(),
        "host": {
            "hostname": socket.gethostname(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "executable": sys.executable,
        },
        "target": {"kind": target_kind, "hosts": hosts},
        "targets": as_json["targets"],
        "prices": as_json.get("prices", {}),
        "canary": as_json.get("canary"),
        "server_metrics": as_json.get("server_metrics", []),
        "models": [t.name for t in config.targets],
        "load": load,
        "dataset": dataset,
        "warnings": warnings,
    }
