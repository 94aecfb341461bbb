"""Anthropic Messages wire format (`/v1/messages`): named SSE events and JSON bodies.

A stream is `message_start` (with the input side of usage) and a `ping`, then content
blocks: reasoning tokens as `thinking_delta`s in a `thinking` block (closed with a
`signature_delta`), the reply as `text_delta`s in a `text` block; then `message_delta`
(stop_reason and usage) and `message_stop`. As for chat, each token's event is built from
bytes prepared when its block opens: one `json.dumps` of the token text per token.
"""

from __future__ import annotations

import uuid
from typing import Any

from loadprofile.mock.wire import _dumps

#: Our finish reasons in Anthropic's words.
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens"}
#: Anthropic's error types by HTTP status (others: api_error).
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
_BLOCK_FIELD = {"thinking": "thinking", "text": "text"}
_DELTA_TYPE = {"thinking": "thinking_delta", "text": "text_delta"}


def event(name: str, obj: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {_dumps(obj)}\n\n".encode()


def anthropic_usage(usage: dict[str, Any], output_tokens: int | None = None) -> dict[str, Any]:
    """OpenAI's usage in Anthropic's shape: cached prompt tokens are counted apart."""
    details = usage.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens")
    out: dict[str, Any] = {
        "input_tokens": usage["prompt_tokens"] - (cached or 0),
        "output_tokens": usage["completion_tokens"] if output_tokens is None else output_tokens,
    }
    if cached is not None:
        out |= {"cache_read_input_tokens": cached, "cache_creation_input_tokens": 0}
    return out


def error_body(status: int, message: str) -> dict[str, Any]:
    """Anthropic's error envelope."""
    kind = ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


class AnthropicEncoder:
    """Bytes of each event of one streamed message; tracks the open content block."""

    def __init__(self, message_id: str, model: str) -> None:
        self.id, self.model = message_id, model
        self._index = -1
        self._kind: str | None = None
        self._prefix = b""

    @classmethod
    def new(cls, model: str, created: int) -> AnthropicEncoder:
        return cls("msg_" + uuid.uuid4().hex, model)

    def opening(self, usage: dict[str, Any] | None) -> bytes:
        """message_start (with the input side of usage, as Anthropic sends it) and a ping."""
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
        }
        if usage is not None:
            message["usage"] = anthropic_usage(usage, output_tokens=1)
        start = event("message_start", {"type": "message_start", "message": message})
        return start + event("ping", {"type": "ping"})

    def content(self, text: str) -> bytes:
        return self._delta("text", text)

    def reasoning(self, text: str) -> bytes:
        return self._delta("thinking", text)

    def _delta(self, kind: str, text: str) -> bytes:
        out = b""
        if kind != self._kind:
            out = self._close_block()
            self._index += 1
            self._kind = kind
            block = {"type": kind, _BLOCK_FIELD[kind]: ""}
            out += event(
                "content_block_start",
                {"type": "content_block_start", "index": self._index, "content_block": block},
            )
            self._prefix = (
                f'event: content_block_delta\ndata: {{"type":"content_block_delta",'
                f'"index":{self._index},"delta":{{"type":"{_DELTA_TYPE[kind]}",'
                f'"{_BLOCK_FIELD[kind]}":'
            ).encode()
        return out + self._prefix + _dumps(text).encode() + b"}}\n\n"

    def _close_block(self) -> bytes:
        if self._kind is None:
            return b""
        out = b""
        if self._kind == "thinking":
            out = event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": self._index,
                    "delta": {"type": "signature_delta", "signature": "mock"},
                },
            )
        self._kind = None
        return out + event(
            "content_block_stop", {"type": "content_block_stop", "index": self._index}
        )

    def odd(self, text: str) -> bytes:
        """`contract_break`: a text delta for a block that was never started."""
        return event(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": self._index + 1000,
                "delta": {"type": "text_delta", "text": text},
            },
        )

    def malformed(self) -> bytes:
        """An event whose data is cut in the middle: not valid JSON."""
        return b'event: content_block_delta\ndata: {"type":"content_block_delta","ind\n\n'

    def closing(self, reason: str, usage: dict[str, Any] | None, done: bool) -> bytes:
        """The open block's stop, message_delta (with usage if given), message_stop if done."""
        delta: dict[str, Any] = {
            "type": "message_delta",
            "delta": {"stop_reason": STOP_REASONS.get(reason, reason), "stop_sequence": None},
        }
        if usage is not None:
            delta["usage"] = anthropic_usage(usage)
        out = self._close_block() + event("message_delta", delta)
        return out + event("message_stop", {"type": "message_stop"}) if done else out

    def body(
        self, text: str, reasoning: str, reason: str, usage: dict[str, Any] | None
    ) -> dict[str, Any]:
        """A whole (non-streamed) message: a thinking block if reasoning, then the text."""
        thinking = [{"type": "thinking", "thinking": reasoning, "signature": "mock"}]
        body: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [*(thinking if reasoning else []), {"type": "text", "text": text}],
            "stop_reason": STOP_REASONS.get(reason, reason),
            "stop_sequence": None,
        }
        if usage is not None:
            body["usage"] = anthropic_usage(usage)
        return body

    @staticmethod
    def error(status: int, message: str, type_: str, code: str | None) -> dict[str, Any]:
        return error_body(status, message)
