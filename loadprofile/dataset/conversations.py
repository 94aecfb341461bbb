"""Recorded multi-turn conversations: loading, validation and the messages each turn sends.

Owns the dataset formats (OpenAI chat JSONL; ShareGPT as JSONL or as one JSON array), their
normalisation into `Conversation`s, and `build_messages`, which rebuilds the exact prompt of a
turn. Replaying *recorded* assistant replies as history is the default so that every model
receives byte-identical prompts; live history is the caller's opt-in.

Normalisation, the same for every format (a file may mix formats record by record):
system messages are allowed only at the start (several are joined); assistant messages
before the first user message are dropped; consecutive messages of one role are joined with
a blank line; a record ending with a user message gets a last turn without a recorded reply.
Text is otherwise kept byte for byte (no stripping), since prompts must be reproducible.

A record or a user message may carry ``"extra_body": {...}`` next to ``max_tokens``: fields
merged into that conversation's (or turn's) request bodies (extra_body.py), e.g.
``{"temperature": 0}``.

Part of the pure core: stdlib only (and two small modules of ours), because the Locust glue
imports it in every worker.

Errors form one small hierarchy::

    ValueError
     └── DatasetError      bad dataset input, one line: "<path>:<line>: <reason>"
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple

from loadprofile.config.extra_body import check_extra_body, merge_layers
from loadprofile.errors import ConfigError

__all__ = [
    "Conversation",
    "DatasetError",
    "Turn",
    "build_messages",
    "default_dataset_path",
    "load_conversations",
]

_SYSTEM, _USER, _ASSISTANT = "system", "user", "assistant"
# "developer" is OpenAI's newer name for the system role.
_OPENAI_ROLES = {"system": _SYSTEM, "developer": _SYSTEM, "user": _USER, "assistant": _ASSISTANT}
# ShareGPT dumps in the wild name the assistant after whichever product was recorded.
_SHAREGPT_ROLES = {"system": _SYSTEM, "human": _USER, "user": _USER} | {
    name: _ASSISTANT for name in ("gpt", "assistant", "chatgpt", "bing", "bard", "model")
}
_JOIN = "\n\n"
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"


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


class DatasetError(ValueError):
    """Bad dataset input; str() is one line: '<path>:<line>: <reason>' (no line if not applicable).

    For a JSON-array file the position is a record index (1-based), shown as
    '<path>: record <n>: <reason>' so that nobody looks for it on a line of that number.
    """

    def __init__(
        self,
        path: str | Path,
        line: int | None,
        reason: str,
        *,
        unit: Literal["line", "record"] = "line",
    ) -> None:
        self.path = str(path)
        self.line = line
        self.reason = " ".join(reason.split())  # the CLI prints it on one stderr line
        self.unit = unit
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.reason}"
        if self.unit == "record":
            return f"{self.path}: record {self.line}: {self.reason}"
        return f"{self.path}:{self.line}: {self.reason}"


class _BadRecord(Exception):
    """A record-level problem; the loader adds the path and the position."""


class _Message(NamedTuple):
    role: str
    text: str
    max_tokens: int | None
    extra_body: str = ""


def load_conversations(path: str | Path, limit: int | None = None) -> list[Conversation]:
    """Load and validate every conversation (or the first `limit`) of a JSONL or JSON file.

    Bad records raise rather than being skipped: a silently shrunken dataset would make two
    runs look comparable when they are not.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    p = Path(path)
    convs: list[Conversation] = []
    for conv in _iter_conversations(p):
        convs.append(conv)
        if limit is not None and len(convs) >= limit:
            break
    if not convs:
        raise DatasetError(p, None, "no conversations")
    return convs


def default_dataset_path() -> Path:
    """The sample conversations shipped in the package, so a first run needs no data."""
    return Path(str(resources.files("loadprofile") / "data" / "sample_conversations.jsonl"))


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
        messages.append({"role": _SYSTEM, "content": conv.system})
    for i, turn in enumerate(conv.turns[:turn_index]):
        reply = live_replies[i] if live_replies is not None else turn.assistant
        if reply is None:
            raise ValueError(
                f"conversation {conv.id}: turn {i + 1} has no recorded reply to use as history"
            )
        messages.append({"role": _USER, "content": turn.user})
        messages.append({"role": _ASSISTANT, "content": reply})
    messages.append({"role": _USER, "content": conv.turns[turn_index].user})
    return messages


# --- reading files ------------------------------------------------------------------------


def _iter_conversations(p: Path) -> Iterator[Conversation]:
    """Lazily, so that `limit` on a large file stops reading early (JSONL only)."""
    with _open(p) as f:
        if _starts_with_array(f):
            yield from _array_records(p, f)
        else:
            yield from _jsonl_records(p, f)


def _open(p: Path) -> IO[bytes]:
    if p.is_dir():
        raise DatasetError(p, None, "is a directory, expected a .jsonl or .json file")
    try:
        return p.open("rb")
    except FileNotFoundError:
        raise DatasetError(p, None, "no such file") from None
    except OSError as e:
        raise DatasetError(p, None, f"cannot read: {e.strerror or e}") from None


def _starts_with_array(f: IO[bytes]) -> bool:
    """A ShareGPT-style JSON array starts with '['; anything else is read as JSONL."""
    first = True
    while chunk := f.read(65536):
        if first:
            chunk, first = chunk.removeprefix(_BOM), False
        stripped = chunk.lstrip(_WHITESPACE)
        if stripped:
            f.seek(0)
            return stripped.startswith(b"[")
    f.seek(0)
    return False


def _jsonl_records(p: Path, f: IO[bytes]) -> Iterator[Conversation]:
    # Iterating a binary file splits on b"\n" only; str.splitlines() would also split on
    # U+2028 and friends, which JSON allows unescaped inside strings.
    for lineno, raw in enumerate(f, 1):
        if lineno == 1:
            raw = raw.removeprefix(_BOM)
        try:
            text = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as e:
            raise DatasetError(p, lineno, f"not valid UTF-8 (byte {e.start + 1})") from None
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise DatasetError(p, lineno, _json_reason(e, text)) from None
        try:
            conv = _parse_record(obj, f"{p.stem}-{lineno}")
        except _BadRecord as e:
            raise DatasetError(p, lineno, str(e)) from None
        yield conv


def _array_records(p: Path, f: IO[bytes]) -> Iterator[Conversation]:
    data = f.read().removeprefix(_BOM)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise DatasetError(p, line, "not valid UTF-8") from None
    try:
        records = json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(p, e.lineno, _json_reason(e, text)) from None
    for n, obj in enumerate(records, 1):
        try:
            conv = _parse_record(obj, f"{p.stem}-{n}")
        except _BadRecord as e:
            raise DatasetError(p, n, str(e), unit="record") from None
        yield conv


def _json_reason(e: json.JSONDecodeError, text: str) -> str:
    reason = f"invalid JSON: {e.msg} (column {e.colno})"
    if e.pos >= len(text.rstrip()) and text.lstrip().startswith("{"):
        # A pretty-printed object spread over several lines is the usual cause.
        reason += "; JSONL needs one whole JSON object per line"
    return reason


# --- records ------------------------------------------------------------------------------


def _parse_record(obj: object, default_id: str) -> Conversation:
    if not isinstance(obj, dict):
        raise _BadRecord(f"record is a JSON {_json_type(obj)}, expected an object")
    budget = _max_tokens(obj.get("max_tokens", obj.get("max_completion_tokens")), "max_tokens")
    extra = _extra_body(obj.get("extra_body"), "extra_body")
    if "messages" in obj:
        messages = _openai_messages(obj["messages"])
    elif "conversations" in obj:
        messages = _sharegpt_messages(obj["conversations"])
    else:
        raise _BadRecord('record has neither "messages" nor "conversations"')
    system, turns = _to_turns(messages, budget, extra)
    return Conversation(id=_record_id(obj, default_id), system=system, turns=turns)


def _record_id(obj: dict[str, Any], default_id: str) -> str:
    value = obj.get("id")
    if value is None:
        return default_id
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _BadRecord(f'"id" must be a string or an integer, got {_json_type(value)}')
    return str(value)


def _max_tokens(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _BadRecord(f"{what} must be a positive integer, got {json.dumps(value)}")
    return value


def _extra_body(value: object, what: str) -> str:
    try:
        return check_extra_body(value, what)
    except ConfigError as exc:
        raise _BadRecord(str(exc)) from None


def _openai_messages(value: object) -> list[_Message]:
    if not isinstance(value, list):
        raise _BadRecord(f'"messages" must be a list, got {_json_type(value)}')
    out = []
    for i, m in enumerate(value, 1):
        if not isinstance(m, dict):
            raise _BadRecord(f"message {i} is a JSON {_json_type(m)}, expected an object")
        role = _role(m.get("role"), _OPENAI_ROLES, f"message {i}")
        if "content" not in m:
            raise _BadRecord(f'message {i} has no "content"')
        text = _content_text(m["content"], f"message {i}")
        budget = _max_tokens(m.get("max_tokens"), f"message {i} max_tokens")
        extra = _extra_body(m.get("extra_body"), f"message {i} extra_body")
        out.append(_Message(role, text, budget, extra))
    return out


def _sharegpt_messages(value: object) -> list[_Message]:
    if not isinstance(value, list):
        raise _BadRecord(f'"conversations" must be a list, got {_json_type(value)}')
    out = []
    for i, m in enumerate(value, 1):
        if not isinstance(m, dict):
            raise _BadRecord(f"message {i} is a JSON {_json_type(m)}, expected an object")
        role = _role(m.get("from"), _SHAREGPT_ROLES, f"message {i}")
        text = m.get("value")
        if "value" not in m:
            raise _BadRecord(f'message {i} has no "value"')
        if not isinstance(text, str):
            raise _BadRecord(f'message {i}: "value" is {_a(text)}, expected a string')
        out.append(_Message(role, text, None))
    return out


def _role(value: object, roles: dict[str, str], where: str) -> str:
    if isinstance(value, str) and value.lower() in roles:
        return roles[value.lower()]
    known = ", ".join(sorted(roles))
    raise _BadRecord(f"{where}: unknown role {json.dumps(value)} (expected one of {known})")


def _content_text(content: object, where: str) -> str:
    """A string, or OpenAI content parts of type "text" joined by newlines (as vLLM does)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _BadRecord(
            f"{where}: content is {_a(content)}, expected a string or a list of text parts"
        )
    texts = []
    for j, part in enumerate(content, 1):
        if not isinstance(part, dict):
            raise _BadRecord(f"{where}: content part {j} is a JSON {_json_type(part)}")
        if part.get("type") != "text":
            # Images or audio cannot be replayed as text: dropping them would change the prompt.
            kind = json.dumps(part.get("type"))
            raise _BadRecord(f"{where}: content part {j} has type {kind}, only text is supported")
        if not isinstance(part.get("text"), str):
            raise _BadRecord(f'{where}: content part {j} has no string "text"')
        texts.append(part["text"])
    if not texts:
        raise _BadRecord(f"{where}: content has no text parts")
    return "\n".join(texts)


def _to_turns(
    messages: list[_Message], budget: int | None, extra: str = ""
) -> tuple[str | None, tuple[Turn, ...]]:
    """Normalise to (system, user/assistant pairs) by the rules in the module docstring."""
    n_system = 0
    while n_system < len(messages) and messages[n_system].role == _SYSTEM:
        n_system += 1
    for i, m in enumerate(messages[n_system:], n_system + 1):
        if m.role == _SYSTEM:
            raise _BadRecord(f"message {i}: a system message is only allowed first")
    system = _JOIN.join(m.text for m in messages[:n_system]) if n_system else None
    rest = messages[n_system:]
    # A recording that opens with the model (a greeting) has no request to replay for it.
    while rest and rest[0].role == _ASSISTANT:
        rest = rest[1:]
    if not rest:
        raise _BadRecord("conversation has no user turn")
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
