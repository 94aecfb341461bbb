"""Chunk bytes: every event is `data: {json}\\n\\n` in OpenAI's chunk shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from loadprofile.mock.wire import DONE, ChunkEncoder, completion_body, error_body

ENC = ChunkEncoder("chatcmpl-abc", "mock-x", 1700000000)


def event(raw: bytes) -> Any:
    assert raw.startswith(b"data: ") and raw.endswith(b"\n\n")
    return json.loads(raw[6:-2])


def test_role_chunk() -> None:
    chunk = event(ENC.role())
    assert chunk == {
        "id": "chatcmpl-abc",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "mock-x",
        "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
        ],
    }


@pytest.mark.parametrize("text", ["Hello", " world", ".", ' "quoted" \\ é'])
def test_content_chunk_carries_the_text(text: str) -> None:
    choice = event(ENC.content(text))["choices"][0]
    assert choice == {"index": 0, "delta": {"content": text}, "finish_reason": None}


@pytest.mark.parametrize("reason", ["stop", "length"])
def test_finish_chunk(reason: str) -> None:
    assert event(ENC.finish(reason))["choices"] == [
        {"index": 0, "delta": {}, "finish_reason": reason}
    ]


def test_usage_chunk() -> None:
    chunk = event(ENC.usage(11, 20))
    assert chunk["choices"] == [] and chunk["id"] == "chatcmpl-abc"
    assert chunk["usage"] == {"prompt_tokens": 11, "completion_tokens": 20, "total_tokens": 31}


def test_malformed_is_an_event_but_not_json() -> None:
    raw = ENC.malformed()
    assert raw.startswith(b"data: {") and raw.endswith(b"\n\n")
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw[6:-2])


def test_done_and_bodies() -> None:
    assert DONE == b"data: [DONE]\n\n"
    body = completion_body("c1", "m", 5, "Hi.", "stop", 3, 2)
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hi."}
    assert body["usage"]["total_tokens"] == 5
    assert error_body("nope", "invalid_request_error", None) == {
        "error": {"message": "nope", "type": "invalid_request_error", "code": None}
    }
