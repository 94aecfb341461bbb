"""``--unique-prefix``: open every conversation's prompt with a nonce (pure).

Servers with a prefix cache (vLLM's automatic prefix caching, llama.cpp's slots, hosted
APIs) skip the prefill of a prompt whose start they have seen, so a replayed dataset, or
one system prompt shared by every conversation, makes TTFT look better than a cold prompt
would. A nonce at the very start makes each conversation's prompt new to the server: no
other conversation (of this run, an earlier run, or another target) shares its start. The
turns of one conversation keep the same nonce, so the reuse of a conversation's own history
from turn to turn, which real chat traffic gets, stays and is measured. In an open-loop run by
requests (``--rate`` with ``--rate-unit requests``) every arrival is a request of its own, with
a nonce of its own: there, no prompt shares a prefix with another.
"""

from __future__ import annotations

import hashlib
from typing import Any


def prefix_nonce(conversation_key: str) -> str:
    """A short text, unique per conversation instance (its key is unique across runs)."""
    digest = hashlib.blake2b(conversation_key.encode("utf-8"), digest_size=6).hexdigest()
    return f"[session {digest}] "


def with_unique_prefix(messages: list[dict[str, Any]], nonce: str) -> list[dict[str, Any]]:
    """``messages`` with ``nonce`` put before the first message's text (the system prompt
    when there is one): a copy, the dataset's messages are shared."""
    if not messages:
        return messages
    first = dict(messages[0])
    content = first.get("content")
    if isinstance(content, list):  # OpenAI content parts: a text part in front
        first["content"] = [{"type": "text", "text": nonce}, *content]
    else:
        first["content"] = nonce + (content or "")
    return [first, *messages[1:]]
