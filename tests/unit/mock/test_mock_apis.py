"""The mock's legacy-completions and Anthropic requests and bytes, read back by our client.

Each encoder's output is fed through the client's own SSE parser and stream consumer, so the
two sides are checked against each other as well as against the shapes written here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from loadprofile.client.apis.anthropic import AnthropicStream
from loadprofile.client.apis.openai_chat import ChatStream
from loadprofile.client.apis.openai_completions import CompletionsStream
from loadprofile.client.apis.reply_stream import ReplyStream, StreamError
from loadprofile.client.apis.sse import SSEParser
from loadprofile.core.results import ErrorClass
from loadprofile.mock.apis import ANTHROPIC, CHAT, COMPLETIONS, MockApi
from loadprofile.mock.chat_request import (
    RequestError,
    parse_completions_request,
    parse_messages_request,
)
from loadprofile.mock.profiles import ModelProfile, ProfileError
from loadprofile.mock.wire import usage_dict
from loadprofile.mock.wire_anthropic import anthropic_usage

MODELS = {"m"}
USAGE = usage_dict(12, 4)
CONSUMERS: dict[str, type[ReplyStream]] = {
    "chat": ChatStream,
    "completions": CompletionsStream,
    "anthropic": AnthropicStream,
}


def replay(api: MockApi, raw: bytes) -> ReplyStream:
    """The client's reading of ``raw``, one event per 10 ns."""
    stream = CONSUMERS[api.name](expect_usage=True)
    events = SSEParser().feed(raw)
    for t, event in enumerate(events):
        stream.on_event(event, t * 10)
    return stream


def reply(
    api: MockApi,
    tokens: list[str],
    reasoning: int,
    usage: dict[str, Any] | None = USAGE,
    done: bool = True,
) -> bytes:
    enc = api.encoder("m", 1700000000)
    out = enc.opening(usage)
    for i, text in enumerate(tokens):
        out += enc.reasoning(text) if i < reasoning else enc.content(text)
    return out + enc.closing("length", usage, done)


def test_completions_request_is_one_user_message() -> None:
    req = parse_completions_request(
        {
            "model": "m",
            "prompt": "User: hi\n\nAssistant:",
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": 7,
        },
        MODELS,
    )
    assert req.messages == [{"role": "user", "content": "User: hi\n\nAssistant:"}]
    assert (req.stream, req.include_usage, req.max_tokens) == (True, True, 7)


def test_messages_request_puts_system_first_and_always_streams_usage() -> None:
    body = {
        "model": "m",
        "system": "Be brief.",
        "max_tokens": 9,
        "stream": True,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
    req = parse_messages_request(body, MODELS)
    assert req.messages == [{"role": "system", "content": "Be brief."}, *body["messages"]]
    assert (req.stream, req.include_usage, req.max_tokens) == (True, True, 9)
    assert not parse_messages_request({**body, "stream": False}, MODELS).include_usage


@pytest.mark.parametrize(
    ("parse", "body", "status"),
    [
        (parse_completions_request, {"model": "m"}, 400),
        (parse_completions_request, {"model": "m", "prompt": ["a"]}, 400),
        (parse_completions_request, {"model": "x", "prompt": "a"}, 404),
        (
            parse_messages_request,
            {"model": "m", "messages": [{"role": "user", "content": "a"}]},
            400,
        ),
        (
            parse_messages_request,
            {"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "a"}]},
            400,
        ),
        (
            parse_messages_request,
            {
                "model": "m",
                "max_tokens": 5,
                "system": 3,
                "messages": [{"role": "user", "content": "a"}],
            },
            400,
        ),
        (parse_messages_request, {"model": "x", "max_tokens": 5, "messages": []}, 404),
    ],
)
def test_rejected(parse: Any, body: Any, status: int) -> None:
    with pytest.raises(RequestError) as info:
        parse(body, MODELS)
    assert info.value.status == status


@pytest.mark.parametrize("api", [CHAT, COMPLETIONS, ANTHROPIC], ids=lambda a: a.name)
def test_each_stream_reads_back_with_its_timing_usage_and_end(api: MockApi) -> None:
    stream = replay(api, reply(api, ["Th", "ink", "Hello", " world"], reasoning=2))
    assert stream.end_error() is None and stream.notes() == ()
    assert stream.token_counts() == (12, 4, False) and stream.finish_reason == "length"
    assert len(stream.content_ns) == 4  # reasoning counts for TTFT ...
    visible = stream.content_ns[0] if api is COMPLETIONS else stream.content_ns[2]
    assert stream.visible_ns == visible  # ... but not for TTFVT, except as legacy text
    assert stream.text == ("ThinkHello world" if api is COMPLETIONS else "Hello world")


@pytest.mark.parametrize("api", [CHAT, COMPLETIONS, ANTHROPIC], ids=lambda a: a.name)
def test_omitted_usage_and_end_marker_are_noted(api: MockApi) -> None:
    stream = replay(api, reply(api, ["a", "b"], reasoning=0, usage=None, done=False))
    assert stream.end_error() is None
    assert stream.notes() == ("done_missing", "usage_missing")


@pytest.mark.parametrize("api", [CHAT, COMPLETIONS, ANTHROPIC], ids=lambda a: a.name)
def test_injected_faults_read_as_their_error_classes(api: MockApi) -> None:
    for fault, error_class in (
        ("odd", ErrorClass.CONTRACT),
        ("malformed", ErrorClass.STREAM_MALFORMED),
    ):
        enc = api.encoder("m", 1)
        raw = enc.opening(USAGE) + enc.content("a")
        raw += enc.odd("b") if fault == "odd" else enc.malformed()
        with pytest.raises(StreamError) as caught:
            replay(api, raw)
        assert caught.value.error_class is error_class
    enc = api.encoder("m", 1)
    cut = replay(api, enc.opening(USAGE) + enc.content("a")).end_error()
    assert cut is not None and cut.error_class is ErrorClass.STREAM_INCOMPLETE


def test_whole_bodies() -> None:
    enc = COMPLETIONS.encoder("m", 5)
    body = enc.body("Hello", "Think", "stop", USAGE)
    assert body["object"] == "text_completion" and body["usage"] == USAGE
    assert body["choices"] == [
        {"index": 0, "text": "ThinkHello", "logprobs": None, "finish_reason": "stop"}
    ]
    message = ANTHROPIC.encoder("m", 5).body("Hello", "Think", "length", None)
    assert message["content"] == [
        {"type": "thinking", "thinking": "Think", "signature": "mock"},
        {"type": "text", "text": "Hello"},
    ]
    assert message["stop_reason"] == "max_tokens" and "usage" not in message
    chat = CHAT.encoder("m", 5).body("Hello", "Think", "stop", USAGE)
    assert chat["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Hello",
        "reasoning_content": "Think",
    }


def test_anthropic_usage_counts_cached_tokens_apart() -> None:
    assert anthropic_usage(usage_dict(20, 3, 16)) == {
        "input_tokens": 4,
        "output_tokens": 3,
        "cache_read_input_tokens": 16,
        "cache_creation_input_tokens": 0,
    }
    assert anthropic_usage(usage_dict(20, 3)) == {"input_tokens": 20, "output_tokens": 3}


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, "rate_limit_error"),
        (500, "api_error"),
        (404, "not_found_error"),
        (401, "authentication_error"),
    ],
)
def test_errors_in_each_apis_envelope(status: int, kind: str) -> None:
    exc = RequestError(status, "nope", "server_error", "code")
    assert ANTHROPIC.error_body(exc) == {
        "type": "error",
        "error": {"type": kind, "message": "nope"},
    }
    assert (
        COMPLETIONS.error_body(exc)
        == CHAT.error_body(exc)
        == {"error": {"message": "nope", "type": "server_error", "code": "code"}}
    )


def test_chat_reasoning_chunk_shape() -> None:
    raw = CHAT.encoder("m", 1).reasoning("hm")
    assert json.loads(raw[6:-2])["choices"][0]["delta"] == {"reasoning_content": "hm"}


def test_reasoning_tokens_are_checked() -> None:
    with pytest.raises(ProfileError, match="reasoning_tokens must be >= 0"):
        ModelProfile("x", reasoning_tokens=-1)
    with pytest.raises(ProfileError, match='reasoning_tokens needs content = "prose"'):
        ModelProfile(
            "x", content="json", output_tokens_min=20, output_tokens_max=20, reasoning_tokens=2
        )
