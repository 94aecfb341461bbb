"""Run configuration: CLI values and an optional TOML file resolved into one frozen object.

Pure core. Secrets never live here: a target names the environment variable that holds its
API key, and only the variable's name is ever written to the run folder.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from loadprofile.config.check_options import (
    ContentContract,
    OutputSampling,
    resolve_content,
    resolve_samples,
)
from loadprofile.config.cli_values import CliValues
from loadprofile.config.extra_body import check_extra_body
from loadprofile.config.headers import ExtraHeaders, cli_headers
from loadprofile.config.load_options import resolve_load_options, whole_number
from loadprofile.config.pricing import Price, check_priced_targets, prices_from_toml
from loadprofile.config.reach import ReachOptions, proxy_options, reach_record, tls_options
from loadprofile.config.retry_policy import DEFAULT_RETRY_ON, RetryPolicy, resolve_retry
from loadprofile.config.stop_rule import resolve_stop_rule
from loadprofile.config.targets import (
    DEFAULT_API,
    Target,
    check_api,
    check_api_version,
    check_targets,
    fill_target,
    normalize_host,
    parse_model_spec,
    split_canary,
    target_record,
    targets_from_toml,
)
from loadprofile.config.toml_file import LOAD_OPTION_FIELDS, load_section, load_toml
from loadprofile.errors import ConfigError
from loadprofile.quality.grounding import load_catalogue

HISTORY_MODES = ("recorded", "live")
WARM_CACHE_MODES = ("auto", "on", "off")
#: The run time of a run with a request budget (-n) that names none.
MAX_REQUESTS_RUN_TIME_S = 600.0
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)?")


@dataclass(frozen=True)
class StageSpec:
    """One stage of a user-defined shape: hold ``users`` for ``duration_s``."""

    duration_s: float
    users: int
    spawn_rate: float | None = None


@dataclass(frozen=True)
class LoadConfig:
    """How load is generated. Closed loop (users, think time, optional pacing and a shape)
    unless ``rate`` is set: then arrivals follow a schedule whatever the server does."""

    users: int = 20
    spawn_rate: float = 5.0
    run_time_s: float = 30.0
    think_time_s: tuple[float, float] = (1.0, 3.0)
    history: str = "recorded"
    timeout_s: float = 300.0
    max_tokens: int | None = 256
    interval_s: float = 1.0
    stop_timeout_s: float = 30.0
    seed: int = 0
    shape: str = "steady"
    base_users: int = 1
    steps: tuple[int, ...] = ()
    step_time_s: float = 0.0
    spike_users: int = 0
    spike_at_s: float = 0.0
    spike_for_s: float = 0.0
    stages: tuple[StageSpec, ...] = ()
    rate: float | None = None
    arrival: str = "poisson"
    gamma_shape: float = 1.0
    rate_unit: str = "requests"
    pace_s: float | None = None
    slo_ttft_ms: float | None = None
    slo_tpot_ms: float | None = None
    slo_ttft_p99_ms: float | None = None
    retries: int = 0
    retry_backoff_s: float = 0.5
    retry_backoff_max_s: float = 8.0
    retry_on: tuple[str, ...] = DEFAULT_RETRY_ON
    unique_prefix: bool = False  # --unique-prefix: a per-conversation nonce opens the prompt
    max_prompt_tokens: int | None = None  # --max-prompt-tokens: longer turns are not sent
    max_requests: int | None = None  # -n: the run ends once this many requests were sent
    extra_body: str = ""  # --extra-body: fields merged into every request body (JSON text)
    warm_cache: str = "auto"  # --warm-cache: prime every model's prefix cache first (auto: canary)
    until_stable: bool = False  # --until-stable: end once every gated percentile is settled
    stable_metrics: tuple[str, ...] = ("ttft_ms.p99", "e2e_ms.p99")  # --stable-metrics
    stable_ci_pct: float = 5.0  # --stable-ci: the 95 % interval's bound, +- % of the estimate
    warmup_s: float = 0.0  # --warmup (with --until-stable; 10 s): left out of the figures
    min_time_s: float = 0.0  # --min-time (with --until-stable; 30 s): never stable sooner

    @property
    def open_loop(self) -> bool:
        return self.rate is not None

    @functools.cached_property
    def retry(self) -> RetryPolicy:
        """Made once: every request asks for it."""
        return RetryPolicy(
            self.retries, self.retry_backoff_s, self.retry_backoff_max_s, tuple(self.retry_on)
        )


@dataclass(frozen=True)
class RunConfig:
    targets: tuple[Target, ...]
    dataset: Path | None
    out_dir: Path | None
    load: LoadConfig = field(default_factory=LoadConfig)
    host: str | None = None  # --host without --model: the runner asks it for its model
    api_key_env: str | None = None
    content: ContentContract = field(default_factory=ContentContract)
    samples: OutputSampling = field(default_factory=OutputSampling)
    entities: tuple[str, ...] = ()  # --entities: the catalogue of known names
    entities_source: str | None = None
    prices: tuple[tuple[str, Price], ...] = ()  # [prices.NAME] of the config file
    canary: tuple[str, str] | None = None  # --canary C --baseline B: (C, B)
    server_metrics: tuple[str, ...] = ()  # --server-metrics: Prometheus endpoints to scrape
    api: str = DEFAULT_API  # --api: the flavour of targets that name none (and mock defaults)
    api_version: str | None = None  # --api-version: Azure's, for targets that name none
    extra_headers: ExtraHeaders = field(default_factory=ExtraHeaders)  # --header(-env)
    reach: ReachOptions = field(default_factory=ReachOptions)  # TLS and proxies

    def price_of(self, name: str) -> Price | None:
        return dict(self.prices).get(name)

    def to_json(self) -> dict[str, Any]:
        """For run.json: everything, secrets excluded by construction."""
        out: dict[str, Any] = {
            "targets": [target_record(t) for t in self.targets],
            "dataset": str(self.dataset) if self.dataset else None,
            "load": asdict(self.load),
        }
        if self.samples.per_model:
            out["output_samples"] = {
                "per_model": self.samples.per_model,
                "baselines": dict(self.samples.baselines),
            }
        if self.canary:
            out["canary"] = {"candidate": self.canary[0], "baseline": self.canary[1]}
        if self.server_metrics:
            out["server_metrics"] = list(self.server_metrics)
        reach = reach_record(self.reach)
        if reach:
            out["reach"] = reach
        if self.prices:
            out["prices"] = {name: price.to_json() for name, price in self.prices}
        if self.entities:
            out["entities"] = {"file": self.entities_source, "names": len(self.entities)}
        if self.content.schema is not None:
            out["content_contract"] = {
                "schema_file": self.content.source,
                "extract": self.content.extract,
            }
        return out


def parse_duration(text: str | float | int, what: str = "duration") -> float:
    """'90', '30s', '5m', '1h30m', '250ms' -> seconds."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ConfigError(f"bad {what} {text!r} (use e.g. 30s, 5m, 1h30m)")
    if isinstance(text, int | float):
        if text < 0 or not math.isfinite(text):
            raise ConfigError(f"{what} must be a finite, non-negative number: {text}")
        return float(text)
    s = text.strip().lower()
    total, pos = 0.0, 0
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
    for match in _DURATION.finditer(s):
        if match.start() != pos:
            break
        total += float(match.group(1)) * units[match.group(2)]
        pos = match.end()
    if not s or pos != len(s):
        raise ConfigError(f"bad {what} {text!r} (use e.g. 30s, 5m, 1h30m)")
    return total


def parse_think_time(text: str) -> tuple[float, float]:
    """'1-3' -> (1.0, 3.0); '2' -> (2.0, 2.0); seconds."""
    parts = str(text).split("-")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ConfigError(f"bad --think-time {text!r} (use MIN-MAX seconds, e.g. 1-3)") from None
    if len(values) not in (1, 2) or min(values) < 0 or not all(map(math.isfinite, values)):
        raise ConfigError(f"bad --think-time {text!r} (use MIN-MAX seconds, e.g. 1-3)")
    low, high = values[0], values[-1]
    if high < low:
        raise ConfigError(f"bad --think-time {text!r}: MAX is below MIN")
    return low, high


def resolve(cli: CliValues) -> RunConfig:
    """CLI over TOML over defaults. Targets without a host get ``cli.host`` (may be None:
    the runner then starts the embedded mock and fills it in)."""
    data = load_toml(cli.config) if cli.config else {}
    source = cli.config or Path("<cli>")
    section = load_section(data, source)

    cli_load = {
        "users": cli.users,
        "spawn_rate": cli.spawn_rate,
        "run_time": cli.run_time,
        "think_time": cli.think_time,
        "history": cli.history,
        "timeout": cli.timeout,
        "max_tokens": cli.max_tokens,
        "interval": cli.interval,
        "stop_timeout": cli.stop_timeout,
        "seed": cli.seed,
        "dataset": cli.dataset,
        "out": cli.out,
        "retries": cli.retries,
        "retry_backoff": cli.retry_backoff,
        "retry_on": cli.retry_on,
        "unique_prefix": cli.unique_prefix,
        "max_prompt_tokens": cli.max_prompt_tokens,
        "max_requests": cli.max_requests,
        "extra_body": cli.extra_body,
        "warm_cache": cli.warm_cache,
        "until_stable": cli.until_stable,
        "stable_metrics": cli.stable_metrics,
        "stable_ci": cli.stable_ci,
        "warmup": cli.warmup,
        "min_time": cli.min_time,
        **{name: getattr(cli, name) for name in LOAD_OPTION_FIELDS},
    }
    values = {**section, **{k: v for k, v in cli_load.items() if v is not None}}
    targets = _resolve_targets(cli, data, source)
    prices = prices_from_toml(data, source)
    check_priced_targets(prices, [t.name for t in targets])
    canary, snapshots = split_canary(cli.canary, cli.baseline, [t.name for t in targets])
    load = _resolve_load(values)
    dataset = values.get("dataset")
    out = values.get("out")
    for key, value in (("dataset", dataset), ("out", out)):
        if value is not None and not (isinstance(value, str) and value):
            raise ConfigError(f"{source}: {key} must be a path string, got {value!r}")
    return RunConfig(
        targets=tuple(targets),
        dataset=Path(dataset) if dataset else None,
        out_dir=Path(out) if out else None,
        load=load,
        host=normalize_host(cli.host, "--host") if cli.host else None,
        api_key_env=cli.api_key_env,
        content=resolve_content(cli.content_schema, cli.content_extract),
        samples=resolve_samples(cli.sample_outputs, snapshots, [t.name for t in targets]),
        entities=load_catalogue(Path(cli.entities)) if cli.entities else (),
        entities_source=cli.entities,
        prices=tuple(sorted(prices.items())),
        canary=canary,
        server_metrics=tuple(normalize_metrics_url(url) for url in cli.server_metrics or ()),
        api=_cli_api(cli),
        api_version=_cli_api_version(cli),
        extra_headers=cli_headers(cli.header, cli.header_env),
        reach=ReachOptions(
            tls_options(cli.ca_cert, cli.client_cert, cli.client_key, bool(cli.insecure)),
            proxy_options(cli.proxy, bool(cli.no_proxy)),
        ),
    )


def _cli_api(cli: CliValues) -> str:
    return check_api(cli.api, "--api") if cli.api is not None else DEFAULT_API


def _cli_api_version(cli: CliValues) -> str | None:
    return check_api_version(cli.api_version, "--api-version") if cli.api_version else None


def normalize_metrics_url(url: str) -> str:
    """A checked ``--server-metrics`` URL: http(s), kept as given (its path is the endpoint)."""
    normalize_host(url, "--server-metrics")  # the same checks as a host (no credentials, ...)
    return url if urlsplit(url).path not in ("", "/") else url.rstrip("/") + "/metrics"


def _resolve_targets(cli: CliValues, data: dict[str, Any], source: Path) -> list[Target]:
    api = _cli_api(cli)
    if cli.models:
        targets = [parse_model_spec(spec, api) for spec in cli.models]
    else:
        targets = targets_from_toml(data, source, api)
    cli_host = normalize_host(cli.host, "--host") if cli.host else None
    filled = [
        fill_target(
            t,
            host=cli_host,
            api_key_env=cli.api_key_env,
            api_version=_cli_api_version(cli),
            headers=cli_headers(cli.header, cli.header_env),
        )
        for t in targets
    ]
    check_targets(filled)
    return filled


def _flag(value: Any, what: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ConfigError(f"{what} must be true or false, got {value!r}")
    return value


def _resolve_load(values: dict[str, Any]) -> LoadConfig:
    d = LoadConfig()

    def given(key: str, default: Any) -> Any:
        value = values.get(key)
        return default if value is None else value

    history = given("history", d.history)
    if history not in HISTORY_MODES:
        raise ConfigError(f"bad history {history!r} (use recorded or live)")
    warm_cache = given("warm_cache", d.warm_cache)
    if warm_cache not in WARM_CACHE_MODES:
        raise ConfigError(f"bad warm_cache {warm_cache!r} (use auto, on or off)")
    spawn_rate = values.get("spawn_rate")
    try:
        spawn = float(spawn_rate) if spawn_rate is not None else d.spawn_rate
    except (TypeError, ValueError):
        raise ConfigError(f"spawn rate must be a number, got {spawn_rate!r}") from None
    if not spawn > 0 or not math.isfinite(spawn):
        raise ConfigError("spawn rate must be a positive number")
    think = values.get("think_time")
    max_tokens = values.get("max_tokens")
    interval = parse_duration(given("interval", d.interval_s), "interval")
    if interval < 0.1:
        raise ConfigError("interval must be at least 100ms")
    max_requests = values.get("max_requests")
    if max_requests is not None:
        max_requests = whole_number(max_requests, "max requests (-n)", 1)
    # A request budget runs until it is spent; the run time still bounds it, 10 min unless
    # given (as k6's iterations have a maximum duration).
    default_run_time = d.run_time_s if max_requests is None else MAX_REQUESTS_RUN_TIME_S
    run_time = parse_duration(given("run_time", default_run_time), "run time")
    if run_time <= 0:
        raise ConfigError("run time must be positive")
    timeout = parse_duration(given("timeout", d.timeout_s), "timeout")
    if timeout <= 0:
        raise ConfigError("timeout must be positive")
    stop = values.get("stop_timeout")
    max_prompt = values.get("max_prompt_tokens")
    if max_prompt is not None:
        max_prompt = whole_number(max_prompt, "max prompt tokens")
    options = resolve_load_options(values, parse_duration)
    if options.get("pace_s") or (options.get("rate") and options["rate_unit"] == "requests"):
        think = "0"  # pacing, or arrivals, decide when each request starts
    stages = tuple(StageSpec(*stage) for stage in options.pop("stages", ()))
    retry = resolve_retry(
        values.get("retries"), values.get("retry_backoff"), values.get("retry_on"), parse_duration
    )
    return LoadConfig(
        users=options.pop("users", None) or whole_number(given("users", d.users), "users", 1),
        spawn_rate=options.pop("spawn_rate", spawn),
        run_time_s=options.pop("run_time_s", run_time),
        think_time_s=parse_think_time(think) if think is not None else d.think_time_s,
        history=history,
        timeout_s=timeout,
        max_tokens=d.max_tokens if max_tokens is None else whole_number(max_tokens, "max tokens"),
        interval_s=interval,
        stop_timeout_s=d.stop_timeout_s if stop is None else parse_duration(stop, "stop timeout"),
        seed=whole_number(given("seed", d.seed), "seed", 0),
        stages=stages,
        retries=retry.retries,
        retry_backoff_s=retry.backoff_s,
        retry_backoff_max_s=retry.backoff_max_s,
        retry_on=retry.retry_on,
        unique_prefix=_flag(values.get("unique_prefix"), "unique_prefix"),
        max_prompt_tokens=max_prompt,
        max_requests=max_requests,
        extra_body=check_extra_body(values.get("extra_body"), "--extra-body"),
        warm_cache=warm_cache,
        **resolve_stop_rule(values, run_time, parse_duration),
        **options,
    )
