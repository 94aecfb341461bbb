"""OpenAI legacy completions (``POST {base}/completions``): request bodies and chunks (pure).

The chat is sent as one text prompt (``render_prompt``), so a model behind a server without
a chat endpoint, or with its chat template bypassed, can be loaded with the same dataset.

TTFT rule: the first chunk whose choice carries non-empty ``text``. The endpoint has no
role chunk, no reasoning and no tool-call fields: everything generated is text, so TTFVT
(first visible token) is the same chunk as TTFT.

Chunks are ``{"id", "object": "text_completion", "choices": [{"text", "index",
"finish_reason"}]}``, then a usage chunk (``stream_options.include_usage``) and ``[DONE]``:
the framing and its contract checks are chat's (``ChatStream``), only a choice's payload
differs.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from loadprofile.client.apis.openai_chat import ChatStream, chat_request, first_choice, whole_reply
from loadprofile.client.apis.reply_stream import DEFAULT_MAX_TOKENS, WholeReply, text_field

COMPLETIONS_PATH = "/completions"  # under the API base URL (endpoints.py)


def render_prompt(messages: list[dict[str, str]]) -> str:
    """The chat as one plain-text prompt, the same for every model::

        System: Answer briefly.

        User: What is the capital of France?

        Assistant:

    Each message is ``Role: content`` (the role capitalised), messages are separated by a
    blank line, and a last ``Assistant:`` cues the model to answer as the assistant. This is
    not the model's own chat template (the endpoint applies none, and we cannot know it):
    the prompt is as long as the chat, so the load is comparable, but replies may read
    differently than through the chat endpoint."""
    blocks = [f"{m['role'].capitalize()}: {m.get('content', '')}" for m in messages]
    return "\n\n".join([*blocks, "Assistant:"])


def completions_request(
    model: str,
    messages: list[dict[str, str]],
    max_tokens: int | None,
    *,
    stream: bool = True,
    temperature: float | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Chat's body with the rendered prompt in place of the messages; ``max_tokens`` is
    always sent (the endpoint's default of 16 tokens would cut every reply short)."""
    body = chat_request(
        model,
        messages,
        DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens,
        stream=stream,
        temperature=temperature,
        extra=extra,
    )
    del body["messages"]
    body["prompt"] = render_prompt(messages)
    return body


class _TextChoice(msgspec.Struct):
    index: int
    text: str | None = None
    finish_reason: str | None = None


class _TextChunk(msgspec.Struct):
    id: str
    choices: list[_TextChoice]
    usage: dict[str, Any] | None = None
    timings: dict[str, Any] | None = None
    error: Any = msgspec.UNSET
    prompt_filter_results: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET  # chat's framing


class CompletionsStream(ChatStream):
    """Consumes one streamed legacy completion: chat's framing, choices carry ``text``."""

    __slots__ = ()
    _FAST: ClassVar[msgspec.json.Decoder[Any]] = msgspec.json.Decoder(_TextChunk)

    def _fast_output(self, choice: Any) -> tuple[bool, str]:
        text = choice.text or ""
        return bool(text), text

    def _on_choice(self, choice: dict[str, Any]) -> bool:
        text = text_field(choice, "text", "choice")
        if text:
            self.parts.append(text)
        return bool(text)


def parse_completions_body(body: bytes) -> WholeReply:
    """A non-streamed completion: (text, usage, finish_reason); raises StreamError."""
    obj, choice = first_choice(body)
    return whole_reply(obj, choice, text_field(choice, "text", "choice"))
