"""``summary.json`` as typed models (docs/run-folder.md, docs/schema/summary.schema.json).

Field order is the file's key order, so a summary encodes to the bytes the writer always
wrote. ``decode_summary`` turns a file that is not what loadprofile writes (a count that is
a string, a model that is a list) into one ``msgspec.ValidationError`` naming the place.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec
from msgspec import UNSET, Struct, UnsetType

from loadprofile.contract.stability import Stability

#: summary.json's schema number (2: TTFT and E2E from the request's start, rates over
#: each model's ``window_s``).
SCHEMA = 2

T = TypeVar("T")


def given(value: T | UnsetType) -> T | None:
    """A field the writer may leave out, as None when it did."""
    return None if isinstance(value, UnsetType) else value


class Latency(Struct, frozen=True, kw_only=True):
    """One metric's distribution in ms (exact HdrHistogram, 3 significant digits); every
    percentile None when ``count`` is 0. Keys: core.metrics.SUMMARY_KEYS."""

    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    p99_9: float | None = None
    max: float | None = None
    mean: float | None = None
    count: int = 0


class Retries(Struct, frozen=True, kw_only=True):
    """--retries: first attempts that failed, requests retried, attempts and their errors."""

    first_attempt_failures: int = 0
    first_attempt_error_rate: float = 0.0
    retried_requests: int = 0
    retry_attempts: int = 0
    recovered: int = 0
    attempts: int = 0
    attempt_errors: dict[str, int] = {}


class ModelFigures(Struct, frozen=True, kw_only=True):
    """``models.<name>``: one model's figures over the whole run."""

    requests: int = 0
    failures: int = 0
    error_rate: float = 0.0
    errors: dict[str, int] = {}
    window_s: float | None = None  # schema 2
    ttft_ms: Latency = Latency()
    itl_ms: Latency = Latency()
    tpot_ms: Latency = Latency()
    e2e_ms: Latency = Latency()
    ttft_service_ms: Latency | None = None
    e2e_service_ms: Latency | None = None
    ttft_first_attempt_ms: Latency | UnsetType = UNSET  # --retries only
    e2e_first_attempt_ms: Latency | UnsetType = UNSET  # --retries only
    ttfvt_ms: Latency | None = None
    output_tokens_per_s: float = 0.0
    requests_per_s: float = 0.0
    good_requests: int | None = None
    goodput_per_s: float | None = None
    successes: int | None = None
    output_tokens: int = 0
    failed_output_tokens: int | None = None  # schema 2
    prompt_tokens: int = 0
    tokens_estimated_share: float | None = None
    out_of_range_values: int | None = None
    cached_prompt_tokens: int | None = None  # None: the server never reported it
    connections: dict[str, int] | UnsetType = UNSET  # left out when nothing was counted
    retries: Retries | None = None
    connect_ms: Latency | UnsetType = UNSET  # new connections' cost; none opened: left out
    tls_ms: Latency | UnsetType = UNSET  # their TLS handshakes; plain HTTP: left out


#: ModelFigures' distributions (core.metrics.HISTOGRAM_METRICS, by name).
LATENCY_FIELDS: tuple[str, ...] = (
    "ttft_ms",
    "itl_ms",
    "tpot_ms",
    "e2e_ms",
    "ttft_service_ms",
    "e2e_service_ms",
    "ttft_first_attempt_ms",
    "e2e_first_attempt_ms",
    "ttfvt_ms",
    "connect_ms",
    "tls_ms",
)


class Grounding(Struct, frozen=True, kw_only=True):
    """--entities: replies checked, and those naming things found nowhere."""

    checked: int = 0
    flagged: int = 0
    flagged_rate: float = 0.0


class Tokens(Struct, frozen=True, kw_only=True):
    """Tokenization from the server's usage, against the local estimate and the run's
    first model."""

    usage_requests: int = 0
    prompt_tokens_per_request: float | None = None
    output_tokens_per_request: float | None = None
    prompt_tokens_per_estimate: float | None = None
    output_tokens_per_estimate: float | None = None
    prompt_tokens_vs_canonical: float | None = None
    output_tokens_vs_canonical: float | None = None


class PairRates(Struct, frozen=True, kw_only=True):
    """A share on each side of a drift comparison (the baseline's, the run's)."""

    canonical: float | None = None
    candidate: float | None = None


class Drift(Struct, frozen=True, kw_only=True):
    """--sample-outputs with a baseline snapshot: the replies under load against it."""

    baseline: str = ""
    sampled: int = 0
    compared: int = 0
    not_in_baseline: int = 0
    exact_match_rate: float | None = None
    edit_distance_mean: float | None = None
    edit_distance_p90: float | None = None
    length_ratio_median: float | None = None
    output_tokens_ratio: float | None = None
    refusal_rate: PairRates = PairRates()
    empty_rate: PairRates = PairRates()


class Correctness(Struct, frozen=True, kw_only=True):
    """``correctness.<name>``: what came back, not how fast."""

    responses: int = 0
    contract_violations: int = 0
    contract_violation_rate: float = 0.0
    json_checked: int = 0
    json_valid_rate: float | None = None  # None: no --content-schema
    notes: dict[str, int] = {}
    grounding: Grounding | None = None  # None: no --entities
    tokens: Tokens | None = None
    drift: Drift | UnsetType = UNSET  # --sample-outputs with a baseline only


class PriceSpec(Struct, frozen=True, kw_only=True):
    """One model's prices (config.pricing.Price): per million tokens, and per request."""

    input_per_1m: float = 0.0
    output_per_1m: float = 0.0
    cached_input_per_1m: float | None = None
    per_request: float = 0.0


class CostDistribution(Struct, frozen=True, kw_only=True):
    """Costs per request or per transaction (linear-interpolated percentiles)."""

    mean: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None
    count: int = 0


class ModelCost(Struct, frozen=True, kw_only=True):
    """``cost.<name>``, for a model with prices."""

    priced: bool = True
    currency: str = "USD"
    prices: PriceSpec | None = None
    transaction_unit: str = "conversation"  # or "request" (open loop by requests)
    total_usd: float = 0.0
    requests: int = 0
    attempts: int = 0
    per_request: CostDistribution = CostDistribution()
    per_transaction: CostDistribution = CostDistribution()
    transactions: int = 0
    successful_transactions: int = 0
    unfinished_transactions: int = 0
    per_1k_successful_transactions: float | None = None
    failed_attempt_share: float = 0.0


class PhaseModelFigures(Struct, frozen=True, kw_only=True):
    """One model's figures over one phase's own edges."""

    users: int = 0  # the median of the phase's intervals
    requests: int = 0
    failures: int = 0
    error_rate: float = 0.0
    errors: dict[str, int] = {}
    requests_per_s: float = 0.0
    output_tokens_per_s: float = 0.0
    good_requests: int | None = None
    goodput_per_s: float | None = None
    ttft_ms: Latency = Latency()
    itl_ms: Latency = Latency()
    tpot_ms: Latency = Latency()
    e2e_ms: Latency = Latency()
    ttft_service_ms: Latency | None = None
    e2e_service_ms: Latency | None = None
    ttft_first_attempt_ms: Latency | UnsetType = UNSET
    e2e_first_attempt_ms: Latency | UnsetType = UNSET
    ttfvt_ms: Latency | None = None
    # how warm the model's prefix cache was in this phase (None: never reported; newer runs)
    prompt_tokens: int | UnsetType = UNSET
    cached_prompt_tokens: int | UnsetType | None = UNSET


class PhasePlan(Struct, frozen=True, kw_only=True):
    """One phase of the load plan (run.json's ``phases``)."""

    name: str = ""
    start_s: float = 0.0
    end_s: float = 0.0
    users: int = 0


class PhaseFigures(PhasePlan, frozen=True, kw_only=True):
    """``phases[]``: a phase of the plan and each model's figures in it."""

    models: dict[str, PhaseModelFigures] = {}


class Thresholds(Struct, frozen=True, kw_only=True):
    """Past these the generator marks an interval bound."""

    cpu_percent: float | None = None
    loop_lag_ms: float | None = None
    start_delay_ms: float | None = None


class BoundDetail(Struct, frozen=True, kw_only=True):
    """One entry of ``generator.bound_detail``: a generator-bound interval, why it was bound
    (``causes``: ``cpu``, ``loop_lag``, ``late_sends``) and the interval's own figures."""

    start_s: float = 0.0
    end_s: float = 0.0
    causes: list[str] = []
    cpu_percent: float | None = None
    loop_lag_ms_max: float | None = None
    late_starts: int = 0


class GeneratorHealth(Struct, frozen=True, kw_only=True):
    """``generator``: the load generator's own health over the run (the CPU and loop-lag
    figures and the thresholds are left out when it took no sample)."""

    cpu_percent_mean: float | UnsetType = UNSET
    cpu_percent_max: float | UnsetType = UNSET
    loop_lag_ms_max: float | UnsetType = UNSET
    late_starts: int | UnsetType = UNSET
    starts_without_free_user: int | UnsetType = UNSET
    arrivals_not_sent: int | None = None  # None: written before it was counted
    bound_seconds: float = 0.0
    bound_intervals: list[tuple[float, float]] = []
    # Why each of bound_intervals was bound, in the same order (left out by older runs).
    bound_detail: list[BoundDetail] | UnsetType = UNSET
    thresholds: Thresholds | UnsetType = UNSET


class WorkersBrief(Struct, frozen=True, kw_only=True):
    """``workers`` of a distributed run: how many, which did not finish or were refused."""

    count: int = 0
    partial: list[str] = []
    refused: list[str] = []


class TargetInfo(Struct, frozen=True, kw_only=True):
    """What was loaded: the embedded mock or given hosts."""

    kind: str = ""
    hosts: list[str] = []


class StageSettings(Struct, frozen=True, kw_only=True):
    """One ``[[load.stages]]`` entry."""

    duration_s: float = 0.0
    users: int = 0
    spawn_rate: float | None = None


class LoadSettings(Struct, frozen=True, kw_only=True):
    """``load``: the resolved load configuration (config.run_config.LoadConfig, field for
    field and in its order). Every field may be missing from an older file: None."""

    users: int | None = None
    spawn_rate: float | None = None
    run_time_s: float | None = None  # None: plain Locust without -t
    think_time_s: tuple[float, float] | None = None
    history: str | None = None
    timeout_s: float | None = None
    max_tokens: int | None = None
    interval_s: float | None = None
    stop_timeout_s: float | None = None
    seed: int | None = None
    shape: str | None = None
    base_users: int | None = None
    steps: list[int] | None = None
    step_time_s: float | None = None
    spike_users: int | None = None
    spike_at_s: float | None = None
    spike_for_s: float | None = None
    stages: list[StageSettings] | None = None
    rate: float | None = None
    arrival: str | None = None
    gamma_shape: float | None = None
    rate_unit: str | None = None
    pace_s: float | None = None
    slo_ttft_ms: float | None = None
    slo_tpot_ms: float | None = None
    slo_ttft_p99_ms: float | None = None
    retries: int | None = None
    retry_backoff_s: float | None = None
    retry_backoff_max_s: float | None = None
    retry_on: list[str] | None = None
    unique_prefix: bool | None = None
    max_prompt_tokens: int | None = None
    max_requests: int | None = None
    extra_body: str | None = None
    warm_cache: str | None = None
    # --until-stable (newer runs; absent from older files)
    until_stable: bool | UnsetType = UNSET
    stable_metrics: list[str] | UnsetType = UNSET
    stable_ci_pct: float | UnsetType = UNSET
    warmup_s: float | UnsetType = UNSET
    min_time_s: float | UnsetType = UNSET


class Summary(Struct, frozen=True, kw_only=True):
    """summary.json."""

    schema: int = 1
    run_id: str = ""
    started_at: str = ""
    duration_s: float = 0.0
    partial: bool = False
    target: TargetInfo = TargetInfo()
    load: LoadSettings | None = None  # None: no run.json to say (a rebuilt summary)
    models: dict[str, ModelFigures] = {}
    correctness: dict[str, Correctness] = {}
    cost: dict[str, ModelCost] | UnsetType | None = UNSET  # with prices (null: hand-made)
    phases: list[PhaseFigures] | UnsetType = UNSET  # runs with a load plan
    recovery_s: dict[str, float | None] | UnsetType = UNSET  # spike runs
    max_concurrency_within_slo: dict[str, int] | UnsetType = UNSET  # step runs with an SLO
    generator: GeneratorHealth | UnsetType = UNSET
    workers: WorkersBrief | UnsetType = UNSET  # distributed runs
    stability: Stability | UnsetType = UNSET  # --until-stable runs


def latency_of(figures: ModelFigures | PhaseModelFigures, metric: str) -> Latency | None:
    """A model's distribution of ``metric`` (core.metrics' names are the field names);
    None when the summary has none (an older file, or no --retries)."""
    found = getattr(figures, metric, None) if metric in LATENCY_FIELDS else None
    return found if isinstance(found, Latency) else None


def decode_summary(data: bytes | str) -> Summary:
    """summary.json's text as a Summary; msgspec.DecodeError (bad JSON) or
    msgspec.ValidationError (a key of the wrong type) otherwise."""
    return msgspec.json.decode(data, type=Summary)


def summary_of(raw: object) -> Summary:
    """A summary held as plain JSON values (a dict) as a Summary; ValidationError if it
    is not one."""
    return msgspec.convert(raw, Summary)
