"""Anthropic Messages (``POST {base}/messages``; ``/v1/messages`` on a bare host) (pure).

Requests carry ``x-api-key`` and ``anthropic-version`` instead of a bearer token; system
messages go to the top-level ``system`` field; ``max_tokens`` is required, so
``DEFAULT_MAX_TOKENS`` is sent when none is given; Anthropic has no ``seed`` and refuses
unknown fields, so a seed in ``extra`` is left out.

The stream is named events: ``message_start`` (usage.input_tokens and the cache counts),
then per content block ``content_block_start``, ``content_block_delta``...,
``content_block_stop``, then ``message_delta`` (stop_reason, usage.output_tokens) and
``message_stop``; ``ping`` may come at any time, and an ``error`` event ends the stream as a
classified failure (``overloaded_error`` and ``api_error`` as http_5xx, ``rate_limit_error``
as http_429, request errors as http_4xx).

TTFT rule: the first event carrying generated output: a non-empty ``text_delta``,
``thinking_delta`` (reasoning) or ``input_json_delta`` (tool input), or the
``content_block_start`` of a ``tool_use`` block (it names the tool, like chat's first
tool_calls delta) or of a block that already holds text. ``message_start`` and empty block
starts do not count, like chat's role chunk. TTFVT (first visible token): the first
non-empty ``text_delta`` (or text block start); later than TTFT when the model thinks or
calls a tool first.

Usage is turned into OpenAI's shape: ``prompt_tokens`` = input_tokens +
cache_read_input_tokens + cache_creation_input_tokens (Anthropic counts them apart, OpenAI's
prompt_tokens includes cached ones), ``prompt_tokens_details.cached_tokens`` =
cache_read_input_tokens, ``completion_tokens`` = output_tokens. Stop reasons become OpenAI's
finish reasons (``STOP_REASONS``).

Contract (a break is the ``contract`` error): every event's data is a JSON object with a
string ``type``; message_start comes first and once; block events name a started, unstopped
block by integer ``index``; text fields are strings; the stop_reason is a known one; nothing
is generated after it and nothing follows message_stop. Unknown event and delta types are
skipped: Anthropic's versioning policy allows new ones. A stream with a stop_reason but no
message_stop is complete (noted ``done_missing``); one with neither is stream_incomplete.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

from loadprofile.client.apis.reply_stream import (
    DEFAULT_MAX_TOKENS,
    ReplyStream,
    StreamError,
    WholeReply,
    load_object,
    text_field,
)
from loadprofile.client.apis.sse import SSEEvent
from loadprofile.core.results import ErrorClass

MESSAGES_PATH = "/messages"  # under the API base URL (endpoints.py)
ANTHROPIC_VERSION = "2023-06-01"

#: Anthropic's stop reasons in OpenAI's words.
STOP_REASONS: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_REQUEST_ERRORS = (
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "billing_error",
)
#: Blocks whose start is generated output even without text: a tool's name, redacted thinking.
_OUTPUT_BLOCKS = ("tool_use", "server_tool_use", "redacted_thinking")
#: What each delta type carries, and whether it is visible text.
_DELTA_FIELDS = {
    "text_delta": ("text", True),
    "thinking_delta": ("thinking", False),
    "input_json_delta": ("partial_json", False),
}


def anthropic_headers(api_key: str | None) -> dict[str, str]:
    """The API version always; the key, when there is one, as ``x-api-key``."""
    headers = {"anthropic-version": ANTHROPIC_VERSION}
    if api_key:
        headers["x-api-key"] = api_key
    return headers


def anthropic_request(
    model: str,
    messages: list[dict[str, str]],
    max_tokens: int | None,
    *,
    stream: bool = True,
    temperature: float | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Request body: system messages joined into ``system``, the rest as they are."""
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens,
        "messages": [
            {"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"
        ],
        "stream": stream,
    }
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    if system:
        body["system"] = system
    if temperature is not None:
        body["temperature"] = temperature
    if extra:
        body.update({k: v for k, v in extra.items() if k != "seed"})
    return body


def error_class(err: Any) -> ErrorClass:
    """The class of Anthropic's error object ``{"type": ..., "message": ...}``."""
    kind = err.get("type") if isinstance(err, dict) else None
    if kind == "rate_limit_error":
        return ErrorClass.HTTP_429
    if kind in _REQUEST_ERRORS:
        return ErrorClass.HTTP_4XX
    return ErrorClass.HTTP_5XX  # overloaded_error, api_error, timeout_error, unknown


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def openai_usage(usage: Any) -> dict[str, Any] | None:
    """Anthropic's usage in OpenAI's shape; None without an output token count."""
    if not isinstance(usage, dict) or not isinstance(usage.get("output_tokens"), int):
        return None
    cached = usage.get("cache_read_input_tokens")
    inputs = (usage.get("input_tokens"), cached, usage.get("cache_creation_input_tokens"))
    given = any(isinstance(n, int) and not isinstance(n, bool) for n in inputs)
    out: dict[str, Any] = {
        # No input count at all (a message_start without usage): unknown, not zero, so the
        # prompt is estimated like any server's that sends none.
        "prompt_tokens": sum(_int(n) for n in inputs) if given else None,
        "completion_tokens": usage["output_tokens"],
    }
    if isinstance(cached, int):
        out["prompt_tokens_details"] = {"cached_tokens": cached}
    return out


def _finish(reason: Any) -> str | None:
    if reason is None:
        return None
    if not isinstance(reason, str) or reason not in STOP_REASONS:
        raise StreamError(ErrorClass.CONTRACT, f"unknown stop_reason {str(reason)[:40]!r}")
    return STOP_REASONS[reason]


def _object(obj: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise StreamError(ErrorClass.CONTRACT, f"{where} without a '{key}' object")
    return value


class AnthropicStream(ReplyStream):
    """Consumes the events of one streamed Anthropic message in arrival order."""

    __slots__ = ("_closed", "_open", "_started", "_usage_in")

    END_MARK = "message_stop"

    def __init__(self, expect_usage: bool = False) -> None:
        super().__init__(expect_usage)
        self._started = False
        self._open: dict[int, str] = {}  # index -> type of the blocks started, not stopped
        self._closed: set[int] = set()
        self._usage_in: dict[str, Any] = {}  # message_start's usage (input side)

    @classmethod
    def for_request(cls, body: dict[str, Any]) -> Self:
        return cls(expect_usage=bool(body.get("stream")))  # streams always carry usage

    def on_event(self, event: SSEEvent, t_ns: int) -> None:
        if self.done:
            raise StreamError(ErrorClass.CONTRACT, "data after message_stop")
        if event.event == "error":
            try:
                err = load_object(event.data, "error event").get("error")
            except StreamError:
                err = None
            raise StreamError(error_class(err), f"error event: {event.data[:200]!r}")
        obj = load_object(event.data, "event data")
        kind = obj.get("type")
        if not isinstance(kind, str):
            raise StreamError(ErrorClass.CONTRACT, "event without a string 'type'")
        if kind == "error":
            raise StreamError(error_class(obj.get("error")), f"error in stream: {obj.get('error')}")
        if kind == "message_start":
            self._on_start(obj)
            return
        handler = _HANDLERS.get(kind)
        if handler is None:
            return  # ping, or an event type newer than this parser
        if not self._started:
            raise StreamError(ErrorClass.CONTRACT, f"{kind} before message_start")
        handler(self, obj, t_ns)

    def _on_start(self, obj: dict[str, Any]) -> None:
        if self._started:
            raise StreamError(ErrorClass.CONTRACT, "a second message_start")
        message = _object(obj, "message", "message_start")
        usage = message.get("usage")
        self._usage_in = usage if isinstance(usage, dict) else {}
        self._started = True

    def _index(self, obj: dict[str, Any], *, started: bool) -> int:
        index = obj.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            raise StreamError(ErrorClass.CONTRACT, f"{obj['type']} without an integer 'index'")
        if started and index not in self._open:
            raise StreamError(
                ErrorClass.CONTRACT, f"{obj['type']} for block {index}, which is not open"
            )
        if not started and (index in self._open or index in self._closed):
            raise StreamError(ErrorClass.CONTRACT, f"block {index} started twice")
        return index

    def _output(self, t_ns: int, output: bool, visible: str) -> None:
        if output and self.finish_reason is not None:
            raise StreamError(ErrorClass.CONTRACT, "output after the stop_reason")
        if visible:
            self.parts.append(visible)
        self.mark(t_ns, output, bool(visible))

    def _block_start(self, obj: dict[str, Any], t_ns: int) -> None:
        index = self._index(obj, started=False)
        block = _object(obj, "content_block", "content_block_start")
        kind = block.get("type")
        if not isinstance(kind, str):
            raise StreamError(ErrorClass.CONTRACT, "content block without a string 'type'")
        self._open[index] = kind
        text = text_field(block, "text", "content_block") if kind == "text" else ""
        thought = text_field(block, "thinking", "content_block") if kind == "thinking" else ""
        self._output(t_ns, bool(text or thought) or kind in _OUTPUT_BLOCKS, text)

    def _block_delta(self, obj: dict[str, Any], t_ns: int) -> None:
        self._index(obj, started=True)
        delta = _object(obj, "delta", "content_block_delta")
        kind = delta.get("type")
        if not isinstance(kind, str):
            raise StreamError(ErrorClass.CONTRACT, "delta without a string 'type'")
        if kind in _DELTA_FIELDS:  # others (signature_delta, citations_delta) carry no output
            key, visible = _DELTA_FIELDS[kind]
            text = text_field(delta, key, "delta")
            self._output(t_ns, bool(text), text if visible else "")

    def _block_stop(self, obj: dict[str, Any], t_ns: int) -> None:
        index = self._index(obj, started=True)
        del self._open[index]
        self._closed.add(index)

    def _message_delta(self, obj: dict[str, Any], t_ns: int) -> None:
        delta = _object(obj, "delta", "message_delta")
        finish = _finish(delta.get("stop_reason"))
        if finish is not None:
            self.finish_reason = finish
        usage = obj.get("usage")
        # Cumulative; may repeat the input side. Its output count is the final one (the one
        # in message_start is a placeholder), so without it the usage is missing.
        if isinstance(usage, dict) and "output_tokens" in usage:
            merged = {**self._usage_in, **{k: v for k, v in usage.items() if v is not None}}
            self.usage = openai_usage(merged)

    def _message_stop(self, obj: dict[str, Any], t_ns: int) -> None:
        self.done = True


_HANDLERS: dict[str, Callable[[AnthropicStream, dict[str, Any], int], None]] = {
    "content_block_start": AnthropicStream._block_start,
    "content_block_delta": AnthropicStream._block_delta,
    "content_block_stop": AnthropicStream._block_stop,
    "message_delta": AnthropicStream._message_delta,
    "message_stop": AnthropicStream._message_stop,
}


def parse_message(body: bytes) -> WholeReply:
    """A non-streamed message: (text of its text blocks, usage, finish reason)."""
    obj = load_object(body, "body")
    if obj.get("type") == "error":
        raise StreamError(error_class(obj.get("error")), f"error body: {obj.get('error')}")
    content = obj.get("content")
    if not isinstance(content, list):
        raise StreamError(ErrorClass.CONTRACT, "message without a 'content' list")
    text = "".join(
        text_field(block, "text", "content block")
        for block in content
        if isinstance(block, dict) and block.get("type") == "text"
    )
    return text, openai_usage(obj.get("usage")), _finish(obj.get("stop_reason"))
