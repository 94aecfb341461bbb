"""Request validation: what the mock accepts, and the status it answers otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from loadprofile.mock.chat_request import RequestError, parse_chat_request

MODELS = {"m"}
OK = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_minimal_request_defaults() -> None:
    req = parse_chat_request(OK, MODELS)
    assert (req.model, req.stream, req.include_usage, req.max_tokens) == ("m", False, False, None)


def test_full_request() -> None:
    req = parse_chat_request(
        {
            **OK,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": 5,
            "temperature": 0.2,
            "seed": 1,
        },
        MODELS,
    )
    assert (req.stream, req.include_usage, req.max_tokens) == (True, True, 5)


def test_max_completion_tokens_wins() -> None:
    req = parse_chat_request({**OK, "max_tokens": 5, "max_completion_tokens": 9}, MODELS)
    assert req.max_tokens == 9


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ([], 400),
        ({"messages": OK["messages"]}, 400),
        ({**OK, "model": "other"}, 404),
        ({**OK, "messages": []}, 400),
        ({**OK, "messages": ["hi"]}, 400),
        ({**OK, "messages": [{"content": "no role"}]}, 400),
        ({**OK, "messages": [{"role": "user", "content": 3}]}, 400),
        ({**OK, "stream": "yes"}, 400),
        ({**OK, "stream_options": True}, 400),
        ({**OK, "max_tokens": 0}, 400),
        ({**OK, "max_tokens": True}, 400),
        ({**OK, "max_completion_tokens": 2.5}, 400),
    ],
)
def test_rejected(body: Any, status: int) -> None:
    with pytest.raises(RequestError) as info:
        parse_chat_request(body, MODELS)
    assert info.value.status == status
