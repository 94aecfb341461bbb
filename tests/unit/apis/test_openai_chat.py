"""Meaning of streamed chat chunks: TTFT rule, usage, end of stream, error classes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from loadprofile.client.apis.openai_chat import (
    ChatStream,
    StreamError,
    chat_request,
    parse_completion,
)
from loadprofile.client.apis.sse import SSEEvent
from loadprofile.client.apis.timing import stream_timings
from loadprofile.core.results import ErrorClass


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> SSEEvent:
    obj: dict[str, Any] = {"id": "c1", "object": "chat.completion.chunk", **extra}
    if delta is not None:
        obj["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
    return SSEEvent("message", json.dumps(obj).encode())


def feed(events: list[tuple[SSEEvent, int]]) -> ChatStream:
    stream = ChatStream()
    for event, t in events:
        stream.on_event(event, t)
    return stream


def test_role_only_and_empty_chunks_do_not_count_for_ttft() -> None:
    stream = feed(
        [
            (chunk({"role": "assistant", "content": ""}), 5),
            (chunk({"content": ""}), 6),
            (chunk({"content": "Hi"}), 40),
            (chunk({"content": " there"}), 55),
            (chunk({}, finish="stop"), 56),
            (SSEEvent("message", b"[DONE]"), 57),
        ]
    )
    assert stream.content_ns == [40, 55]
    assert stream.text == "Hi there"
    assert stream.finish_reason == "stop"
    assert stream.done and stream.end_error() is None


@pytest.mark.parametrize(
    "delta",
    [
        {"reasoning_content": "hmm"},
        {"reasoning": "hmm"},
        {"tool_calls": [{"index": 0, "function": {"name": "f"}}]},
    ],
)
def test_reasoning_and_tool_calls_count_as_generated_output(delta: dict[str, Any]) -> None:
    stream = feed([(chunk({"role": "assistant"}), 1), (chunk(delta), 9)])
    assert stream.content_ns == [9]
    assert stream.text == ""


def test_usage_only_last_chunk_gives_server_token_counts() -> None:
    usage = {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}
    stream = feed(
        [
            (chunk({"content": "a"}), 1),
            (chunk({"content": "b"}), 2),
            (SSEEvent("message", json.dumps({"choices": [], "usage": usage}).encode()), 3),
        ]
    )
    assert stream.token_counts() == (12, 2, False)


def test_without_usage_tokens_are_counted_and_marked_estimated() -> None:
    stream = feed(
        [(chunk({"content": "a"}), 1), (chunk({"content": "b"}), 2), (chunk({"content": "c"}), 3)]
    )
    assert stream.token_counts() == (None, 3, True)


@pytest.mark.parametrize(
    ("data", "error_class"),
    [
        (b"{not json", ErrorClass.STREAM_MALFORMED),
        (b"[1, 2]", ErrorClass.CONTRACT),
        (b'{"id": "x"}', ErrorClass.CONTRACT),
        (b'{"choices": [{"delta": "text"}]}', ErrorClass.CONTRACT),
        (b'{"choices": [{"delta": {"content": 5}}]}', ErrorClass.CONTRACT),
        (b'{"error": {"message": "overloaded", "code": 503}}', ErrorClass.HTTP_5XX),
        (b'{"error": {"message": "slow down", "code": 429}}', ErrorClass.HTTP_429),
        (b'{"error": {"message": "bad", "code": "400"}}', ErrorClass.HTTP_4XX),
        (b'{"error": "boom"}', ErrorClass.HTTP_5XX),
    ],
)
def test_broken_chunks_are_classified(data: bytes, error_class: ErrorClass) -> None:
    with pytest.raises(StreamError) as info:
        ChatStream().on_event(SSEEvent("message", data), 1)
    assert info.value.error_class is error_class


def test_stream_without_done_or_finish_reason_is_incomplete() -> None:
    stream = feed([(chunk({"content": "a"}), 1)])
    error = stream.end_error()
    assert error is not None and error.error_class is ErrorClass.STREAM_INCOMPLETE


def test_finish_reason_without_done_is_accepted() -> None:
    assert feed([(chunk({"content": "a"}, finish="length"), 1)]).end_error() is None


def test_chat_request_asks_for_usage_when_streaming() -> None:
    body = chat_request("m", [{"role": "user", "content": "x"}], 64)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 64
    assert "stream_options" not in chat_request("m", [], None, stream=False)


def test_parse_completion() -> None:
    body = json.dumps(
        {
            "choices": [
                {"message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1},
        }
    ).encode()
    assert parse_completion(body) == ("Hi", {"prompt_tokens": 1, "completion_tokens": 1}, "stop")
    with pytest.raises(StreamError):
        parse_completion(b'{"choices": []}')


@pytest.mark.parametrize(
    ("content", "end", "tokens", "expected"),
    [
        # sent at 0; tokens at 50, 60, 75 ms; end at 80 ms; 3 tokens
        ([50, 60, 75], 80, 3, (50.0, [10.0, 15.0], 15.0, 80.0)),
        # one token: no TPOT
        ([30], 31, 1, (30.0, [], None, 31.0)),
        # two chunks in one read: a gap of 0
        ([20, 20], 25, 2, (20.0, [0.0], 5.0, 25.0)),
        # usage says 5 tokens in 3 chunks: TPOT divides by tokens - 1
        ([10, 20, 30], 50, 5, (10.0, [10.0, 10.0], 10.0, 50.0)),
        # nothing generated
        ([], 40, 0, (None, [], None, 40.0)),
    ],
)
def test_stream_timings(
    content: list[int],
    end: int,
    tokens: int,
    expected: tuple[float | None, list[float], float | None, float],
) -> None:
    ms = 1_000_000
    t = stream_timings(0, [c * ms for c in content], end * ms, tokens)
    assert (t.ttft_ms, t.itl_ms, t.tpot_ms, t.e2e_ms) == expected


def test_usage_chunk_without_choices_is_accepted() -> None:
    usage = {"prompt_tokens": 4, "completion_tokens": 1}
    stream = feed(
        [
            (chunk({"content": "a"}), 1),
            (SSEEvent("message", json.dumps({"usage": usage}).encode()), 2),
        ]
    )
    assert stream.token_counts() == (4, 1, False)


def _raw(obj: dict[str, Any]) -> SSEEvent:
    return SSEEvent("message", json.dumps(obj).encode())


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        ([chunk({"content": "a"}), chunk({"content": "b"}, id="c2")], "id changed mid-stream"),
        ([_raw({"choices": [{"index": 0, "delta": {"content": "a"}}]})], "without a string 'id'"),
        ([_raw({"id": 7, "choices": []})], "without a string 'id'"),
        ([_raw({"id": "c1", "choices": [{"delta": {"content": "a"}}]})], "integer 'index'"),
        ([chunk({"content": "a"}, finish="eos")], "unknown finish_reason 'eos'"),
        ([chunk({"content": "a"}, finish="stop"), chunk({"content": "b"})], "after the choice's"),
        (
            [
                chunk({"content": "a"}, finish="stop"),
                SSEEvent("message", b"[DONE]"),
                chunk({"content": ""}),
            ],
            r"data after \[DONE\]",
        ),
    ],
)
def test_contract_breaks_are_the_contract_error(events: list[SSEEvent], reason: str) -> None:
    with pytest.raises(StreamError, match=reason) as caught:
        feed([(event, i) for i, event in enumerate(events)])
    assert caught.value.error_class is ErrorClass.CONTRACT


def test_a_finished_choice_may_still_be_followed_by_usage_and_other_choices() -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 2}
    two = _raw(
        {
            "id": "c1",
            "choices": [
                {"index": 0, "delta": {}, "finish_reason": "stop"},
                {"index": 1, "delta": {"content": "b"}, "finish_reason": None},
            ],
        }
    )
    stream = feed(
        [
            (chunk({"content": "a"}), 1),
            (two, 2),
            (_raw({"id": "c1", "choices": [], "usage": usage}), 3),
            (SSEEvent("message", b"[DONE]"), 4),
        ]
    )
    assert stream.finish_reason == "stop" and stream.notes() == ()


def test_tolerable_deviations_are_noted_not_failed() -> None:
    asked = ChatStream(expect_usage=True)
    for i, event in enumerate([chunk({"content": "a"}), chunk({}, finish="length")]):
        asked.on_event(event, i)
    assert asked.end_error() is None
    assert asked.notes() == ("done_missing", "usage_missing")
    not_asked = feed(
        [(chunk({"content": "a"}, finish="stop"), 1), (SSEEvent("message", b"[DONE]"), 2)]
    )
    assert not_asked.notes() == ()


def test_llama_cpp_timings_on_the_last_chunk_are_kept() -> None:
    """llama.cpp sends its own account of the request on its last chunk (with usage)."""
    timings = {
        "cache_n": 32,
        "prompt_n": 4,
        "prompt_ms": 219.4,
        "predicted_n": 14,
        "predicted_ms": 225.7,
        "predicted_per_token_ms": 17.4,
    }
    usage = {"prompt_tokens": 36, "completion_tokens": 14}
    stream = feed(
        [(chunk({"content": "a"}), 1), (chunk(None, choices=[], usage=usage, timings=timings), 2)]
    )
    assert stream.server_ms("prompt_ms") == 219.4 and stream.server_ms("predicted_ms") == 225.7
    assert stream.cached_tokens() == 32  # usage has no details: timings.cache_n says it
    usage["prompt_tokens_details"] = {"cached_tokens": 16}
    stream = feed([(chunk(None, choices=[], usage=usage, timings=timings), 2)])
    assert stream.cached_tokens() == 16  # usage's own figure wins
    plain = feed([(chunk({"content": "a"}), 1)])
    assert plain.server_ms("prompt_ms") is None and plain.cached_tokens() is None
    odd = feed([(chunk({"content": "a"}, timings={"prompt_ms": "fast", "predicted_ms": -1}), 1)])
    assert odd.server_ms("prompt_ms") is None and odd.server_ms("predicted_ms") is None


@pytest.mark.parametrize("reason", [{}, ["stop"], 1])
def test_a_finish_reason_that_is_not_a_string_breaks_the_contract(reason: Any) -> None:
    with pytest.raises(StreamError) as caught:
        feed([(chunk({"content": "a"}, finish=reason), 1)])
    assert caught.value.error_class is ErrorClass.CONTRACT
