"""What the stream consumers of every API flavour share (pure).

Each flavour (``openai_chat``, ``openai_completions``, ``anthropic``) turns its own SSE
events into the same few facts, kept here so that ``streaming.py`` has one code path:

- ``content_ns``: the receive time of every chunk carrying generated output (TTFT, ITL);
- ``visible_ns``: the receive time of the first chunk carrying *visible* text (TTFVT), which
  comes later than TTFT when reasoning or a tool call is generated first;
- ``parts``: the visible text; ``usage``: the server's token counts in OpenAI's shape
  (``prompt_tokens``, ``completion_tokens``, ``prompt_tokens_details.cached_tokens``);
  ``finish_reason`` in OpenAI's words; ``done``: the flavour's end-of-stream marker came.

A break of the protocol raises ``StreamError`` carrying its error class; deviations a
tolerant parser survives are noted instead (``NOTE_*``).
"""

from __future__ import annotations

import json
from typing import Any, Self

import msgspec

from loadprofile.client.apis.sse import SSEEvent
from loadprofile.core.results import ErrorClass

NOTE_USAGE_MISSING = "usage_missing"
NOTE_DONE_MISSING = "done_missing"
NOTE_NOT_STREAMED = "not_streamed"

#: max_tokens sent when none is given, where leaving it out would not mean "until done":
#: Anthropic requires it, and legacy completions default to 16 tokens (OpenAI, vLLM).
DEFAULT_MAX_TOKENS = 1024

#: A non-streamed reply, parsed: (visible text, usage in OpenAI's shape, finish reason).
WholeReply = tuple[str, dict[str, Any] | None, str | None]


class StreamError(Exception):
    """The stream broke the protocol; carries the error class it counts as."""

    def __init__(self, error_class: ErrorClass, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class


def load_object(data: bytes, what: str) -> dict[str, Any]:
    """JSON ``data`` as an object: invalid JSON is malformed, another value a contract break.
    msgspec decodes (it runs per event); what it refuses, json judges and words."""
    try:
        obj = msgspec.json.decode(data)
    except msgspec.DecodeError:
        try:
            obj = json.loads(data)
        except ValueError as exc:
            raise StreamError(ErrorClass.STREAM_MALFORMED, f"invalid JSON {what}: {exc}") from None
    if not isinstance(obj, dict):
        raise StreamError(ErrorClass.CONTRACT, f"{what} is not a JSON object")
    return obj


def text_field(obj: dict[str, Any], key: str, where: str) -> str:
    """``obj[key]`` as text ("" when absent or null); any other type breaks the contract."""
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise StreamError(ErrorClass.CONTRACT, f"{where}.{key} is not a string")
    return value


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class ReplyStream:
    """Consumes the events of one streamed reply in arrival order (one subclass per API).

    Keeps only what metrics and replay need: output-chunk receive times, the first visible
    text's, the text, the server's usage and finish reason, and whether the stream ended.
    """

    __slots__ = (
        "content_ns",
        "done",
        "expect_usage",
        "finish_reason",
        "parts",
        "server_timings",
        "streamed",
        "usage",
        "visible_ns",
    )

    #: The end-of-stream marker's name, for the message of a stream cut off before it.
    END_MARK = "[DONE]"

    def __init__(self, expect_usage: bool = False) -> None:
        self.content_ns: list[int] = []
        self.visible_ns: int | None = None
        self.parts: list[str] = []
        self.usage: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.done = False
        self.streamed = True  # False when the server ignored stream=true
        self.expect_usage = expect_usage  # the request asked for usage in the stream
        # llama.cpp's own account of the request (``timings`` on its last chunk): prompt_ms,
        # predicted_ms, cache_n, ...; None from servers that send none.
        self.server_timings: dict[str, Any] | None = None

    @classmethod
    def for_request(cls, body: dict[str, Any]) -> Self:
        """A consumer for the reply to ``body`` (OpenAI's: usage only if asked for)."""
        return cls(expect_usage=bool((body.get("stream_options") or {}).get("include_usage")))

    def on_event(self, event: SSEEvent, t_ns: int) -> None:
        raise NotImplementedError

    def mark(self, t_ns: int, output: bool, visible: bool) -> None:
        """A chunk arrived at ``t_ns``: did it carry generated output, and visible text?"""
        if output:
            self.content_ns.append(t_ns)
        if visible and self.visible_ns is None:
            self.visible_ns = t_ns

    def take_whole(self, reply: WholeReply, t_ns: int) -> None:
        """A server that ignored stream=true: the whole reply is its first token."""
        text, usage, finish = reply
        self.parts.append(text)
        self.mark(t_ns, True, bool(text))
        self.usage = usage
        self.finish_reason = finish or "stop"
        self.streamed = False

    def end_error(self) -> StreamError | None:
        """Called at the end of the body: was the stream complete?"""
        if self.done or self.finish_reason:
            return None
        return StreamError(ErrorClass.STREAM_INCOMPLETE, f"stream ended without {self.END_MARK}")

    def notes(self) -> tuple[str, ...]:
        """Deviations from the contract that a tolerant parser survives (a complete reply)."""
        out = []
        if not self.streamed:
            out.append(NOTE_NOT_STREAMED)
        elif not self.done:
            out.append(NOTE_DONE_MISSING)
        if self.expect_usage and self.usage is None:
            out.append(NOTE_USAGE_MISSING)
        return tuple(out)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def token_counts(self) -> tuple[int | None, int, bool]:
        """(prompt tokens, output tokens, estimated?): the server's usage when it sent one,
        else one token per output chunk (what most servers send) and marked estimated."""
        if self.usage is not None:
            completion = _count(self.usage.get("completion_tokens"))
            if completion is not None:
                return _count(self.usage.get("prompt_tokens")), completion, False
        return None, len(self.content_ns), True

    def cached_tokens(self) -> int | None:
        """Prompt tokens served from the server's prefix cache (OpenAI's and vLLM's
        ``usage.prompt_tokens_details.cached_tokens``, else llama.cpp's ``timings.cache_n``);
        None when not reported."""
        details = (self.usage or {}).get("prompt_tokens_details")
        if isinstance(details, dict) and _count(details.get("cached_tokens")) is not None:
            return _count(details.get("cached_tokens"))
        return _count((self.server_timings or {}).get("cache_n"))

    def server_ms(self, key: str) -> float | None:
        """One of the server's own timings in ms (``prompt_ms``, ``predicted_ms``), if sent."""
        value = (self.server_timings or {}).get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
        return None
