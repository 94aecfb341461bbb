"""Anthropic Messages: request body, named stream events, TTFT/TTFVT rule, usage, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from loadprofile.client.apis.anthropic import (
    AnthropicStream,
    anthropic_headers,
    anthropic_request,
    parse_message,
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


def ev(kind: str, **fields: Any) -> SSEEvent:
    return SSEEvent(kind, json.dumps({"type": kind, **fields}).encode())


START = ev(
    "message_start",
    message={
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [],
        "usage": {"input_tokens": 20, "cache_read_input_tokens": 8, "output_tokens": 1},
    },
)


def block(index: int, kind: str, **fields: Any) -> SSEEvent:
    return ev("content_block_start", index=index, content_block={"type": kind, **fields})


def delta(index: int, kind: str, **fields: Any) -> SSEEvent:
    return ev("content_block_delta", index=index, delta={"type": kind, **fields})


def stop(index: int) -> SSEEvent:
    return ev("content_block_stop", index=index)


def end(reason: str = "end_turn", output: int = 3) -> list[SSEEvent]:
    return [
        ev(
            "message_delta",
            delta={"stop_reason": reason, "stop_sequence": None},
            usage={"output_tokens": output},
        ),
        ev("message_stop"),
    ]


def feed(events: list[SSEEvent]) -> AnthropicStream:
    stream = AnthropicStream(expect_usage=True)
    for t, event in enumerate(events):
        stream.on_event(event, t * 10)
    return stream


def test_request_body_moves_system_to_the_top_and_always_has_max_tokens() -> None:
    body = anthropic_request("claude", MESSAGES, None, temperature=0.0, extra={"seed": 3})
    assert body == {
        "model": "claude",
        "max_tokens": 1024,
        "stream": True,
        "temperature": 0.0,
        "system": "Be brief.",
        "messages": MESSAGES[1:],
    }
    assert "system" not in anthropic_request("c", MESSAGES[1:], 5)
    assert anthropic_request("c", MESSAGES[1:], 5)["max_tokens"] == 5


def test_headers_carry_the_key_as_x_api_key_and_always_the_version() -> None:
    assert anthropic_headers("k") == {"anthropic-version": "2023-06-01", "x-api-key": "k"}
    assert anthropic_headers(None) == {"anthropic-version": "2023-06-01"}


def test_text_reply_ttft_is_the_first_text_delta() -> None:
    stream = feed(
        [
            START,
            ev("ping"),
            block(0, "text", text=""),
            delta(0, "text_delta", text="Hi"),
            delta(0, "text_delta", text=" there"),
            stop(0),
            *end(),
        ]
    )
    assert stream.content_ns == [30, 40] and stream.visible_ns == 30
    assert stream.text == "Hi there" and stream.finish_reason == "stop"
    assert stream.done and stream.end_error() is None and stream.notes() == ()


def test_thinking_counts_for_ttft_but_not_for_the_first_visible_token() -> None:
    stream = feed(
        [
            START,
            block(0, "thinking", thinking=""),
            delta(0, "thinking_delta", thinking="Let me see"),
            delta(0, "signature_delta", signature="sig"),
            stop(0),
            block(1, "text", text=""),
            delta(1, "text_delta", text="Yes."),
            stop(1),
            *end(),
        ]
    )
    assert stream.content_ns == [20, 60]  # the signature is no output
    assert stream.visible_ns == 60 and stream.text == "Yes."


def test_tool_use_block_start_and_its_input_count_as_output() -> None:
    stream = feed(
        [
            START,
            block(0, "tool_use", id="t1", name="lookup", input={}),
            delta(0, "input_json_delta", partial_json=""),
            delta(0, "input_json_delta", partial_json='{"q": 1}'),
            stop(0),
            *end("tool_use"),
        ]
    )
    assert stream.content_ns == [10, 30] and stream.visible_ns is None
    assert stream.finish_reason == "tool_calls" and stream.text == ""


@pytest.mark.parametrize(
    ("reason", "finish"),
    [
        ("end_turn", "stop"),
        ("max_tokens", "length"),
        ("stop_sequence", "stop"),
        ("tool_use", "tool_calls"),
    ],
)
def test_stop_reasons_map_to_openai_finish_reasons(reason: str, finish: str) -> None:
    assert feed([START, *end(reason)]).finish_reason == finish


def test_usage_is_turned_into_openai_shape_with_cached_tokens() -> None:
    stream = feed(
        [START, block(0, "text"), delta(0, "text_delta", text="a"), stop(0), *end(output=7)]
    )
    assert stream.usage == {
        "prompt_tokens": 28,
        "completion_tokens": 7,
        "prompt_tokens_details": {"cached_tokens": 8},
    }
    assert stream.token_counts() == (28, 7, False) and stream.cached_tokens() == 8


def test_without_output_tokens_usage_is_missing_and_counts_are_estimated() -> None:
    stream = feed(
        [
            START,
            block(0, "text"),
            delta(0, "text_delta", text="a"),
            ev("message_delta", delta={"stop_reason": "end_turn"}, usage={}),
            ev("message_stop"),
        ]
    )
    assert stream.token_counts() == (None, 1, True)
    assert stream.notes() == ("usage_missing",)


@pytest.mark.parametrize(
    ("error_type", "error_class"),
    [
        ("overloaded_error", ErrorClass.HTTP_5XX),
        ("api_error", ErrorClass.HTTP_5XX),
        ("rate_limit_error", ErrorClass.HTTP_429),
        ("invalid_request_error", ErrorClass.HTTP_4XX),
    ],
)
def test_error_events_are_classified(error_type: str, error_class: ErrorClass) -> None:
    error = ev("error", error={"type": error_type, "message": "no"})
    with pytest.raises(StreamError) as caught:
        feed([START, block(0, "text"), error])
    assert caught.value.error_class is error_class


def test_an_error_event_that_is_not_json_is_a_server_error() -> None:
    with pytest.raises(StreamError) as caught:
        feed([START, SSEEvent("error", b"Overloaded")])
    assert caught.value.error_class is ErrorClass.HTTP_5XX


def test_a_stream_cut_before_the_stop_reason_is_incomplete() -> None:
    stream = feed([START, block(0, "text"), delta(0, "text_delta", text="a")])
    error = stream.end_error()
    assert error is not None and error.error_class is ErrorClass.STREAM_INCOMPLETE
    assert "message_stop" in str(error)


def test_a_stop_reason_without_message_stop_is_complete_but_noted() -> None:
    stream = feed([START, block(0, "text"), delta(0, "text_delta", text="a"), *end()[:1]])
    assert stream.end_error() is None and stream.notes() == ("done_missing",)


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        ([block(0, "text")], "before message_start"),
        ([START, START], "second message_start"),
        ([START, delta(0, "text_delta", text="a")], "not open"),
        ([START, block(0, "text"), stop(0), delta(0, "text_delta", text="a")], "not open"),
        ([START, block(0, "text"), block(0, "text")], "started twice"),
        (
            [START, ev("content_block_start", index="0", content_block={"type": "text"})],
            "integer 'index'",
        ),
        ([START, block(0, "text"), delta(0, "text_delta", text=5)], "not a string"),
        (
            [START, block(0, "text"), ev("content_block_delta", index=0, delta="x")],
            "'delta' object",
        ),
        ([START, *end("halted")], "unknown stop_reason"),
        ([START, block(0, "text"), *end()[:1], delta(0, "text_delta", text="b")], "after the stop"),
        ([START, *end(), ev("ping")], "after message_stop"),
        ([START, SSEEvent("message", b'{"no": "type"}')], "string 'type'"),
        ([SSEEvent("message_start", b"[]")], "not a JSON object"),
    ],
)
def test_contract_breaks_are_the_contract_error(events: list[SSEEvent], reason: str) -> None:
    with pytest.raises(StreamError, match=reason) as caught:
        feed(events)
    assert caught.value.error_class is ErrorClass.CONTRACT


def test_invalid_json_is_malformed_and_unknown_events_are_skipped() -> None:
    with pytest.raises(StreamError) as caught:
        feed([START, SSEEvent("content_block_delta", b'{"type": "content_bl')])
    assert caught.value.error_class is ErrorClass.STREAM_MALFORMED
    stream = feed(
        [
            START,
            ev("future_event", x=1),
            block(0, "text"),
            delta(0, "citations_delta", citation={}),
            *end(),
        ]
    )
    assert stream.content_ns == [] and stream.finish_reason == "stop"


def test_parse_message_takes_the_text_blocks() -> None:
    body = {
        "type": "message",
        "content": [{"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "Hi"}],
        "stop_reason": "max_tokens",
        "usage": {"input_tokens": 3, "output_tokens": 2},
    }
    assert parse_message(json.dumps(body).encode()) == (
        "Hi",
        {"prompt_tokens": 3, "completion_tokens": 2},
        "length",
    )
    with pytest.raises(StreamError) as caught:
        parse_message(b'{"type": "error", "error": {"type": "overloaded_error"}}')
    assert caught.value.error_class is ErrorClass.HTTP_5XX
    with pytest.raises(StreamError) as caught:
        parse_message(b'{"type": "message"}')
    assert caught.value.error_class is ErrorClass.CONTRACT


def test_usage_without_any_input_count_leaves_the_prompt_unknown() -> None:
    """A message_start without usage, then message_delta's output count alone: the prompt
    is not zero tokens but unknown (the client then estimates it)."""
    bare = ev(
        "message_start", message={"id": "m", "type": "message", "role": "assistant", "content": []}
    )
    stream = feed([bare, block(0, "text"), delta(0, "text_delta", text="a"), stop(0), *end()])
    assert stream.token_counts() == (None, 3, False)


@pytest.mark.parametrize("reason", [["end_turn"], {}, 3])
def test_a_stop_reason_that_is_not_a_string_breaks_the_contract(reason: Any) -> None:
    bad = ev("message_delta", delta={"stop_reason": reason}, usage={"output_tokens": 1})
    with pytest.raises(StreamError) as caught:
        feed([START, bad])
    assert caught.value.error_class is ErrorClass.CONTRACT
    body = {
        "type": "message",
        "content": [{"type": "text", "text": "a"}],
        "stop_reason": reason,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    with pytest.raises(StreamError) as caught:
        parse_message(json.dumps(body).encode())
    assert caught.value.error_class is ErrorClass.CONTRACT
