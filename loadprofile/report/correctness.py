"""The report's correctness section: what came back, per model, beside how fast.

Reads summary.json's "correctness" and contract_examples.jsonl (the run folder only).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadprofile.report.tables import (
    Row,
    Table,
    _cells,
    fmt_distance,
    fmt_int,
    fmt_rate,
    fmt_ratio,
    fmt_share,
)
from loadprofile.rundir import writer as rundir

#: Tolerable deviations (apis.openai_chat NOTE_*), as the table names them.
NOTE_LABELS = {
    "usage_missing": "no usage chunk (asked for)",
    "done_missing": "no [DONE]",
    "not_streamed": "reply not streamed",
}
EXAMPLES_SHOWN = 5


@dataclass(frozen=True)
class Example:
    kind: str
    model: str
    error: str
    content: str
    where: str


def correctness_table(models: list[str], summary: Mapping[str, Any]) -> Table | None:
    """Contract violations, JSON validity and noted deviations per model (None: no data)."""
    found = summary.get("correctness")
    if not isinstance(found, Mapping) or not any(m in found for m in models):
        return None
    entries: list[Mapping[str, Any]] = [
        entry if isinstance(entry := found.get(m), Mapping) else {} for m in models
    ]

    def values(key: str) -> list[Any]:
        return [e.get(key) for e in entries]

    rows = [
        Row("responses", _cells(values("responses"), fmt_int, None)),
        Row("contract violations", _cells(values("contract_violations"), fmt_int, None)),
        Row("violation rate", _cells(values("contract_violation_rate"), fmt_share, min)),
    ]
    if any(e.get("json_checked") for e in entries):
        rows.append(
            Row("JSON valid (--content-schema)", _cells(values("json_valid_rate"), fmt_share, max))
        )
    groundings = [g if isinstance(g := e.get("grounding"), Mapping) else {} for e in entries]
    if any(groundings):
        rows.append(
            Row(
                "names found nowhere (--entities, a signal)",
                _cells([g.get("flagged_rate") for g in groundings], fmt_share, min),
            )
        )
    rows += _token_rows(entries, models)
    rows += _drift_rows(entries)
    notes = sorted({str(k) for e in entries for k in (e.get("notes") or {})})
    for note in notes:
        counts = [(e.get("notes") or {}).get(note, 0) for e in entries]
        rows.append(Row(NOTE_LABELS.get(note, note), _cells(counts, fmt_int, None), "sub"))
    return Table(
        "correctness",
        "Response contract",
        models,
        rows,
        "A violation (the contract error class) is a reply a strict parser rejects: "
        "chunk schema, ids, finish_reason, end of stream, or the content schema. "
        "Indented: deviations a tolerant parser survives, counted, not failed. "
        "Tokens: as the servers reported them (usage), for the replies that had it. "
        "Names found nowhere: replies naming product-like things in neither the "
        "--entities catalogue nor the prompt; a signal to read, not a verdict.",
    )


_TOKEN_ROWS = (
    ("prompt tokens per request", "prompt_tokens_per_request"),
    ("output tokens per request", "output_tokens_per_request"),
    ("prompt tokens / local estimate", "prompt_tokens_per_estimate"),
    ("output tokens / local estimate", "output_tokens_per_estimate"),
    ("prompt tokens per char vs {c}", "prompt_tokens_vs_canonical"),
    ("output tokens per char vs {c}", "output_tokens_vs_canonical"),
)


def _token_rows(entries: list[Mapping[str, Any]], models: list[str]) -> list[Row]:
    """Tokenization: what the servers reported, against the local estimate (characters / 4)
    and against the run's first model (same prompts: >1 = more tokens for the same text)."""
    tokens: list[Mapping[str, Any]] = [
        t if isinstance(t := e.get("tokens"), Mapping) else {} for e in entries
    ]
    if not any(t.get("usage_requests") for t in tokens):
        return []
    rows = []
    for label, key in _TOKEN_ROWS:
        values = [t.get(key) for t in tokens]
        if all(v is None for v in values):
            continue
        fmt = fmt_rate if key.endswith("per_request") else fmt_ratio
        rows.append(Row(label.format(c=models[0]), _cells(values, fmt, None)))
    return rows


_DRIFT_ROWS = (
    ("sampled replies vs baseline", "compared", fmt_int, None),
    ("exact match vs baseline", "exact_match_rate", fmt_share, max),
    ("edit distance vs baseline (mean)", "edit_distance_mean", fmt_distance, min),
    ("length vs baseline (median)", "length_ratio_median", None, None),
)


def _drift_rows(entries: list[Mapping[str, Any]]) -> list[Row]:
    """--sample-outputs with --baseline: replies under load against a calm snapshot."""
    drifts: list[Mapping[str, Any]] = [
        d if isinstance(d := e.get("drift"), Mapping) else {} for e in entries
    ]
    if not any(drifts):
        return []
    rows = []
    for label, key, fmt, pick in _DRIFT_ROWS:
        rows.append(Row(label, _cells([d.get(key) for d in drifts], fmt or fmt_ratio, pick)))
    return rows


def contract_examples(run_dir: Path, limit: int = EXAMPLES_SHOWN) -> list[Example]:
    """The first offending replies per model, from contract_examples.jsonl."""
    path = run_dir / rundir.CONTRACT_EXAMPLES
    if not path.is_file():
        return []
    shown: dict[str, int] = {}
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue  # a line torn by a crash
        if not isinstance(item, dict):
            continue
        model = str(item.get("model"))
        slot = f"{model}/{item.get('kind')}"
        if shown.get(slot, 0) >= limit:
            continue
        shown[slot] = shown.get(slot, 0) + 1
        where = f"{item.get('conversation_id')} turn {item.get('turn')}, {item.get('request_id')}"
        out.append(
            Example(
                str(item.get("kind") or "contract"),
                model,
                str(item.get("error") or ""),
                str(item.get("content") or "")[:600],
                where,
            )
        )
    return out
