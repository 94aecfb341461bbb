"""One chat request over the wire, measured: the seam between HTTP bytes and RequestResult.

Every API flavour (``--api``: apis/flavours.py) goes down this one path; the flavour gives
the endpoint, the headers, the stream consumer and the parser of a non-streamed body.

Every way a request can go wrong ends here as a classified failure in the result, never as
an exception: Locust swallows exceptions raised inside tasks without counting them
(docs/architecture.md, known traps), and a crash would lose the measurement.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from typing import Any

import msgspec

from loadprofile.client.apis.flavours import flavour, prompt_chars
from loadprofile.client.apis.openai_chat import estimate_tokens
from loadprofile.client.apis.reply_stream import ReplyStream, StreamError, WholeReply
from loadprofile.client.apis.sse import SSEParser
from loadprofile.client.apis.timing import stream_timings
from loadprofile.client.http.client import HttpClient, Response, TransportError
from loadprofile.client.http.response import BodyDriver
from loadprofile.config.run_config import Target
from loadprofile.config.targets import DEFAULT_API
from loadprofile.core.results import RequestResult, classify_status

_ERROR_BODY_LIMIT = 4096
#: Request ids: random per process (80 bits), then a counter; unique across the workers of
#: a run and across runs, and cheaper than a uuid4 per request.
_ID_PREFIX = os.urandom(10).hex()
_ID_COUNTER = itertools.count()


def new_request_id() -> str:
    """32 hex digits, like a uuid4's, sent as X-Request-Id and kept in requests.csv."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):012x}"


def auth_headers(target: Target) -> dict[str, str]:
    """The target's key from its environment variable, in its flavour's header (Bearer, or
    Anthropic's x-api-key with its version header); values never leave these headers."""
    key = os.environ.get(target.api_key_env) if target.api_key_env else None
    return flavour(target.api).headers(key or None)


def send_chat(
    client: HttpClient,
    body: dict[str, Any],
    result: RequestResult,
    headers: dict[str, str] | None = None,
    *,
    api: str = DEFAULT_API,
    path: str | None = None,
) -> RequestResult:
    """Send ``body`` (built by flavour ``api``'s ``request``) to that flavour's endpoint, or
    to ``path`` under the client's base (``endpoints.endpoint_path``: Azure's names the
    deployment), and fill ``result`` with what was measured."""
    api_flavour = flavour(api)
    request_id = result.request_id or new_request_id()
    result.request_id = request_id
    payload = msgspec.json.encode(body)  # compact UTF-8 JSON, ~10x json.dumps
    result.prompt_chars = prompt_chars(body)
    result.start_unix = time.time()
    # The request starts here, before a new connection's handshake: TTFT and E2E include
    # it, as the user feels it (and as AIPerf and vLLM's benchmark time it); connect_ms
    # shows that part on its own.
    sent_ns = result.sent_ns = time.perf_counter_ns()
    stream = api_flavour.stream.for_request(body)
    result.measure_so_far = lambda now_ns: _fill_metrics(result, stream, sent_ns, now_ns)
    response: Response | None = None
    try:
        response = client.request(
            "POST",
            api_flavour.path if path is None else path,
            payload,
            {"X-Request-Id": request_id, **(headers or {})},
        )
        result.connect_ms, result.tls_ms = response.connect_ms, response.tls_ms
        result.status = response.status
        _read_answer(response, stream, result, api_flavour.parse_body, client.body_driver)
    except (TransportError, StreamError) as exc:
        if response is not None:
            response.close()  # whatever is left of the body is unusable
        result.error_class = exc.error_class
        result.error = client.redact(str(exc))[:500]
    end_ns = time.perf_counter_ns()
    result.measure_so_far = None
    result.connection = client.last_connection  # new, reused, stale or expired; also if failed
    _fill_metrics(result, stream, sent_ns, end_ns)
    return result


def _read_answer(
    response: Response,
    stream: ReplyStream,
    result: RequestResult,
    parse_body: Callable[[bytes], WholeReply],
    driver: BodyDriver | None,
) -> None:
    error_class = classify_status(response.status)
    if error_class is not None:
        text = response.read(_ERROR_BODY_LIMIT).decode("utf-8", "replace")
        raise StreamError(error_class, f"HTTP {response.status}: {' '.join(text.split())[:300]}")
    if response.content_type == "application/json":
        # A server that ignored stream=true: the whole reply is its first token.
        reply = parse_body(response.read())
        stream.take_whole(reply, time.perf_counter_ns())
        return
    parser = SSEParser()

    def sink(data: bytes, t_ns: int) -> None:
        for event in parser.feed(data):
            stream.on_event(event, t_ns)
            result.chunks += 1

    response.deliver(sink, driver)  # a StreamError leaves with the connection given up
    for event in parser.flush():
        stream.on_event(event, time.perf_counter_ns())
    end_error = stream.end_error()
    if end_error is not None:
        raise end_error


def _fill_metrics(result: RequestResult, stream: ReplyStream, sent_ns: int, end_ns: int) -> None:
    prompt_tokens, output_tokens, estimated = stream.token_counts()
    result.prompt_tokens = prompt_tokens
    result.output_tokens = output_tokens
    result.tokens_estimated = estimated
    result.cached_tokens = stream.cached_tokens()
    result.server_prompt_ms = stream.server_ms("prompt_ms")
    result.server_predicted_ms = stream.server_ms("predicted_ms")
    result.finish_reason = stream.finish_reason
    result.content = stream.text
    if result.ok:
        result.contract_notes = stream.notes()
    if prompt_tokens is None and result.prompt_chars:
        result.prompt_tokens = estimate_tokens(result.prompt_chars)
    timings = stream_timings(sent_ns, stream.content_ns, end_ns, output_tokens)
    # Open loop: the user felt the time since the request was due, not since it was sent.
    delay_ms = max(0.0, (sent_ns - result.scheduled_ns) / 1e6) if result.scheduled_ns else 0.0
    result.start_delay_ms = delay_ms
    result.e2e_service_ms = timings.e2e_ms
    result.e2e_ms = _plus(timings.e2e_ms, delay_ms)
    # A first token that arrived was felt, even when the request failed after it (cut off
    # at the stop, a reset, a broken chunk): its TTFT and gaps are kept. An empty but
    # properly finished reply is a success without a first token.
    result.ttft_service_ms = timings.ttft_ms
    result.ttft_ms = _plus(timings.ttft_ms, delay_ms)
    if stream.visible_ns is not None:  # the first visible text, from the same start
        result.ttfvt_ms = (stream.visible_ns - sent_ns) / 1e6 + delay_ms
    if stream.streamed:  # a reply sent whole has no gaps between tokens to measure
        result.itl_ms = timings.itl_ms
        if result.ok:  # time per token over the whole reply: a complete one's only
            result.tpot_ms = timings.tpot_ms


def _plus(value: float | None, delay_ms: float) -> float | None:
    return None if value is None else value + delay_ms
