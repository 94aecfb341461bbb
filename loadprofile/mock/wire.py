"""OpenAI wire format of the mock's replies: SSE chunk bytes and JSON bodies.

`ChunkEncoder` is also the shape every API's encoder has (`apis.StreamEncoder`): the
handler sends any API's reply through `opening`, `content`/`reasoning`, `closing` and `body`.

Streams are encoded from pre-built byte prefixes and suffixes so that sending a token
costs one small `json.dumps` of the token text, not of a whole chunk dict: the mock must
stay far faster than the client it measures.
"""

from __future__ import annotations

import json
import uuid
from functools import lru_cache
from typing import Any

DONE = b"data: [DONE]\n\n"
_NULL_FINISH = b',"finish_reason":null}]}\n\n'


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class ChunkEncoder:
    """Bytes of each `chat.completion.chunk` SSE event of one stream (same id throughout)."""

    OBJECT = "chat.completion.chunk"
    ID_PREFIX = "chatcmpl-"

    def __init__(self, completion_id: str, model: str, created: int) -> None:
        self.id, self.model, self.created = completion_id, model, created
        self._head = (
            f'{{"id":{_dumps(completion_id)},"object":{_dumps(self.OBJECT)},'
            f'"created":{created},"model":{_dumps(model)}'
        ).encode()
        self._delta = b"data: " + self._head + b',"choices":[{"index":0,"delta":'

    @classmethod
    def new(cls, model: str, created: int) -> ChunkEncoder:
        """The encoder of a new stream, under a fresh id."""
        return cls(cls.ID_PREFIX + uuid.uuid4().hex, model, created)

    def with_id(self, completion_id: str) -> ChunkEncoder:
        """An encoder for the same stream under another completion id (`contract_break`)."""
        return type(self)(completion_id, self.model, self.created)

    def role(self) -> bytes:
        """The role-only first chunk real servers send before any content."""
        return self._delta + b'{"role":"assistant","content":""}' + _NULL_FINISH

    def content(self, text: str) -> bytes:
        return self._delta + _content_delta(text) + _NULL_FINISH

    def finish(self, reason: str) -> bytes:
        return self._delta + b'{},"finish_reason":' + _dumps(reason).encode() + b"}]}\n\n"

    def usage(
        self, prompt_tokens: int, completion_tokens: int, cached_tokens: int | None = None
    ) -> bytes:
        """The usage-only chunk sent when `stream_options.include_usage` is set."""
        return self.usage_event(usage_dict(prompt_tokens, completion_tokens, cached_tokens))

    def usage_event(self, usage: dict[str, Any]) -> bytes:
        usage_json = _dumps(usage).encode()
        return b"data: " + self._head + b',"choices":[],"usage":' + usage_json + b"}\n\n"

    def malformed(self) -> bytes:
        """An event whose data is a chunk cut in the middle: not valid JSON."""
        return self._delta[: len(self._delta) // 2] + b"\n\n"

    # The encoder shape every API shares (`apis.StreamEncoder`).

    def opening(self, usage: dict[str, Any] | None) -> bytes:
        """What goes out before service starts: the role chunk."""
        return self.role()

    def reasoning(self, text: str) -> bytes:
        """A reasoning chunk, in `reasoning_content` as vLLM's reasoning parsers send it."""
        return self._delta + b'{"reasoning_content":' + _dumps(text).encode() + b"}" + _NULL_FINISH

    def odd(self, text: str) -> bytes:
        """`contract_break`: a content chunk under another completion id."""
        return self.with_id(self.ID_PREFIX + uuid.uuid4().hex).content(text)

    def closing(self, reason: str, usage: dict[str, Any] | None, done: bool) -> bytes:
        """Finish reason, the usage chunk if given, then `[DONE]` if `done`."""
        out = self.finish(reason)
        if usage is not None:
            out += self.usage_event(usage)
        return out + DONE if done else out

    def body(
        self, text: str, reasoning: str, reason: str, usage: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The whole reply of a non-streamed request."""
        body = completion_body(
            self.id, self.model, self.created, text, reason, 0, 0, include_usage=False
        )
        if reasoning:
            body["choices"][0]["message"]["reasoning_content"] = reasoning
        if usage is not None:
            body["usage"] = usage
        return body

    @staticmethod
    def error(status: int, message: str, type_: str, code: str | None) -> dict[str, Any]:
        return error_body(message, type_, code)


@lru_cache(maxsize=8192)
def _content_delta(text: str) -> bytes:
    """The reply vocabulary is small, so each token's JSON is encoded once per process."""
    return b'{"content":' + _dumps(text).encode() + b"}"


def usage_dict(
    prompt_tokens: int, completion_tokens: int, cached_tokens: int | None = None
) -> dict[str, Any]:
    """OpenAI's usage object; a model with a prefix cache also reports the prompt tokens it
    served from the cache (`prompt_tokens_details.cached_tokens`, as OpenAI and vLLM do)."""
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached_tokens}
    return usage


def completion_body(
    completion_id: str,
    model: str,
    created: int,
    content: str,
    finish_reason: str,
    prompt_tokens: int,
    completion_tokens: int,
    include_usage: bool = True,
    cached_tokens: int | None = None,
) -> dict[str, Any]:
    """A non-streaming `chat.completion` response, without `usage` if not `include_usage`."""
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
    }
    if include_usage:
        body["usage"] = usage_dict(prompt_tokens, completion_tokens, cached_tokens)
    return body


def error_body(message: str, type_: str, code: str | None) -> dict[str, Any]:
    """OpenAI's error envelope, which clients parse for the reason of a 4xx/5xx."""
    return {"error": {"message": message, "type": type_, "code": code}}
