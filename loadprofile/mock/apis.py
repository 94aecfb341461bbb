"""The APIs the mock speaks, each as the parts that differ: request parser, encoder, the
header carrying the key, the error envelope.

One handler (`handlers.py`) serves them all with the same plans, queueing, faults and
records; only the bytes on the wire differ.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from loadprofile.mock.chat_request import (
    ChatRequest,
    RequestError,
    parse_chat_request,
    parse_completions_request,
    parse_messages_request,
)
from loadprofile.mock.wire import ChunkEncoder
from loadprofile.mock.wire_anthropic import AnthropicEncoder
from loadprofile.mock.wire_completions import CompletionsEncoder


class StreamEncoder(Protocol):
    """The bytes of one reply, streamed (events in order) or whole (`body`)."""

    def opening(self, usage: dict[str, Any] | None) -> bytes: ...
    def content(self, text: str) -> bytes: ...
    def reasoning(self, text: str) -> bytes: ...
    def odd(self, text: str) -> bytes: ...
    def malformed(self) -> bytes: ...
    def closing(self, reason: str, usage: dict[str, Any] | None, done: bool) -> bytes: ...
    def body(
        self, text: str, reasoning: str, reason: str, usage: dict[str, Any] | None
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class MockApi:
    name: str
    parse: Callable[[Any, Container[str]], ChatRequest]
    encoder: Callable[[str, int], StreamEncoder]  # (model, created) -> a new reply's encoder
    error: Callable[[int, str, str, str | None], dict[str, Any]]  # (status, message, type, code)
    key_header: str  # where the API key goes ...
    key_prefix: str = ""  # ... and what comes before it

    def error_body(self, exc: RequestError) -> dict[str, Any]:
        return self.error(exc.status, exc.message, exc.type, exc.code)


CHAT = MockApi(
    "chat", parse_chat_request, ChunkEncoder.new, ChunkEncoder.error, "Authorization", "Bearer "
)
COMPLETIONS = MockApi(
    "completions",
    parse_completions_request,
    CompletionsEncoder.new,
    CompletionsEncoder.error,
    "Authorization",
    "Bearer ",
)
ANTHROPIC = MockApi(
    "anthropic", parse_messages_request, AnthropicEncoder.new, AnthropicEncoder.error, "x-api-key"
)
MOCK_APIS: tuple[MockApi, ...] = (CHAT, COMPLETIONS, ANTHROPIC)


def error_response(exc: RequestError, api: MockApi = CHAT) -> web.Response:
    return web.json_response(api.error_body(exc), status=exc.status)


def check_auth(request: web.Request, api_key: str | None, api: MockApi | None = None) -> None:
    """Raise a 401 unless the request carries the key in its API's header (`Authorization:
    Bearer <api_key>`, Anthropic's `x-api-key: <api_key>`); where `api` is None (endpoints
    the APIs share, `/v1/models`) any of them will do."""
    if api_key is None:
        return
    for each in MOCK_APIS if api is None else (api,):
        given = request.headers.get(each.key_header, "")
        if hmac.compare_digest(given.encode(), (each.key_prefix + api_key).encode()):
            return
    raise RequestError(
        401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key"
    )
