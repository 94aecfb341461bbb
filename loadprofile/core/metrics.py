"""The one place where loadprofile's latency metrics are defined.

Names and percentile keys are a contract (docs/run-folder.md): nightly pipelines read them from
``summary.json``. Other tools name the same quantities differently (guidellm's "ITL" is
vLLM's "TPOT"), so the mapping lives here too and the report prints it.
"""

from __future__ import annotations

from dataclasses import dataclass

TTFT = "ttft_ms"
ITL = "itl_ms"
TPOT = "tpot_ms"
E2E = "e2e_ms"
METRICS: tuple[str, ...] = (TTFT, ITL, TPOT, E2E)
#: The same as TTFT and E2E but from the actual send (service time). In an open-loop run the
#: main metrics run from the *scheduled* start (what a user feels); the two differ when the
#: generator sent late. Closed-loop runs send on time, so there they are equal.
TTFT_SERVICE = "ttft_service_ms"
E2E_SERVICE = "e2e_service_ms"
SERVICE_METRICS: tuple[str, ...] = (TTFT_SERVICE, E2E_SERVICE)
SERVICE_OF: dict[str, str] = {TTFT: TTFT_SERVICE, E2E: E2E_SERVICE}
#: TTFT and E2E of each request's first attempt, when it succeeded. With --retries the main
#: metrics are what the user felt (first send to the final answer, every attempt and backoff
#: included); these are what the server gave at once. Without retries the two are equal.
TTFT_FIRST = "ttft_first_attempt_ms"
E2E_FIRST = "e2e_first_attempt_ms"
FIRST_ATTEMPT_METRICS: tuple[str, ...] = (TTFT_FIRST, E2E_FIRST)
#: Time to first *visible* token: like TTFT, but reasoning and tool-call output do not count.
#: Equal to TTFT for a model that answers in text at once.
TTFVT = "ttfvt_ms"
#: What opening a new connection cost (TCP, a proxy's tunnel, TLS), and the TLS handshake's
#: part of it: one value per request that opened one, apart from TTFT (which includes it).
#: The cost of new TLS connections under bursts is what users look for here.
CONNECT_MS = "connect_ms"
TLS_MS = "tls_ms"
CONNECTION_METRICS: tuple[str, ...] = (CONNECT_MS, TLS_MS)
#: Every metric that has a histogram (and an interval log) per model.
HISTOGRAM_METRICS: tuple[str, ...] = (
    METRICS + SERVICE_METRICS + FIRST_ATTEMPT_METRICS + (TTFVT,) + CONNECTION_METRICS
)

#: Percentiles reported everywhere, as (key in summary.json, percentile 0-100).
PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0),
    ("p90", 90.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p99_9", 99.9),
)
SUMMARY_KEYS: tuple[str, ...] = (*(k for k, _ in PERCENTILES), "max", "mean", "count")

#: Histograms hold integer microseconds: 1 us .. 1 h at 3 significant digits.
HIST_LOWEST_US = 1
HIST_HIGHEST_US = 3_600_000_000
HIST_SIGNIFICANT_DIGITS = 3


@dataclass(frozen=True)
class MetricDefinition:
    """How a metric is measured, and what vLLM's benchmark and guidellm call it."""

    name: str
    title: str
    definition: str
    vllm_name: str
    guidellm_name: str


DEFINITIONS: tuple[MetricDefinition, ...] = (
    MetricDefinition(
        TTFT,
        "Time to first token",
        "Request start to the first chunk that carries generated content (text, reasoning or a "
        "tool call). A role-only or empty first chunk does not count. The start is the "
        "request's, before a new connection's TCP and TLS handshake (connect_ms is that part "
        "alone), or in an open-loop (--rate) run the scheduled start, so a late send counts "
        "too. A request that failed after its first token (cut off at the stop, a reset) "
        "keeps its TTFT: the user saw that token.",
        "TTFT (ttft_ms)",
        "time_to_first_token_ms (TTFT)",
    ),
    MetricDefinition(
        ITL,
        "Inter-token latency",
        "Gap between two consecutive content-carrying chunks, one value per gap; chunks that "
        "arrive in the same read have a gap of 0. Gaps of a request that failed later count.",
        "ITL (itl_ms)",
        "no direct equivalent (guidellm's 'ITL' is the per-request average, i.e. our TPOT)",
    ),
    MetricDefinition(
        TPOT,
        "Time per output token",
        "(e2e - ttft) / (output tokens - 1), one value per request with at least two tokens.",
        "TPOT (tpot_ms)",
        "inter_token_latency_ms (ITL)",
    ),
    MetricDefinition(
        E2E,
        "End-to-end latency",
        "Request start (as for TTFT) to the end of the stream ([DONE] or the last byte); "
        "successful requests only.",
        "E2EL (e2el_ms)",
        "request_latency (seconds)",
    ),
    MetricDefinition(
        TTFVT,
        "Time to first visible token",
        "Request start (as for TTFT) to the first chunk carrying visible text: chat content, "
        "completions text, Anthropic text_delta. Later than TTFT when the model first reasons "
        "or calls a tool; no value for a reply without visible text.",
        "no equivalent",
        "no equivalent",
    ),
    MetricDefinition(
        "requests_per_s",
        "Rates (requests/s, output tokens/s, goodput/s)",
        "A model's count divided by the window that produced it: from its first request's "
        "start to its last request's end, the drain after the run time included (a phase's "
        "rates: the phase's own edges). Output tokens are those of successful requests.",
        "request_throughput, output_throughput (over the benchmark's duration)",
        "requests_per_second, output_tokens_per_second",
    ),
)
