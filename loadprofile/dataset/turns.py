"""A recorded conversation as it is replayed: its turns, and the messages each turn sends.

`build_messages` rebuilds the exact prompt of a turn. Replaying *recorded* assistant replies
as history is the default so that every model receives byte-identical prompts; live history
is the caller's opt-in. The files these come from: conversations.py (loading) and
formats.py (the record formats).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ASSISTANT", "SYSTEM", "USER", "Conversation", "Turn", "build_messages"]

SYSTEM, USER, ASSISTANT = "system", "user", "assistant"


@dataclass(frozen=True)
class Turn:
    """One request of a conversation: what the user sends, and what was recorded in reply."""

    user: str
    # None only for a conversation's last turn, when the recording stops at the user message.
    assistant: str | None
    # Output budget from the recording; None lets the load profile choose.
    max_tokens: int | None = None
    # Fields merged into this turn's request body (JSON text; "" for none): the record's
    # and the user message's "extra_body".
    extra_body: str = ""


@dataclass(frozen=True)
class Conversation:
    """A recorded conversation, replayed turn by turn by one simulated user."""

    id: str
    system: str | None
    turns: tuple[Turn, ...]


def every_turn(conversations: Sequence[Conversation]) -> list[tuple[Conversation, int]]:
    """(conversation, 0-based turn) of every turn, in dataset order: the prompts a replay
    sends (the snapshot, the cache warm-up and the -n checks count them the same way)."""
    return [(c, i) for c in conversations for i in range(len(c.turns))]


def build_messages(
    conv: Conversation, turn_index: int, live_replies: Sequence[str] | None = None
) -> list[dict[str, str]]:
    """OpenAI chat messages that send turn `turn_index` (0-based) with its history.

    History replies are the recorded ones, so every model sees the same bytes; pass
    `live_replies` (the model's own replies to the earlier turns, in order) for live history.
    """
    if not 0 <= turn_index < len(conv.turns):
        raise IndexError(
            f"conversation {conv.id} has {len(conv.turns)} turns, no turn index {turn_index}"
        )
    if live_replies is not None and len(live_replies) < turn_index:
        raise ValueError(
            f"conversation {conv.id}: turn index {turn_index} needs {turn_index} live replies, "
            f"got {len(live_replies)}"
        )
    messages: list[dict[str, str]] = []
    if conv.system is not None:
        messages.append({"role": SYSTEM, "content": conv.system})
    for i, turn in enumerate(conv.turns[:turn_index]):
        reply = live_replies[i] if live_replies is not None else turn.assistant
        if reply is None:
            raise ValueError(
                f"conversation {conv.id}: turn {i + 1} has no recorded reply to use as history"
            )
        messages.append({"role": USER, "content": turn.user})
        messages.append({"role": ASSISTANT, "content": reply})
    messages.append({"role": USER, "content": conv.turns[turn_index].user})
    return messages
