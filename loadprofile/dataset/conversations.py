"""Recorded multi-turn conversations: loading and validating dataset files.

Reads OpenAI chat JSONL and ShareGPT (as JSONL or as one JSON array) into `Conversation`s:
the records themselves and their normalisation are formats.py's, the `Conversation` and the
messages each turn sends are turns.py's (re-exported here for the callers that import them
from this module).

Part of the pure core: stdlib only (and a few small modules of ours), because the Locust glue
imports it in every worker.

Errors form one small hierarchy::

    ValueError
     └── DatasetError      bad dataset input, one line: "<path>:<line>: <reason>"
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import IO, Literal

from loadprofile.dataset.formats import BadRecord, parse_record
from loadprofile.dataset.turns import Conversation, Turn, build_messages

__all__ = [
    "Conversation",
    "DatasetError",
    "Turn",
    "build_messages",
    "default_dataset_path",
    "load_conversations",
]

_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"


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
            conv = parse_record(obj, f"{p.stem}-{lineno}")
        except BadRecord as e:
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
            conv = parse_record(obj, f"{p.stem}-{n}")
        except BadRecord as e:
            raise DatasetError(p, n, str(e), unit="record") from None
        yield conv


def _json_reason(e: json.JSONDecodeError, text: str) -> str:
    reason = f"invalid JSON: {e.msg} (column {e.colno})"
    if e.pos >= len(text.rstrip()) and text.lstrip().startswith("{"):
        # A pretty-printed object spread over several lines is the usual cause.
        reason += "; JSONL needs one whole JSON object per line"
    return reason
