"""One measured request, and the closed set of ways a request can fail.

Error classes (docs/architecture.md; a contract):

    connect            the TCP connection (or a proxy's tunnel) could not be opened
    tls                the TLS handshake failed or the server refused us over TLS: untrusted
                       or expired certificate, another name, a client certificate wanted
    timeout            no complete answer within --timeout
    http_429           rate limited
    http_4xx           any other 4xx (bad request, unknown model, refused key)
    http_5xx           server error, also an error object sent inside the stream
    stream_malformed   an SSE event whose data is not valid JSON, or broken HTTP framing
    stream_incomplete  the stream ended early: reset, cut-off body, no [DONE]/finish_reason
    contract           well-formed JSON that breaks the OpenAI response schema
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class ErrorClass(StrEnum):
    CONNECT = "connect"
    TLS = "tls"
    TIMEOUT = "timeout"
    HTTP_429 = "http_429"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    STREAM_MALFORMED = "stream_malformed"
    STREAM_INCOMPLETE = "stream_incomplete"
    CONTRACT = "contract"


def classify_status(status: int) -> ErrorClass | None:
    """Error class for an HTTP status, or None when the status means success."""
    if status < 400:
        return None
    if status == 429:
        return ErrorClass.HTTP_429
    if status < 500:
        return ErrorClass.HTTP_4XX
    return ErrorClass.HTTP_5XX


@dataclass(slots=True)
class RequestResult:
    """Everything measured about one request; one row of the per-request table.

    Times are milliseconds from monotonic clocks, from the request's start (before a new
    connection is opened). ``ttft_ms`` is kept for a request that failed after its first
    token (the user saw that token); ``tpot_ms`` is a success's only.
    """

    model: str
    conversation_id: str
    turn: int
    start_unix: float
    request_id: str = ""
    sent_ns: int = 0  # perf_counter_ns when the request was sent: CLOCK_MONOTONIC, machine-wide
    scheduled_ns: int = 0  # open loop: when it was due (same clock); 0 = due when sent
    prompt_chars: int = 0
    prompt_tokens: int | None = None
    output_tokens: int = 0
    tokens_estimated: bool = False
    ttft_ms: float | None = None  # from the scheduled start (= the send unless open loop)
    tpot_ms: float | None = None
    e2e_ms: float | None = None  # from the scheduled start, like ttft_ms
    ttft_service_ms: float | None = None  # from the actual send
    e2e_service_ms: float | None = None
    start_delay_ms: float = 0.0  # sent this late after it was due (open loop)
    connect_ms: float | None = None
    tls_ms: float | None = None  # the TLS handshake's part of connect_ms
    connection: str = ""  # new, reused, or stale (a pooled one was dead): http.client
    itl_ms: list[float] = field(default_factory=list)
    chunks: int = 0
    status: int = 0
    error_class: ErrorClass | None = None
    error: str = ""
    finish_reason: str | None = None
    content: str = ""
    # Contract deviations a tolerant parser survives (apis.reply_stream NOTE_*), and whether
    # the content passed --content-schema (None: not checked).
    contract_notes: tuple[str, ...] = ()
    json_valid: bool | None = None
    # --entities: product-like names in the reply found in neither the catalogue nor the
    # prompt (None: not checked). A signal for a person to read, not a verdict.
    ungrounded: tuple[str, ...] | None = None
    cached_tokens: int | None = None  # usage's prompt_tokens_details.cached_tokens
    # --retries: the earlier attempts of this request, failed and retried. This result is the
    # last attempt, timed from the first one's start: the latency the user felt.
    earlier: list[RequestResult] = field(default_factory=list)
    cost_usd: float | None = None  # with prices: every attempt's cost (pricing.py) ...
    retry_cost_usd: float = 0.0  # ... of which the earlier, failed attempts'
    transaction: str = ""  # what the user came to do: one pass through a conversation
    transaction_end: bool = False  # this request ended its transaction
    # Time to first visible token: the first chunk with visible text (not reasoning, not a
    # tool call), from the same start as ttft_ms; None when the reply had no visible text.
    ttfvt_ms: float | None = None
    # The server's own timings of the request, when it reports them (llama.cpp's timings):
    # prompt processing and generation, in ms; TTFT minus prompt time is queueing + network.
    server_prompt_ms: float | None = None
    server_predicted_ms: float | None = None
    # While the reply streams: fills the fields above from what arrived so far (the run's
    # stop cuts a request off with its TTFT, tokens and gaps kept); None once it is over.
    measure_so_far: Callable[[int], None] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error_class is None

    @property
    def attempts(self) -> int:
        return len(self.earlier) + 1

    @property
    def first_attempt(self) -> RequestResult:
        return self.earlier[0] if self.earlier else self


def keep_what_arrived(result: RequestResult, now_ns: int) -> None:
    """A request cut off mid-reply (the run's stop) keeps what arrived before the cut: its
    TTFT, tokens and the gaps between them. Once only: what arrives later is not its."""
    measure, result.measure_so_far = result.measure_so_far, None
    if measure is not None:
        measure(now_ns)
