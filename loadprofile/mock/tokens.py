"""The mock's own tokenizer: words and punctuation marks, nothing model-specific.

Prompt length drives prefill time in the profiles, so it has to be counted the same way
every time; tests and the benchmark can recompute it from the request alone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

_TOKEN_RE = re.compile(r"\w+|[^\w\s]")

#: Chat-template overhead per message (role markers), as real chat templates add.
PER_MESSAGE_TOKENS = 4


@functools.lru_cache(maxsize=4096)
def count_tokens(text: str) -> int:
    """Number of words and punctuation marks in `text` (cached: a replayed dataset sends
    the same messages again and again)."""
    return len(_TOKEN_RE.findall(text))


def message_text(content: Any) -> str:
    """The text of one message's `content`: a string, or OpenAI content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        )
    return ""


def prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """Prompt size: tokens of every message's content plus a fixed overhead per message."""
    return sum(count_tokens(message_text(m.get("content"))) + PER_MESSAGE_TOKENS for m in messages)
