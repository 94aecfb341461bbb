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

from typing import Any, ClassVar

import msgspec

from loadprofile.client.apis.reply_stream import (
    ReplyStream,
    StreamError,
    WholeReply,
    load_object,
    text_field,
)
from loadprofile.client.apis.sse import SSEEvent
from loadprofile.core.results import ErrorClass, classify_status

#: Under the API base URL (``http://HOST/v1``, ``https://openrouter.ai/api/v1``: endpoints.py).
CHAT_PATH = "/chat/completions"
MODELS_PATH = "/models"
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


class _Delta(msgspec.Struct):
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: Any = None


class _ChatChoice(msgspec.Struct):
    index: int
    delta: _Delta
    finish_reason: str | None = None


class _ChatChunk(msgspec.Struct):
    """The fields of a well-formed chunk that matter; msgspec checks their types in C and
    skips the rest without building it. Anything it refuses takes the careful path."""

    id: str
    choices: list[_ChatChoice]
    usage: dict[str, Any] | None = None
    timings: dict[str, Any] | None = None
    error: Any = msgspec.UNSET
    prompt_filter_results: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET


class ChatStream(ReplyStream):
    """Consumes the events of one streamed chat completion in arrival order.

    The chunk framing (id, choices, finish_reason, usage chunk, ``[DONE]``) is shared with
    legacy completions (``CompletionsStream``); only what a choice carries differs
    (``_on_choice``, and ``_fast_output`` on the fast path).

    Every chunk of every stream passes here, so a well-formed chunk with at most one choice
    takes a fast path (typed decoding, checks without a dict in sight); any other chunk,
    and any chunk the fast path doubts, is decoded again and checked the careful way
    (``_on_chunk``), which alone decides every error and its message.
    """

    __slots__ = ("finished", "stream_id")
    _FAST: ClassVar[msgspec.json.Decoder[Any]] = msgspec.json.Decoder(_ChatChunk)

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
        try:
            chunk = self._FAST.decode(data)
        except msgspec.DecodeError:  # not JSON, or not a chunk's shape: the careful path says
            chunk = None
        if chunk is not None and self._take_fast(chunk, t_ns):
            return
        obj = load_object(data, "event data")
        if "error" in obj:
            raise StreamError(_error_object_class(obj["error"]), f"error in stream: {obj['error']}")
        self._on_chunk(obj, t_ns)

    def _on_chunk(self, obj: dict[str, Any], t_ns: int) -> None:
        if "prompt_filter_results" in obj and not obj.get("choices"):
            # Azure OpenAI opens its streams with the prompt's content-filter verdict: no
            # choices and an empty id. It carries no output and no id to hold the rest to.
            return
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
                    raise StreamError(
                        ErrorClass.CONTRACT, f"unknown finish_reason {str(reason)[:40]!r}"
                    )
                self.finish_reason = reason
                self.finished.add(index)
        self.mark(t_ns, produced, len(self.parts) > visible_before)

    def _take_fast(self, chunk: Any, t_ns: int) -> bool:
        """Take a decoded chunk if it is plainly valid; False (nothing changed) when the
        careful path must judge it: an error object, another id, several choices, an
        unknown finish_reason, output after the choice finished."""
        if chunk.error is not msgspec.UNSET or len(chunk.choices) > 1:
            return False
        if chunk.prompt_filter_results is not msgspec.UNSET and not chunk.choices:
            return False  # Azure's prompt annotation: the careful path skips it
        if self.stream_id is not None and chunk.id != self.stream_id:
            return False
        output, text, choice = False, "", None
        if chunk.choices:
            choice = chunk.choices[0]
            reason = choice.finish_reason
            if reason is not None and reason not in FINISH_REASONS:
                return False
            output, text = self._fast_output(choice)
            if output and choice.index in self.finished:
                return False
        self.stream_id = chunk.id
        if chunk.usage is not None:
            self.usage = chunk.usage
        if chunk.timings is not None:
            self.server_timings = chunk.timings
        if text:
            self.parts.append(text)
        if choice is not None and choice.finish_reason is not None:
            self.finish_reason = choice.finish_reason
            self.finished.add(choice.index)
        self.mark(t_ns, output, bool(text))
        return True

    def _fast_output(self, choice: Any) -> tuple[bool, str]:
        """(generated output?, visible text) of a choice the fast path decoded."""
        delta = choice.delta
        text = delta.content or ""
        return bool(text or delta.reasoning_content or delta.reasoning or delta.tool_calls), text

    def _check_id(self, chunk_id: Any) -> None:
        if not isinstance(chunk_id, str):
            raise StreamError(ErrorClass.CONTRACT, "chunk without a string 'id'")
        if self.stream_id is None:
            self.stream_id = chunk_id
        elif chunk_id != self.stream_id:
            raise StreamError(
                ErrorClass.CONTRACT,
                f"chunk id changed mid-stream ({self.stream_id[:40]!r} -> {chunk_id[:40]!r})",
            )

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
