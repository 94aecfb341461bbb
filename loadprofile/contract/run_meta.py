"""``run.json`` as a typed model: what was run, how and where (docs/run-folder.md).

The run writes run.json while it goes: ``rundir.meta.build_meta`` makes the skeleton (the
fields up to ``warnings``, in the file's order), the session, the recorder, the scraper and a
distributed run's master add the rest. Those later fields are ``UNSET`` in the skeleton, so
it encodes to exactly the keys it always had. Every field may be missing from an older or
a killed run's file.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, Struct, UnsetType

from loadprofile.contract.summary import (
    GeneratorHealth,
    LoadSettings,
    PhasePlan,
    PriceSpec,
    TargetInfo,
)


class Versions(Struct, frozen=True, kw_only=True):
    loadprofile: str | None = None
    python: str | None = None
    locust: str | None = None
    hdrhistogram: str | None = None
    gevent: str | None = None


class HostInfo(Struct, frozen=True, kw_only=True):
    """The machine that generated the load."""

    hostname: str | None = None
    platform: str | None = None
    cpus: int | None = None
    executable: str | None = None


class TargetSpec(Struct, frozen=True, kw_only=True):
    """One configured target (config.targets.Target); never its key, only the variable's
    name, and of its extra headers only the names (``headers``) and the variables they are
    read from (``header_env``: name -> variable), never a value. The last three are left
    out when not used, so such a target reads as it always did."""

    name: str = ""
    model: str = ""
    host: str | None = None
    api_key_env: str | None = None
    weight: float = 1.0
    api: str = ""
    extra_body: str = ""
    api_version: str | UnsetType = UNSET  # --api azure's
    headers: list[str] | UnsetType = UNSET
    header_env: dict[str, str] | UnsetType = UNSET


class Canary(Struct, frozen=True, kw_only=True):
    candidate: str = ""
    baseline: str = ""


class CharStats(Struct, frozen=True, kw_only=True):
    """Sizes in characters over a dataset (nearest-rank percentiles)."""

    min: int = 0
    p50: int = 0
    p90: int = 0
    max: int = 0
    mean: float = 0.0


class TurnStats(Struct, frozen=True, kw_only=True):
    min: int = 0
    mean: float = 0.0
    max: int = 0


class DatasetStats(Struct, frozen=True, kw_only=True):
    """The shape of the dataset's conversations (dataset.stats.dataset_stats)."""

    conversations: int | None = None
    turns_total: int | None = None
    with_system: int | None = None
    turns: TurnStats | None = None
    turns_histogram: dict[str, int] = {}  # turns -> conversations
    user_chars: CharStats | None = None
    prompt_chars: CharStats | None = None
    reply_chars: CharStats | None = None
    sha256: str | None = None


class PromptLimit(Struct, frozen=True, kw_only=True):
    """--max-prompt-tokens: what of the dataset was left out (dataset.prompt_fit)."""

    limit: int = 0
    turns_skipped: int = 0
    turns_run: int = 0
    conversations_cut: int = 0
    conversations_dropped: int = 0
    conversations_run: int = 0


class DatasetInfo(Struct, frozen=True, kw_only=True):
    path: str | None = None
    conversations: int | None = None
    stats: DatasetStats | None = None
    max_prompt_tokens: PromptLimit | UnsetType = UNSET


class ScrapeStats(Struct, frozen=True, kw_only=True):
    """--server-metrics: one endpoint's scrapes."""

    ok: int = 0
    failed: int = 0
    last_error: str | None = None


class Distributed(Struct, frozen=True, kw_only=True):
    workers: int = 0
    master_cpu_percent: float | UnsetType = UNSET


class WorkerEntry(Struct, frozen=True, kw_only=True):
    """One worker of a distributed run, as the master saw it (times from the run's start)."""

    id: str = ""
    index: int | None = None
    host: str | None = None
    pid: int | None = None
    version: str | None = None
    status: str = ""
    partial: bool = False
    requests: int = 0
    cpu_percent_mean: float | None = None
    cpu_percent_max: float | None = None
    first_report_s: float | None = None
    last_report_s: float | None = None
    intervals: int = 0
    lost_at_s: float | None = None
    late_packets: int = 0
    duplicate_packets: int = 0
    note: str = ""


class CacheWarmup(Struct, frozen=True, kw_only=True):
    """``cache_warmup[model]``: the prompts sent before the load (``--warm-cache``)."""

    prompts: int
    failures: int
    seconds: float
    ttft_ms_p50: float | None = None
    cached_share: float | None = None  # of its prompt tokens, its cache served: how warm it was


class CpuPinning(Struct, frozen=True, kw_only=True):
    """``pinning``: the CPUs the embedded mock and the load generator were kept to (Linux,
    2+ CPUs, without --no-pin); missing when they shared every CPU."""

    mock: list[int] = []
    generator: list[int] = []


class CaBundle(Struct, frozen=True, kw_only=True):
    file: str = ""
    #: "--ca-cert", or the variable it came from ("$REQUESTS_CA_BUNDLE", "$SSL_CERT_FILE")
    from_: str = msgspec.field(default="", name="from")


class Reach(Struct, frozen=True, kw_only=True):
    """How the targets were reached (config.reach): never a credential, a proxy by host."""

    ca_cert: CaBundle | UnsetType = UNSET
    client_cert: str | UnsetType = UNSET
    insecure: bool | UnsetType = UNSET  # --insecure: certificates not verified
    proxy: str | UnsetType = UNSET  # --proxy's host:port, or "none (--no-proxy)"
    proxied: dict[str, str] | UnsetType = UNSET  # target -> the proxy it went through


class RunMeta(Struct, frozen=True, kw_only=True):
    """run.json."""

    run_id: str = ""
    started_at: str | None = None
    ended_at: str | None = None
    duration_s: float | None = None  # the run's whole time, the drain included
    partial: bool = False
    interrupted_by: str | None = None  # SIGINT, SIGTERM, ...
    command: list[str] = []
    versions: Versions | None = None
    host: HostInfo | None = None
    target: TargetInfo | None = None
    targets: list[TargetSpec] = []
    prices: dict[str, PriceSpec] = {}
    canary: Canary | None = None
    server_metrics: list[str] = []
    models: list[str] = []
    load: LoadSettings | None = None
    dataset: DatasetInfo | None = None
    warnings: list[str] = []
    # Added while the run goes (never in the skeleton):
    phases: list[PhasePlan] | UnsetType = UNSET
    arrivals_start_s: float | UnsetType = UNSET
    server_metrics_scrapes: dict[str, ScrapeStats] | UnsetType = UNSET
    distributed: Distributed | UnsetType = UNSET
    workers: list[WorkerEntry] | UnsetType = UNSET
    histograms: dict[str, dict[str, str]] | UnsetType = UNSET  # model -> metric -> file
    generator: GeneratorHealth | UnsetType = UNSET
    unfinished_at_stop: int | UnsetType = UNSET
    dataset_passes: dict[str, float] | UnsetType = UNSET
    load_duration_s: float | UnsetType = UNSET  # the run time, the drain excluded
    pinning: CpuPinning | UnsetType = UNSET  # the embedded mock's CPUs and the generator's
    cache_warmup: dict[str, CacheWarmup] | UnsetType = UNSET  # --warm-cache, per model
    reach: Reach | UnsetType = UNSET  # TLS settings and proxies, when any was in effect


def decode_run_meta(data: bytes | str) -> RunMeta:
    """run.json's text as a RunMeta; msgspec.DecodeError or ValidationError otherwise."""
    return msgspec.json.decode(data, type=RunMeta)


def run_meta_of(raw: object) -> RunMeta:
    """run.json held as plain JSON values (the run's live draft) as a RunMeta."""
    return msgspec.convert(raw, RunMeta)
