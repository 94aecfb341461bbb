"""Azure OpenAI's side of the mock: ``POST /openai/deployments/{deployment}/chat/completions
?api-version=V``, so that ``--api azure`` is tested against the shape Azure serves.

The deployment in the path names the model (a body's own ``model`` is ignored, as Azure
ignores it), the key comes in an ``api-key`` header, a request without ``api-version`` is
refused with Azure's 400, and streams open with Azure's prompt-filter chunk (no choices, an
empty id): a client must not take it for the first token, nor hold the stream's id to it.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import replace
from typing import Any

from aiohttp import web

from loadprofile.mock.apis import MockApi, error_response
from loadprofile.mock.chat_request import ChatRequest, RequestError, parse_chat_request
from loadprofile.mock.wire import ChunkEncoder

AZURE_ROUTE = "/openai/deployments/{deployment}/chat/completions"

#: Azure's first event of every chat stream: the prompt's content-filter verdict.
PROMPT_FILTER_CHUNK = (
    b'data: {"choices":[],"created":0,"id":"","model":"","object":"",'
    b'"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{'
    b'"hate":{"filtered":false,"severity":"safe"},'
    b'"self_harm":{"filtered":false,"severity":"safe"},'
    b'"sexual":{"filtered":false,"severity":"safe"},'
    b'"violence":{"filtered":false,"severity":"safe"}}}]}\n\n'
)


class AzureChunkEncoder(ChunkEncoder):
    """Chat's chunks, opened by Azure's prompt-filter chunk."""

    def opening(self, usage: dict[str, Any] | None) -> bytes:
        return PROMPT_FILTER_CHUNK + self.role()

    @staticmethod
    def error(status: int, message: str, type_: str, code: str | None) -> dict[str, Any]:
        """Azure's error envelope: a code (its own word, or the status) and a message."""
        return {"error": {"code": code or str(status), "message": message}}


def _no_deployment_parse(body: Any, models: Container[str]) -> ChatRequest:
    raise AssertionError("the Azure API is used per deployment (for_deployment)")


AZURE = MockApi(
    "azure", _no_deployment_parse, AzureChunkEncoder.new, AzureChunkEncoder.error, "api-key"
)


def for_deployment(deployment: str) -> MockApi:
    """The Azure API of one request: its body parsed as chat's, its model the deployment."""

    def parse(body: Any, models: Container[str]) -> ChatRequest:
        if not isinstance(body, dict):
            raise RequestError(
                400, "request body must be a JSON object", "invalid_request_error", None
            )
        return parse_chat_request({**body, "model": deployment}, models)

    return replace(AZURE, parse=parse)


def missing_api_version(request: web.Request) -> web.Response | None:
    """Azure's 400 for a request without ``?api-version=``; None when it has one."""
    if request.query.get("api-version"):
        return None
    exc = RequestError(
        400,
        "The api-version query parameter (?api-version=) is required for all requests.",
        "invalid_request_error",
        "MissingApiVersionParameter",
    )
    return error_response(exc, AZURE)
