"""The mock tokenizer: words and punctuation marks, plus a fixed cost per message."""

from __future__ import annotations

from typing import Any

import pytest

from loadprofile.mock.tokens import count_tokens, prompt_tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("   ", 0),
        ("hello", 1),
        ("Hello, world!", 4),
        ("it's 3.5 km", 7),
        ("snake_case stays_one", 2),
        ("naïve café", 2),
        ("a\n\tb", 2),
    ],
)
def test_count_tokens(text: str, expected: int) -> None:
    assert count_tokens(text) == expected


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([{"role": "user", "content": "Hello, world!"}], 4 + 4),
        (
            [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
            3 + 4 + 1 + 4,
        ),
        ([{"role": "user", "content": [{"type": "text", "text": "two words"}]}], 2 + 4),
        ([{"role": "assistant", "content": None}], 4),
    ],
)
def test_prompt_tokens(messages: list[dict[str, Any]], expected: int) -> None:
    assert prompt_tokens(messages) == expected
