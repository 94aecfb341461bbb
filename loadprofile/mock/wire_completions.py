"""OpenAI legacy completions wire format (`/v1/completions`): chat's framing, text choices.

A stream is `text_completion` chunks whose choice carries `text` (no role chunk, no delta),
then the finish chunk, the usage chunk if asked for, and `[DONE]`. The endpoint has no
reasoning field, so a profile's reasoning tokens go out as plain text.
"""

from __future__ import annotations

from typing import Any

from loadprofile.mock.wire import ChunkEncoder, _dumps

_OPEN = b',"logprobs":null,"finish_reason":'


class CompletionsEncoder(ChunkEncoder):
    """Bytes of each `text_completion` SSE event of one stream (same id throughout)."""

    OBJECT = "text_completion"
    ID_PREFIX = "cmpl-"

    def __init__(self, completion_id: str, model: str, created: int) -> None:
        super().__init__(completion_id, model, created)
        self._choice = b"data: " + self._head + b',"choices":[{"index":0,"text":'

    def opening(self, usage: dict[str, Any] | None) -> bytes:
        return b""  # no role chunk: the first event carries text

    def content(self, text: str) -> bytes:
        return self._choice + _dumps(text).encode() + _OPEN + b"null}]}\n\n"

    def reasoning(self, text: str) -> bytes:
        return self.content(text)

    def finish(self, reason: str) -> bytes:
        return self._choice + b'""' + _OPEN + _dumps(reason).encode() + b"}]}\n\n"

    def body(
        self, text: str, reasoning: str, reason: str, usage: dict[str, Any] | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": self.OBJECT,
            "created": self.created,
            "model": self.model,
            "choices": [
                {"index": 0, "text": reasoning + text, "logprobs": None, "finish_reason": reason}
            ],
        }
        if usage is not None:
            body["usage"] = usage
        return body
