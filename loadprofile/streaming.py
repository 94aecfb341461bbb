"""One chat request over the wire, measured: the seam between HTTP bytes and RequestResult.

Every way a request can go wrong ends here as a classified failure in the result, never as
an exception: Locust swallows exceptions raised inside tasks without counting them
(DESIGN.md, known traps), and a crash would lose the measurement.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

from loadprofile.apis.openai_chat import (
    CHAT_PATH,
    ChatStream,
    StreamError,
    estimate_tokens,
    parse_completion,
)
from loadprofile.apis.sse import SSEParser
from loadprofile.apis.timing import stream_timings
from loadprofile.config import Target
from loadprofile.http.client import HttpClient, Response, TransportError
from loadprofile.results import RequestResult, classify_status

_ERROR_BODY_LIMIT = 4096


def auth_headers(target: Target) -> dict[str, str]:
    """The target's key from its environment variable; values never leave this header."""
    if target.api_key_env and os.environ.get(target.api_key_env):
        return {"Authorization": f"Bearer {os.environ[target.api_key_env]}"}
    return {}


def send_chat(
    client: HttpClient,
    body: dict[str, Any],
    result: RequestResult,
    headers: dict[str, str] | None = None,
) -> RequestResult:
    """Send ``body`` to the chat endpoint and fill ``result`` with what was measured."""
    request_id = result.request_id or uuid.uuid4().hex
    result.request_id = request_id
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    result.prompt_chars = sum(len(m.get("content", "")) for m in body.get("messages", []))
    result.start_unix = time.time()
    sent_ns = result.sent_ns = time.perf_counter_ns()
    stream = ChatStream(expect_usage=bool((body.get("stream_options") or {}).get("include_usage")))
    response: Response | None = None
    try:
        response = client.request(
            "POST", CHAT_PATH, payload, {"X-Request-Id": request_id, **(headers or {})}
        )
        sent_ns = response.sent_ns
        result.connect_ms = response.connect_ms
        result.status = response.status
        _read_answer(response, stream, result)
    except (TransportError, StreamError) as exc:
        if response is not None:
            response.close()  # whatever is left of the body is unusable
        result.error_class = exc.error_class
        result.error = client.redact(str(exc))[:500]
    end_ns = time.perf_counter_ns()
    result.sent_ns = sent_ns
    _fill_metrics(result, stream, sent_ns, end_ns)
    return result


def _read_answer(response: Response, stream: ChatStream, result: RequestResult) -> None:
    error_class = classify_status(response.status)
    if error_class is not None:
        text = response.read(_ERROR_BODY_LIMIT).decode("utf-8", "replace")
        raise StreamError(error_class, f"HTTP {response.status}: {' '.join(text.split())[:300]}")
    if response.content_type == "application/json":
        _read_completion(response, stream)
        return
    parser = SSEParser()
    try:
        for data, t_ns in response.chunks():
            for event in parser.feed(data):
                stream.on_event(event, t_ns)
                result.chunks += 1
    except StreamError:
        response.close()
        raise
    for event in parser.flush():
        stream.on_event(event, time.perf_counter_ns())
    end_error = stream.end_error()
    if end_error is not None:
        raise end_error


def _read_completion(response: Response, stream: ChatStream) -> None:
    """A server that ignored stream=true: the whole reply is its first token."""
    body = response.read()
    t_ns = time.perf_counter_ns()
    text, usage, finish = parse_completion(body)
    stream.parts.append(text)
    stream.content_ns.append(t_ns)
    stream.usage = usage
    stream.finish_reason = finish or "stop"
    stream.streamed = False


def _fill_metrics(result: RequestResult, stream: ChatStream, sent_ns: int, end_ns: int) -> None:
    prompt_tokens, output_tokens, estimated = stream.token_counts()
    result.prompt_tokens = prompt_tokens
    result.output_tokens = output_tokens
    result.tokens_estimated = estimated
    result.cached_tokens = stream.cached_tokens()
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
    if result.ok:
        # An empty but properly finished reply is a success without a first token.
        result.ttft_service_ms = timings.ttft_ms
        result.ttft_ms = _plus(timings.ttft_ms, delay_ms)
        if stream.streamed:  # a reply sent whole has no gaps between tokens to measure
            result.itl_ms = timings.itl_ms
            result.tpot_ms = timings.tpot_ms


def _plus(value: float | None, delay_ms: float) -> float | None:
    return None if value is None else value + delay_ms
