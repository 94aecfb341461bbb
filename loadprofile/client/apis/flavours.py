"""The API flavours a target may speak (``--api``), each as the few parts that differ (pure).

``streaming.py`` sends every flavour down one code path: it takes the path, the stream
consumer (a ``ReplyStream``), the parser of a non-streamed body and the headers from here.
The TTFT and TTFVT rules are in each flavour's module docstring. Paths are under the
target's API base URL (``endpoints.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from loadprofile.client.apis import anthropic, openai_chat, openai_completions
from loadprofile.client.apis.reply_stream import ReplyStream, WholeReply


class BodyBuilder(Protocol):
    def __call__(
        self,
        model: str,
        messages: list[dict[str, str]],
        max_tokens: int | None,
        *,
        stream: bool = True,
        temperature: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Flavour:
    name: str
    path: str  # under the API base; Azure's names {deployment} and {api_version}
    request: BodyBuilder  # (model, chat messages, max_tokens, ...) -> request body
    stream: type[ReplyStream]  # its ``for_request(body)`` consumes the streamed reply
    parse_body: Callable[[bytes], WholeReply]  # a reply sent whole (stream ignored)
    headers: Callable[[str | None], dict[str, str]]  # from the API key (or None)
    bare_base: str = "/v1"  # the API base under a host URL without a path
    lists_models: bool = True  # serves GET {base}/models


def bearer_headers(api_key: str | None) -> dict[str, str]:
    """OpenAI's ``Authorization: Bearer KEY``; nothing without a key."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def azure_headers(api_key: str | None) -> dict[str, str]:
    """Azure OpenAI's ``api-key: KEY`` (its Entra ID tokens would be a Bearer header)."""
    return {"api-key": api_key} if api_key else {}


#: Azure OpenAI: the chat flavour's body and stream, sent to a deployment (named by the
#: target's model) with the API version in the query. Its paths start at the host's root
#: (/openai/...), and it lists deployments nowhere a key for inference can read.
AZURE_PATH = "/openai/deployments/{deployment}/chat/completions?api-version={api_version}"


#: One per ``targets.API_FLAVOURS``, in the same order.
FLAVOURS: dict[str, Flavour] = {
    "chat": Flavour(
        "chat",
        openai_chat.CHAT_PATH,
        openai_chat.chat_request,
        openai_chat.ChatStream,
        openai_chat.parse_completion,
        bearer_headers,
    ),
    "completions": Flavour(
        "completions",
        openai_completions.COMPLETIONS_PATH,
        openai_completions.completions_request,
        openai_completions.CompletionsStream,
        openai_completions.parse_completions_body,
        bearer_headers,
    ),
    "anthropic": Flavour(
        "anthropic",
        anthropic.MESSAGES_PATH,
        anthropic.anthropic_request,
        anthropic.AnthropicStream,
        anthropic.parse_message,
        anthropic.anthropic_headers,
    ),
    "azure": Flavour(
        "azure",
        AZURE_PATH,
        openai_chat.chat_request,
        openai_chat.ChatStream,
        openai_chat.parse_completion,
        azure_headers,
        bare_base="",
        lists_models=False,
    ),
}


def flavour(api: str) -> Flavour:
    """The flavour named ``api`` (one of ``targets.API_FLAVOURS``)."""
    return FLAVOURS[api]


def prompt_chars(body: dict[str, Any]) -> int:
    """Characters of the prompt a body sends, whichever the flavour: chat messages, a text
    ``prompt`` (completions) or ``system`` plus messages (Anthropic)."""
    texts = [m.get("content") for m in body.get("messages") or ()]
    texts += [body.get("prompt"), body.get("system")]
    return sum(len(t) for t in texts if isinstance(t, str))
