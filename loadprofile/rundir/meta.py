"""run.json: what was run, how and where; everything but secrets (pure).

``build_meta`` makes the typed skeleton (contract.run_meta.RunMeta) and hands the run its
plain form: the run's draft of run.json, which the session, the recorder, the scraper and a
distributed run's master fill in as the run goes. ``meta_of`` reads a draft back typed.
"""

from __future__ import annotations

import os
import platform
import secrets
import socket
import sys
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import msgspec
from msgspec import UNSET

from loadprofile import __version__
from loadprofile.config.redaction import redact_argv
from loadprofile.config.run_config import RunConfig
from loadprofile.contract.run_meta import (
    Canary,
    DatasetInfo,
    HostInfo,
    Reach,
    RunMeta,
    TargetSpec,
    Versions,
    run_meta_of,
)
from loadprofile.contract.summary import LoadSettings, PriceSpec, TargetInfo


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
    """The run.json skeleton as the run's draft (plain JSON values: the session adds times,
    histogram files and CPU figures by key). ``command`` is recorded redacted: every way of
    running (loadprofile run, plain Locust, a master) passes here."""
    hosts = sorted({t.host for t in config.targets if t.host})
    as_json = config.to_json()
    meta = RunMeta(
        run_id=run_id,
        partial=True,
        command=redact_argv(command),
        versions=msgspec.convert(versions(), Versions),
        host=HostInfo(
            hostname=socket.gethostname(),
            platform=platform.platform(),
            cpus=os.cpu_count(),
            executable=sys.executable,
        ),
        target=TargetInfo(kind=target_kind, hosts=hosts),
        targets=msgspec.convert(as_json["targets"], list[TargetSpec]),
        prices=msgspec.convert(as_json.get("prices", {}), dict[str, PriceSpec]),
        canary=msgspec.convert(as_json.get("canary"), Canary | None),
        server_metrics=list(config.server_metrics),
        models=[t.name for t in config.targets],
        load=msgspec.convert(as_json["load"], LoadSettings),
        dataset=msgspec.convert(dataset, DatasetInfo),
        warnings=warnings,
        reach=msgspec.convert(as_json["reach"], Reach) if "reach" in as_json else UNSET,
    )
    draft: dict[str, Any] = msgspec.to_builtins(meta)
    return draft


def meta_of(draft: dict[str, Any]) -> RunMeta:
    """The run's draft of run.json, typed (ValidationError if the run put a wrong type)."""
    return run_meta_of(draft)
