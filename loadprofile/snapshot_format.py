"""A snapshot folder: one model's outputs for a dataset's prompts, for drift checks (pure).

Layout::

    snapshot.json   what was asked of whom: model, host, dataset fingerprint, parameters
    outputs.jsonl   one line per prompt, appended as answers come (a run interrupted and
                    resumed adds the missing ones; a line torn by a crash is ignored)

A prompt is one turn of one conversation with its recorded history (byte-identical for
every model); its key is ``<conversation id>#<turn>``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SNAPSHOT = "snapshot.json"
OUTPUTS = "outputs.jsonl"
SCHEMA = 1


@dataclass(frozen=True)
class Output:
    """One prompt's answer (or failure) in a snapshot."""

    key: str
    conversation_id: str
    turn: int  # 1-based
    prompt_sha256: str
    prompt_chars: int
    output: str
    finish_reason: str | None
    prompt_tokens: int | None
    output_tokens: int
    tokens_estimated: bool
    error_class: str | None = None
    error: str = ""
    ttft_ms: float | None = None
    e2e_ms: float | None = None

    @property
    def ok(self) -> bool:
        return self.error_class is None

    def to_line(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False) + "\n"


def prompt_key(conversation_id: str, turn: int) -> str:
    return f"{conversation_id}#{turn}"


def read_outputs(folder: Path) -> dict[str, Output]:
    """Every complete line of outputs.jsonl by key (a later line for a key wins)."""
    path = folder / OUTPUTS
    if not path.is_file():
        return {}
    found: dict[str, Output] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            raw = json.loads(line)
            item = Output(**raw)
        except (ValueError, TypeError):
            continue  # torn by a crash, or not ours
        found[item.key] = item
    return found


def read_meta(folder: Path) -> dict[str, Any]:
    path = folder / SNAPSHOT
    if not path.is_file():
        raise ValueError(f"{folder}: not a snapshot folder (no {SNAPSHOT})")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("kind") != "loadprofile-snapshot":
        raise ValueError(f"{path}: not a loadprofile snapshot")
    return meta
