"""What the command line said, flag by flag, before the TOML file and the defaults fill
in the rest (``config.run_config.resolve``); the flag registry (flags.py) makes one from
either parser."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CliValues:
    """What the command line said; None means 'not given' (TOML, then defaults apply)."""

    host: str | None = None
    models: tuple[str, ...] = ()
    config: Path | None = None
    dataset: str | None = None
    out: str | None = None
    users: int | None = None
    spawn_rate: float | None = None
    until_stable: bool | None = None
    stable_metrics: str | None = None
    stable_ci: float | None = None
    warmup: str | None = None
    min_time: str | None = None
    run_time: str | None = None
    think_time: str | None = None
    history: str | None = None
    timeout: str | None = None
    max_tokens: int | None = None
    interval: str | None = None
    stop_timeout: str | None = None
    seed: int | None = None
    api_key_env: str | None = None
    shape: str | None = None
    base_users: int | None = None
    steps: str | None = None
    step_time: str | None = None
    spike_users: int | None = None
    spike_at: str | None = None
    spike_for: str | None = None
    rate: float | None = None
    arrival: str | None = None
    rate_unit: str | None = None
    pace: str | None = None
    slo_ttft_ms: float | None = None
    slo_tpot_ms: float | None = None
    slo_ttft_p99_ms: float | None = None
    content_schema: str | None = None
    content_extract: str | None = None
    sample_outputs: int | None = None
    entities: str | None = None
    baseline: tuple[str, ...] | list[str] | None = None
    retries: int | None = None
    retry_backoff: str | None = None
    retry_on: str | None = None
    canary: str | None = None
    api: str | None = None
    api_version: str | None = None  # --api azure's api-version
    header: tuple[str, ...] | list[str] | None = None  # --header 'Name: value' (repeatable)
    header_env: tuple[str, ...] | list[str] | None = None  # --header-env Name=VAR (repeatable)
    unique_prefix: bool | None = None
    server_metrics: tuple[str, ...] | list[str] | None = None
    max_prompt_tokens: int | None = None
    max_requests: int | None = None
    extra_body: str | None = None
    warm_cache: str | None = None
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    insecure: bool | None = None
    proxy: str | None = None
    no_proxy: bool | None = None
