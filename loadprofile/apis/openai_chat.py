"""OpenAI chat completions: request bodies and the meaning of each streamed chunk (pure).

TTFT rule: the first chunk whose delta carries generated output: non-empty ``content``,
``reasoning_content``/``reasoning`` or ``tool_calls``. vLLM, llama.cpp and OpenAI all send a
role-only chunk first; it does not count. TTFVT (first visible token): the first chunk with
non-empty ``content``; later than TTFT when the model reasons or calls a tool first.

The response contract, checked on every chunk under load (what a downstream parser relies
on): each chunk is a JSON object with a string ``id``, the same throughout the stream, a
``choices`` list whose items have an integer ``index``, a ``delta`` object, and a
``finish_reason`` that is null or one of OpenAI's values; nothing is generated for a choice
after its finish_reason, and nothing follows ``[DONE]``. A break is the ``contract`` error.
Deviations a tolerant parser survives are noted on the request instead (``NOTE_*``): no
usage chunk although asked for, no ``[DONE]`` after the finish_reason, a reply not streamed.
"""

from __future__ import annotations

from typing import Any

from loadprofile.apis.reply_stream import (
    ReplyStream,
    StreamError,
    WholeReply,
    load_object,
    text_field,
)
from loadprofile.apis.sse import SSEEvent
from loadprofile.results import ErrorClass, classify_status

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
_DONE = b"[DONE]"
_OUTPUT_KEYS = ("content", "reasoning_content", "reasoning")
FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})


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


class ChatStream(ReplyStream):
    """Consumes the events of one streamed chat completion in arrival order.

    The chunk framing (id, choices, finish_reason, usage chunk, ``[DONE]``) is shared with
    legacy completions (``CompletionsStream``); only what a choice carries differs
    (``_on_choice``).
    """

    __slots__ = ("finished", "stream_id")

    def __init__(self, expect_usage: bool = False) -> None:
        super().__init__(expect_usage)
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
        obj = load_object(data, "event data")
        if "error" in obj:
            raise StreamError(_error_object_class(obj["error"]), f"error in stream: {obj['error']}")
        self._on_chunk(obj, t_ns)

    def _on_chunk(self, obj: dict[str, Any], t_ns: int) -> None:
        if "id" in obj or obj.get("choices"):  # a bare usage chunk from a proxy may lack one
            self._check_id(obj.get("id"))
        usage = obj.get("usage")
        if isinstance(usage, dict):
            self.usage = usage
        if isinstance(obj.get("timings"), dict):  # llama.cpp: the last one holds the totals
            self.server_timings = obj["timings"]
        choices = obj.get("choices")
        if choices is None and isinstance(usage, dict):
            return  # a usage-only chunk without "choices", as some proxies send it
        if not isinstance(choices, list):
            raise StreamError(ErrorClass.CONTRACT, "chunk without a 'choices' list")
        produced = False
        visible_before = len(self.parts)
        for choice in choices:
            if not isinstance(choice, dict):
                raise StreamError(ErrorClass.CONTRACT, "choice is not an object")
            index = choice.get("index")
            if not isinstance(index, int) or isinstance(index, bool):
                raise StreamError(ErrorClass.CONTRACT, "choice without an integer 'index'")
            output = self._on_choice(choice)
            if output and index in self.finished:
                raise StreamError(ErrorClass.CONTRACT, "output after the choice's finish_reason")
            produced = output or produced
            reason = choice.get("finish_reason")
            if reason is not None:
                if not isinstance(reason, str) or reason not in FINISH_REASONS:
                    raise StreamError(ErrorClass.CONTRACT,
                                      f"unknown finish_reason {str(reason)[:40]!r}")  # fmt: skip
                self.finish_reason = reason
                self.finished.add(index)
        self.mark(t_ns, produced, len(self.parts) > visible_before)

    def _check_id(self, chunk_id: Any) -> None:
        if not isinstance(chunk_id, str):
            raise StreamError(ErrorClass.CONTRACT, "chunk without a string 'id'")
        if self.stream_id is None:
            self.stream_id = chunk_id
        elif chunk_id != self.stream_id:
            raise StreamError(ErrorClass.CONTRACT, f"chunk id changed mid-stream "
                              f"({self.stream_id[:40]!r} -> {chunk_id[:40]!r})")  # fmt: skip

    def _on_choice(self, choice: dict[str, Any]) -> bool:
        """Take what one choice of a chunk carries; True when it is generated output."""
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            raise StreamError(ErrorClass.CONTRACT, "choice without a 'delta' object")
        return self._on_delta(delta)

    def _on_delta(self, delta: dict[str, Any]) -> bool:
        produced = False
        for key in _OUTPUT_KEYS:
            text = text_field(delta, key, "delta")
            if text:
                produced = True
                if key == "content":
                    self.parts.append(text)
        if delta.get("tool_calls"):
            produced = True
        return produced


def first_choice(body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """A non-streamed OpenAI body and its first choice; raises StreamError."""
    obj = load_object(body, "body")
    choices = obj.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise StreamError(ErrorClass.CONTRACT, "completion without choices")
    return obj, choices[0]


def whole_reply(obj: dict[str, Any], choice: dict[str, Any], text: str) -> WholeReply:
    usage = obj.get("usage") if isinstance(obj.get("usage"), dict) else None
    return text, usage, choice.get("finish_reason")


def parse_completion(body: bytes) -> WholeReply:
    """A non-streamed chat completion: (text, usage, finish_reason); raises StreamError."""
    obj, choice = first_choice(body)
    message = choice.get("message")
    if not isinstance(message, dict):
        raise StreamError(ErrorClass.CONTRACT, "choice without a message")
    return whole_reply(obj, choice, str(message.get("content") or ""))


#: The local estimate: about four characters per token (English text, GPT-style tokenizers).
CHARS_PER_TOKEN = 4.0


def estimate_tokens(chars: int) -> int:
    """Rough token count (~4 characters per token) for when the server gives none."""
    return max(1, round(chars / CHARS_PER_TOKEN)) if chars else 0
