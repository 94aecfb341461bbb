"""Legacy completions: the rendered prompt, the body, text chunks and their contract."""

from __future__ import annotations

import json
from typing import Any

import pytest

from loadprofile.client.apis.openai_completions import (
    CompletionsStream,
    completions_request,
    parse_completions_body,
    render_prompt,
)
from loadprofile.client.apis.reply_stream import StreamError
from loadprofile.client.apis.sse import SSEEvent
from loadprofile.core.results import ErrorClass

MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello."},
    {"role": "user", "content": "Why?"},
]


def chunk(text: str | None = None, finish: str | None = None, **extra: Any) -> SSEEvent:
    choice: dict[str, Any] = {"index": 0, "logprobs": None, "finish_reason": finish}
    if text is not None:
        choice["text"] = text
    obj = {"id": "cmpl-1", "object": "text_completion", "choices": [choice], **extra}
    return SSEEvent("message", json.dumps(obj).encode())


def feed(events: list[SSEEvent], expect_usage: bool = True) -> CompletionsStream:
    stream = CompletionsStream(expect_usage=expect_usage)
    for t, event in enumerate(events):
        stream.on_event(event, t * 10)
    return stream


DONE = SSEEvent("message", b"[DONE]")


def test_prompt_is_role_blocks_and_an_assistant_cue() -> None:
    assert render_prompt(MESSAGES) == (
        "System: Be brief.\n\nUser: Hi\n\nAssistant: Hello.\n\nUser: Why?\n\nAssistant:"
    )


def test_body_sends_the_prompt_asks_for_usage_and_always_caps_tokens() -> None:
    body = completions_request("m", MESSAGES[1:2], None, temperature=0.5, extra={"seed": 1})
    assert body == {
        "model": "m",
        "prompt": "User: Hi\n\nAssistant:",
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 1024,
        "temperature": 0.5,
        "seed": 1,
    }
    whole = completions_request("m", MESSAGES, 8, stream=False)
    assert "stream_options" not in whole and whole["max_tokens"] == 8


def test_text_chunks_are_output_and_visible_alike() -> None:
    usage = {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}
    stream = feed(
        [
            chunk(""),
            chunk("Hi"),
            chunk(" there"),
            chunk("", finish="stop"),
            SSEEvent(
                "message", json.dumps({"id": "cmpl-1", "choices": [], "usage": usage}).encode()
            ),
            DONE,
        ]
    )
    assert stream.content_ns == [10, 20] and stream.visible_ns == 10
    assert stream.text == "Hi there" and stream.finish_reason == "stop"
    assert stream.token_counts() == (9, 2, False) and stream.notes() == ()


def test_cut_stream_and_missing_usage() -> None:
    cut = feed([chunk("a")])
    error = cut.end_error()
    assert error is not None and error.error_class is ErrorClass.STREAM_INCOMPLETE
    tolerant = feed([chunk("a", finish="length")])
    assert tolerant.end_error() is None
    assert tolerant.notes() == ("done_missing", "usage_missing")


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        ([chunk(text=5)], "choice.text is not a string"),  # type: ignore[arg-type]
        ([chunk("a"), chunk("b", id="cmpl-2")], "id changed mid-stream"),
        ([chunk("a", finish="stop"), chunk("b")], "after the choice's finish_reason"),
        ([chunk("a", finish="eos")], "unknown finish_reason"),
    ],
)
def test_contract_breaks(events: list[SSEEvent], reason: str) -> None:
    with pytest.raises(StreamError, match=reason) as caught:
        feed(events)
    assert caught.value.error_class is ErrorClass.CONTRACT


def test_errors_in_the_stream_are_classified() -> None:
    with pytest.raises(StreamError) as caught:
        feed([SSEEvent("message", b'{"error": {"message": "slow", "code": 429}}')])
    assert caught.value.error_class is ErrorClass.HTTP_429
    with pytest.raises(StreamError) as caught:
        feed([SSEEvent("message", b'{"id": "cmpl-1", "choi')])
    assert caught.value.error_class is ErrorClass.STREAM_MALFORMED


def test_parse_completions_body() -> None:
    body = {
        "id": "c",
        "choices": [{"index": 0, "text": "Hi", "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 1},
    }
    assert parse_completions_body(json.dumps(body).encode()) == (
        "Hi",
        {"prompt_tokens": 4, "completion_tokens": 1},
        "stop",
    )
    with pytest.raises(StreamError) as caught:
        parse_completions_body(b'{"choices": [{"text": 3}]}')
    assert caught.value.error_class is ErrorClass.CONTRACT
