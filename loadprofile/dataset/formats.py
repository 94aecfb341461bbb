"""The dataset's record formats, OpenAI chat and ShareGPT, normalised into `Conversation`s.

Normalisation, the same for every format (a file may mix formats record by record):
system messages are allowed only at the start (several are joined); assistant messages
before the first user message are dropped; consecutive messages of one role are joined with
a blank line; a record ending with a user message gets a last turn without a recorded reply.
Text is otherwise kept byte for byte (no stripping), since prompts must be reproducible.

A record or a user message may carry ``"extra_body": {...}`` next to ``max_tokens``: fields
merged into that conversation's (or turn's) request bodies (extra_body.py), e.g.
``{"temperature": 0}``.

One record at a time: conversations.py reads the files and adds the path and position to a
`BadRecord`.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from loadprofile.config.extra_body import check_extra_body, merge_layers
from loadprofile.dataset.turns import ASSISTANT, SYSTEM, USER, Conversation, Turn
from loadprofile.errors import ConfigError

__all__ = ["BadRecord", "parse_record"]

# "developer" is OpenAI's newer name for the system role.
_OPENAI_ROLES = {"system": SYSTEM, "developer": SYSTEM, "user": USER, "assistant": ASSISTANT}
# ShareGPT dumps in the wild name the assistant after whichever product was recorded.
_SHAREGPT_ROLES = {"system": SYSTEM, "human": USER, "user": USER} | {
    name: ASSISTANT for name in ("gpt", "assistant", "chatgpt", "bing", "bard", "model")
}
_JOIN = "\n\n"


class BadRecord(Exception):
    """A record-level problem; the loader adds the path and the position."""


class _Message(NamedTuple):
    role: str
    text: str
    max_tokens: int | None
    extra_body: str = ""


def parse_record(obj: object, default_id: str) -> Conversation:
    """One decoded record as a `Conversation` (`default_id` if it has none); `BadRecord` if not."""
    if not isinstance(obj, dict):
        raise BadRecord(f"record is a JSON {_json_type(obj)}, expected an object")
    budget = _max_tokens(obj.get("max_tokens", obj.get("max_completion_tokens")), "max_tokens")
    extra = _extra_body(obj.get("extra_body"), "extra_body")
    if "messages" in obj:
        messages = _openai_messages(obj["messages"])
    elif "conversations" in obj:
        messages = _sharegpt_messages(obj["conversations"])
    else:
        raise BadRecord('record has neither "messages" nor "conversations"')
    system, turns = _to_turns(messages, budget, extra)
    return Conversation(id=_record_id(obj, default_id), system=system, turns=turns)


def _record_id(obj: dict[str, Any], default_id: str) -> str:
    value = obj.get("id")
    if value is None:
        return default_id
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadRecord(f'"id" must be a string or an integer, got {_json_type(value)}')
    return str(value)


def _max_tokens(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRecord(f"{what} must be a positive integer, got {json.dumps(value)}")
    return value


def _extra_body(value: object, what: str) -> str:
    try:
        return check_extra_body(value, what)
    except ConfigError as exc:
        raise BadRecord(str(exc)) from None


def _openai_messages(value: object) -> list[_Message]:
    if not isinstance(value, list):
        raise BadRecord(f'"messages" must be a list, got {_json_type(value)}')
    out = []
    for i, m in enumerate(value, 1):
        if not isinstance(m, dict):
            raise BadRecord(f"message {i} is a JSON {_json_type(m)}, expected an object")
        role = _role(m.get("role"), _OPENAI_ROLES, f"message {i}")
        if "content" not in m:
            raise BadRecord(f'message {i} has no "content"')
        text = _content_text(m["content"], f"message {i}")
        budget = _max_tokens(m.get("max_tokens"), f"message {i} max_tokens")
        extra = _extra_body(m.get("extra_body"), f"message {i} extra_body")
        out.append(_Message(role, text, budget, extra))
    return out


def _sharegpt_messages(value: object) -> list[_Message]:
    if not isinstance(value, list):
        raise BadRecord(f'"conversations" must be a list, got {_json_type(value)}')
    out = []
    for i, m in enumerate(value, 1):
        if not isinstance(m, dict):
            raise BadRecord(f"message {i} is a JSON {_json_type(m)}, expected an object")
        role = _role(m.get("from"), _SHAREGPT_ROLES, f"message {i}")
        text = m.get("value")
        if "value" not in m:
            raise BadRecord(f'message {i} has no "value"')
        if not isinstance(text, str):
            raise BadRecord(f'message {i}: "value" is {_a(text)}, expected a string')
        out.append(_Message(role, text, None))
    return out


def _role(value: object, roles: dict[str, str], where: str) -> str:
    if isinstance(value, str) and value.lower() in roles:
        return roles[value.lower()]
    known = ", ".join(sorted(roles))
    raise BadRecord(f"{where}: unknown role {json.dumps(value)} (expected one of {known})")


def _content_text(content: object, where: str) -> str:
    """A string, or OpenAI content parts of type "text" joined by newlines (as vLLM does)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise BadRecord(
            f"{where}: content is {_a(content)}, expected a string or a list of text parts"
        )
    texts = []
    for j, part in enumerate(content, 1):
        if not isinstance(part, dict):
            raise BadRecord(f"{where}: content part {j} is a JSON {_json_type(part)}")
        if part.get("type") != "text":
            # Images or audio cannot be replayed as text: dropping them would change the prompt.
            kind = json.dumps(part.get("type"))
            raise BadRecord(f"{where}: content part {j} has type {kind}, only text is supported")
        if not isinstance(part.get("text"), str):
            raise BadRecord(f'{where}: content part {j} has no string "text"')
        texts.append(part["text"])
    if not texts:
        raise BadRecord(f"{where}: content has no text parts")
    return "\n".join(texts)


def _to_turns(
    messages: list[_Message], budget: int | None, extra: str = ""
) -> tuple[str | None, tuple[Turn, ...]]:
    """Normalise to (system, user/assistant pairs) by the rules in the module docstring."""
    n_system = 0
    while n_system < len(messages) and messages[n_system].role == SYSTEM:
        n_system += 1
    for i, m in enumerate(messages[n_system:], n_system + 1):
        if m.role == SYSTEM:
            raise BadRecord(f"message {i}: a system message is only allowed first")
    system = _JOIN.join(m.text for m in messages[:n_system]) if n_system else None
    rest = messages[n_system:]
    # A recording that opens with the model (a greeting) has no request to replay for it.
    while rest and rest[0].role == ASSISTANT:
        rest = rest[1:]
    if not rest:
        raise BadRecord("conversation has no user turn")
    merged = _merge_runs(rest)
    turns = []
    for k in range(0, len(merged), 2):
        user = merged[k]
        reply = merged[k + 1].text if k + 1 < len(merged) else None
        own = user.max_tokens
        turns.append(
            Turn(
                user.text,
                reply,
                own if own is not None else budget,
                merge_layers(extra, user.extra_body),
            )
        )
    return system, tuple(turns)


def _merge_runs(messages: list[_Message]) -> list[_Message]:
    """Join consecutive messages of one role, so user and assistant strictly alternate."""
    merged: list[_Message] = []
    for m in messages:
        if merged and merged[-1].role == m.role:
            last = merged[-1]
            budget = m.max_tokens if m.max_tokens is not None else last.max_tokens
            merged[-1] = _Message(
                m.role,
                last.text + _JOIN + m.text,
                budget,
                merge_layers(last.extra_body, m.extra_body),
            )
        else:
            merged.append(m)
    return merged


def _a(value: object) -> str:
    """'an array', 'a string', 'null': the JSON type of `value` for an error message."""
    kind = _json_type(value)
    return kind if kind == "null" else ("an " if kind[0] in "aeiou" else "a ") + kind


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    if type(value) in names:
        return names[type(value)]
    return "number" if isinstance(value, int | float) else type(value).__name__
