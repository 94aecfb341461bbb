"""Base URLs as the OpenAI SDKs take them, each API's paths under them, and Azure's stream.

A user who passes ``http://127.0.0.1:8000/v1`` or ``http://127.0.0.1:8000`` gets the URLs (and
the host recorded in run.json) they always got; a provider's base URL with a version path of
its own (Groq, OpenRouter, Gemini) is kept as it is.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from loadprofile.client.apis.endpoints import (
    MODELS_PATH,
    api_base_url,
    endpoint_path,
    server_root,
)
from loadprofile.client.apis.openai_chat import ChatStream
from loadprofile.client.apis.reply_stream import StreamError
from loadprofile.client.apis.sse import SSEEvent, SSEParser
from loadprofile.client.streaming import auth_headers
from loadprofile.client.target_client import api_client, root_client
from loadprofile.config.targets import AZURE_API_VERSION, Target, normalize_host
from loadprofile.mock.azure import AZURE, PROMPT_FILTER_CHUNK
from loadprofile.mock.wire import usage_dict


def _url(host: str, api: str = "chat", model: str = "m", version: str | None = None) -> str:
    target = Target(model, model, normalize_host(host, "--host"), api=api, api_version=version)
    return api_base_url(target.host or "", api) + endpoint_path(target)


@pytest.mark.parametrize(
    ("host", "api", "url"),
    [
        ("http://127.0.0.1:8000", "chat", "http://127.0.0.1:8000/v1/chat/completions"),
        ("http://127.0.0.1:8000/", "chat", "http://127.0.0.1:8000/v1/chat/completions"),
        ("http://127.0.0.1:8000/v1", "chat", "http://127.0.0.1:8000/v1/chat/completions"),
        ("http://127.0.0.1:8000/v1/", "chat", "http://127.0.0.1:8000/v1/chat/completions"),
        ("http://[::1]:8000/v1", "completions", "http://[::1]:8000/v1/completions"),
        ("https://api.openai.com/v1", "chat", "https://api.openai.com/v1/chat/completions"),
        ("https://gw.example/openai/v1", "chat", "https://gw.example/openai/v1/chat/completions"),
        (
            "https://api.groq.com/openai/v1",
            "chat",
            "https://api.groq.com/openai/v1/chat/completions",
        ),
        ("https://openrouter.ai/api/v1/", "chat", "https://openrouter.ai/api/v1/chat/completions"),
        (
            "https://generativelanguage.googleapis.com/v1beta/openai/",
            "chat",
            "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
        ),
        ("https://api.anthropic.com", "anthropic", "https://api.anthropic.com/v1/messages"),
        ("https://api.anthropic.com/v1", "anthropic", "https://api.anthropic.com/v1/messages"),
        (
            "https://res.openai.azure.com",
            "azure",
            "https://res.openai.azure.com/openai/deployments/m/chat/completions"
            f"?api-version={AZURE_API_VERSION}",
        ),
        (
            "https://res.openai.azure.com/",
            "azure",
            "https://res.openai.azure.com/openai/deployments/m/chat/completions"
            f"?api-version={AZURE_API_VERSION}",
        ),
        (  # a gateway's prefix comes before Azure's own path
            "https://apim.example.com/aoai",
            "azure",
            "https://apim.example.com/aoai/openai/deployments/m/chat/completions"
            f"?api-version={AZURE_API_VERSION}",
        ),
    ],
)
def test_the_request_url_of_each_base_url(host: str, api: str, url: str) -> None:
    assert _url(host, api) == url


def test_a_bare_host_and_v1_are_recorded_as_they_always_were() -> None:
    assert normalize_host("http://127.0.0.1:8000/v1/", "--host") == "http://127.0.0.1:8000"
    assert normalize_host("http://127.0.0.1:8000", "--host") == "http://127.0.0.1:8000"
    assert normalize_host("https://openrouter.ai/api/v1", "h") == "https://openrouter.ai/api/v1"


def test_azure_names_its_deployment_and_version_in_the_url() -> None:
    url = _url("https://res.openai.azure.com", "azure", "gpt 4o/mini", "2025-01-01-preview")
    assert url == (
        "https://res.openai.azure.com/openai/deployments/gpt%204o%2Fmini/chat/completions"
        "?api-version=2025-01-01-preview"
    )


@pytest.mark.parametrize(
    ("host", "models", "root"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1/models", "http://127.0.0.1:8000"),
        (
            "https://generativelanguage.googleapis.com/v1beta/openai",
            "https://generativelanguage.googleapis.com/v1beta/openai/models",
            "https://generativelanguage.googleapis.com",
        ),
        ("http://[::1]:8080/api/v1", "http://[::1]:8080/api/v1/models", "http://[::1]:8080"),
    ],
)
def test_models_under_the_base_and_props_at_the_root(host: str, models: str, root: str) -> None:
    assert api_base_url(host, "chat") + MODELS_PATH == models
    assert server_root(host) == root


def test_the_clients_of_a_target_prepend_its_base_or_nothing() -> None:
    target = Target("m", "m", "https://openrouter.ai/api/v1")
    api, root = api_client(target, 1.0), root_client(target, 1.0)
    assert (api.origin.host, api.origin.base_path) == ("openrouter.ai", "/api/v1")
    assert (root.origin.host, root.origin.base_path) == ("openrouter.ai", "")
    bare = api_client(Target("m", "m", "http://127.0.0.1:8000"), 1.0)
    assert bare.origin.base_path + endpoint_path(target) == "/v1/chat/completions"


def test_azure_sends_its_key_in_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LP_AZURE_KEY", "az-123")
    target = Target("d", "d", "https://r.openai.azure.com", "LP_AZURE_KEY", api="azure")
    assert auth_headers(target) == {"api-key": "az-123"}


def _events(raw: bytes) -> list[SSEEvent]:
    return SSEParser().feed(raw)


class CarefulChat(ChatStream):
    """Every chunk down the careful path: it alone must judge Azure's chunk alike."""

    __slots__ = ()

    def _take_fast(self, chunk: Any, t_ns: int) -> bool:
        return False


@pytest.mark.parametrize("careful", [False, True], ids=["fast", "careful"])
def test_azure_s_prompt_filter_chunk_is_not_the_first_token(careful: bool) -> None:
    """Azure opens every stream with a chunk of no choices and an empty id: neither the
    first token nor the id the rest are held to."""
    enc = AZURE.encoder("gpt-4o", 1700000000)
    usage = usage_dict(5, 2)
    raw = enc.opening(usage) + enc.content("Hi") + enc.content("!")
    raw += enc.closing("stop", usage, True)
    assert raw.startswith(PROMPT_FILTER_CHUNK)
    stream = (CarefulChat if careful else ChatStream)(expect_usage=True)
    for t, event in enumerate(_events(raw)):
        stream.on_event(event, t * 10)
    # events: prompt filter (0), role (10), "Hi" (20), "!" (30), finish, usage, [DONE]
    assert stream.content_ns == [20, 30] and stream.visible_ns == 20
    assert (stream.text, stream.finish_reason, stream.end_error()) == ("Hi!", "stop", None)
    assert stream.stream_id is not None and stream.stream_id.startswith("chatcmpl-")


def test_a_chunk_without_choices_and_an_empty_id_is_still_checked_elsewhere() -> None:
    """Only Azure's prompt annotation is skipped: another empty-id chunk still holds the id."""
    stream = ChatStream()
    chunk = {"id": "", "choices": [{"index": 0, "delta": {"content": "a"}}]}
    stream.on_event(SSEEvent("message", json.dumps(chunk).encode()), 1)
    other = {"id": "x", "choices": [{"index": 0, "delta": {"content": "b"}}]}
    with pytest.raises(StreamError, match="id changed"):
        stream.on_event(SSEEvent("message", json.dumps(other).encode()), 2)
