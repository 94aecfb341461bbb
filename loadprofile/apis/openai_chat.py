"""OpenAI chat completions: request bodies and the meaning of each streamed chunk (pure).

TTFT rule: the first chunk whose delta carries generated output: non-empty ``content``,
``reasoning_content``/``reasoning`` or ``tool_calls``. vLLM, llama.cpp and OpenAI all send a
role-only chunk first; it does not count.

The response contract, checked on every chunk under load (what a downstream parser relies
on): each chunk is a JSON object with a string ``id``, the same throughout the stream, a
``choices`` list whose items have an integer ``index``, a ``delta`` object, and a
``finish_reason`` that is null or one of OpenAI's values; nothing is generated for a choice
after its finish_reason, and nothing follows ``[DONE]``. A break is the ``contract`` error.
Deviations a tolerant parser survives are noted on the request instead (``NOTE_*``): no
usage chunk although asked for, no ``[DONE]`` after the finish_reason, a reply not streamed.
"""

from __future__ import annotations

import json
from typing import Any

from loadprofile.apis.sse import SSEEvent
from loadprofile.results import ErrorClass, classify_status

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
_DONE = b"[DONE]"
_OUTPUT_KEYS = ("content", "reasoning_content", "reasoning")
FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})
NOTE_USAGE_MISSING = "usage_missing"
NOTE_DONE_MISSING = "done_missing"
NOTE_NOT_STREAMED = "not_streamed"


class StreamError(Exception):
    """The stream broke the protocol; carries the error class it counts as."""

    def __init__(self, error_class: ErrorClass, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class


def chat_request(
    model: str,
    messages: list[dict[str, str]],
    max_tokens: int | None,
    *,
    stream: bool = True,
    temperature: float | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Request body; usage is asked for so token counts come from the server."""
    body: dict[str, Any] = {"model": model, "messages": messages, "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if temperature is not None:
        body["temperature"] = temperature
    if extra:
        body.update(extra)
    return body


def _error_object_class(err: Any) -> ErrorClass:
    code = err.get("code") if isinstance(err, dict) else None
    if isinstance(code, int) or (isinstance(code, str) and code.isdigit()):
        return classify_status(int(code)) or ErrorClass.HTTP_5XX
    return ErrorClass.HTTP_5XX


class ChatStream:
    """Consumes the events of one streamed chat completion in arrival order.

    Keeps only what metrics and replay need: content-chunk receive times, the text, the
    server's usage and finish reason, and whether the stream ended properly.
    """

    __slots__ = ("content_ns", "done", "expect_usage", "finish_reason", "finished", "parts",
                 "stream_id", "streamed", "usage")  # fmt: skip

    def __init__(self, expect_usage: bool = False) -> None:
        self.content_ns: list[int] = []
        self.parts: list[str] = []
        self.usage: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.done = False
        self.streamed = True  # False when the server ignored stream=true
        self.expect_usage = expect_usage  # the request asked for a usage chunk
        self.stream_id: str | None = None
        self.finished: set[int] = set()  # choice indexes past their finish_reason

    def on_event(self, event: SSEEvent, t_ns: int) -> None:
        data = event.data
        if self.done:
            raise StreamError(ErrorClass.CONTRACT, "data after [DONE]")
        if data == _DONE:
            self.done = True
            return
        if event.event == "error":
            raise StreamError(ErrorClass.HTTP_5XX, f"error event: {data[:200]!r}")
        try:
            obj = json.loads(data)
        except ValueError as exc:
            raise StreamError(
                ErrorClass.STREAM_MALFORMED, f"invalid JSON in event: {exc}"
            ) from None
        if not isinstance(obj, dict):
            raise StreamError(ErrorClass.CONTRACT, "event data is not a JSON object")
        if "error" in obj:
            raise StreamError(_error_object_class(obj["error"]), f"error in stream: {obj['error']}")
        self._on_chunk(obj, t_ns)

    def _on_chunk(self, obj: dict[str, Any], t_ns: int) -> None:
        if "id" in obj or obj.get("choices"):  # a bare usage chunk from a proxy may lack one
            self._check_id(obj.get("id"))
        usage = obj.get("usage")
        if isinstance(usage, dict):
            self.usage = usage
        choices = obj.get("choices")
        if choices is None and isinstance(usage, dict):
            return  # a usage-only chunk without "choices", as some proxies send it
        if not isinstance(choices, list):
            raise StreamError(ErrorClass.CONTRACT, "chunk without a 'choices' list")
        produced = False
        for choice in choices:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if not isinstance(delta, dict):
                raise StreamError(ErrorClass.CONTRACT, "choice without a 'delta' object")
            index = choice.get("index")
            if not isinstance(index, int) or isinstance(index, bool):
                raise StreamError(ErrorClass.CONTRACT, "choice without an integer 'index'")
            output = self._on_delta(delta)
            if output and index in self.finished:
                raise StreamError(ErrorClass.CONTRACT, "output after the choice's finish_reason")
            produced = output or produced
            reason = choice.get("finish_reason")
            if reason is not None:
                if reason not in FINISH_REASONS:
                    raise StreamError(ErrorClass.CONTRACT,
                                      f"unknown finish_reason {str(reason)[:40]!r}")  # fmt: skip
                self.finish_reason = reason
                self.finished.add(index)
        if produced:
            self.content_ns.append(t_ns)

    def _check_id(self, chunk_id: Any) -> None:
        if not isinstance(chunk_id, str):
            raise StreamError(ErrorClass.CONTRACT, "chunk without a string 'id'")
        if self.stream_id is None:
            self.stream_id = chunk_id
        elif chunk_id != self.stream_id:
            raise StreamError(ErrorClass.CONTRACT, f"chunk id changed mid-stream "
                              f"({self.stream_id[:40]!r} -> {chunk_id[:40]!r})")  # fmt: skip

    def _on_delta(self, delta: dict[str, Any]) -> bool:
        produced = False
        for key in _OUTPUT_KEYS:
            text = delta.get(key)
            if text is None:
                continue
            if not isinstance(text, str):
                raise StreamError(ErrorClass.CONTRACT, f"delta.{key} is not a string")
            if text:
                produced = True
                if key == "content":
                    self.parts.append(text)
        if delta.get("tool_calls"):
            produced = True
        return produced

    def end_error(self) -> StreamError | None:
        """Called at the end of the body: was the stream complete?"""
        if self.done or self.finish_reason:
            return None
        return StreamError(ErrorClass.STREAM_INCOMPLETE, "stream ended without [DONE]")

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
        else one token per content chunk (what most servers send) and marked estimated."""
        if self.usage is not None:
            completion = self.usage.get("completion_tokens")
            prompt = self.usage.get("prompt_tokens")
            if isinstance(completion, int):
                return (prompt if isinstance(prompt, int) else None), completion, False
        return None, len(self.content_ns), True

    def cached_tokens(self) -> int | None:
        """Prompt tokens served from the server's prefix cache (OpenAI's and vLLM's
        ``usage.prompt_tokens_details.cached_tokens``); None when not reported."""
        details = (self.usage or {}).get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, dict) else None
        return cached if isinstance(cached, int) and not isinstance(cached, bool) else None


def parse_completion(body: bytes) -> tuple[str, dict[str, Any] | None, str | None]:
    """A non-streamed chat completion: (text, usage, finish_reason); raises StreamError."""
    try:
        obj = json.loads(body)
    except ValueError as exc:
        raise StreamError(ErrorClass.STREAM_MALFORMED, f"invalid JSON body: {exc}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("choices"), list) or not obj["choices"]:
        raise StreamError(ErrorClass.CONTRACT, "completion without choices")
    choice = obj["choices"][0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise StreamError(ErrorClass.CONTRACT, "choice without a message")
    text = message.get("content") or ""
    usage = obj.get("usage") if isinstance(obj.get("usage"), dict) else None
    return str(text), usage, choice.get("finish_reason")


#: The local estimate: about four characters per token (English text, GPT-style tokenizers).
CHARS_PER_TOKEN = 4.0


def estimate_tokens(chars: int) -> int:
    """Rough token count (~4 characters per token) for when the server gives none."""
    return max(1, round(chars / CHARS_PER_TOKEN)) if chars else 0
