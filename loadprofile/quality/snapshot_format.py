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
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from loadprofile.core.results import RequestResult

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


def output_of(result: RequestResult, prompt_sha256: str = "") -> Output:
    """A measured request as a snapshot line (a snapshot's answer, or a reply sampled under
    load). Only the server's token counts: without usage, the client's estimate would pass
    for the server's."""
    return Output(
        key=prompt_key(result.conversation_id, result.turn),
        conversation_id=result.conversation_id,
        turn=result.turn,
        prompt_sha256=prompt_sha256,
        prompt_chars=result.prompt_chars,
        output=result.content,
        finish_reason=result.finish_reason,
        prompt_tokens=None if result.tokens_estimated else result.prompt_tokens,
        output_tokens=result.output_tokens,
        tokens_estimated=result.tokens_estimated,
        error_class=str(result.error_class) if result.error_class else None,
        error=result.error,
        ttft_ms=result.ttft_ms,
        e2e_ms=result.e2e_ms,
    )


def output_from_json(raw: dict[str, Any]) -> Output:
    """An Output from a dict holding its fields (and perhaps others, ignored)."""
    return Output(**{f.name: raw[f.name] for f in fields(Output) if f.name in raw})


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
