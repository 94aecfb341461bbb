"""The report's correctness section: what came back, per model, beside how fast.

Reads summary.json's "correctness" and contract_examples.jsonl (the run folder only).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadprofile.contract.summary import Correctness, Drift, Summary, Tokens, given
from loadprofile.report.tables import (
    EMPTY,
    Pick,
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

Fmt = Callable[[Any], str]

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


def correctness_table(models: list[str], summary: Summary) -> Table | None:
    """Contract violations, JSON validity and noted deviations per model (None: no data)."""
    found = summary.correctness
    if not any(m in found for m in models):
        return None
    entries = [found.get(m) for m in models]

    def values(get: Callable[[Correctness], object]) -> list[object]:
        return [get(e) if e is not None else None for e in entries]

    known = [e for e in entries if e is not None]
    rows = [
        Row("responses", _cells(values(lambda e: e.responses), fmt_int, None)),
        Row("contract violations", _cells(values(lambda e: e.contract_violations), fmt_int, None)),
        Row(
            "violation rate",
            _cells(values(lambda e: e.contract_violation_rate), fmt_share, min),
        ),
    ]
    if any(e.json_checked for e in known):
        rows.append(
            Row(
                "JSON valid (--content-schema)",
                _cells(values(lambda e: e.json_valid_rate), fmt_share, max),
            )
        )
    groundings = [e.grounding if e is not None else None for e in entries]
    if any(groundings):
        rows.append(
            Row(
                "names found nowhere (--entities, a signal)",
                _cells([g.flagged_rate if g else None for g in groundings], fmt_share, min),
            )
        )
    rows += _token_rows([e.tokens if e is not None else None for e in entries], models)
    rows += _drift_rows([given(e.drift) if e is not None else None for e in entries])
    notes = sorted({k for e in known for k in e.notes})
    for note in notes:
        counts = [e.notes.get(note, 0) if e is not None else 0 for e in entries]
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


_TOKEN_ROWS: tuple[tuple[str, Callable[[Tokens], float | None], bool], ...] = (
    ("prompt tokens per request", lambda t: t.prompt_tokens_per_request, True),
    ("output tokens per request", lambda t: t.output_tokens_per_request, True),
    ("prompt tokens / local estimate", lambda t: t.prompt_tokens_per_estimate, False),
    ("output tokens / local estimate", lambda t: t.output_tokens_per_estimate, False),
    ("prompt tokens per char vs {c}", lambda t: t.prompt_tokens_vs_canonical, False),
    ("output tokens per char vs {c}", lambda t: t.output_tokens_vs_canonical, False),
)


def _token_rows(tokens: list[Tokens | None], models: list[str]) -> list[Row]:
    """Tokenization: what the servers reported, against the local estimate (characters / 4)
    and against the run's first model (same prompts: >1 = more tokens for the same text)."""
    if not any(t.usage_requests for t in tokens if t is not None):
        return []
    rows = []
    for label, get, per_request in _TOKEN_ROWS:
        values = [get(t) if t is not None else None for t in tokens]
        if all(v is None for v in values):
            continue
        fmt = fmt_rate if per_request else fmt_ratio
        rows.append(Row(label.format(c=models[0]), _cells(values, fmt, None)))
    return rows


_DRIFT_ROWS: tuple[tuple[str, Callable[[Drift], float | int | None], Fmt, Pick | None], ...] = (
    ("sampled replies vs baseline", lambda d: d.compared, fmt_int, None),
    ("exact match vs baseline", lambda d: d.exact_match_rate, fmt_share, max),
    ("edit distance vs baseline (mean)", lambda d: d.edit_distance_mean, fmt_distance, min),
    ("length vs baseline (median)", lambda d: d.length_ratio_median, fmt_ratio, None),
)


def snapshot_name(baseline: str) -> str:
    """A baseline snapshot as the table names it: its folder's name (summary.json keeps the
    path it was given; the folder itself may be on another machine)."""
    return Path(baseline).name or baseline or "baseline"


def _drift_rows(drifts: list[Drift | None]) -> list[Row]:
    """--sample-outputs with --baseline: replies under load against a calm snapshot, named,
    so that the token ratio says what it is a ratio to."""
    if not any(drifts):
        return []
    names = [snapshot_name(d.baseline) if d is not None else None for d in drifts]
    shown = {n for n in names if n is not None}
    against = shown.pop() if len(shown) == 1 else "baseline"
    rows = [Row("baseline snapshot", _cells(names, lambda n: n or EMPTY, None))]
    rows += [
        Row(label, _cells([get(d) if d is not None else None for d in drifts], fmt, pick))
        for label, get, fmt, pick in _DRIFT_ROWS
    ]
    tokens = [d.output_tokens_ratio if d is not None else None for d in drifts]
    if any(t is not None for t in tokens):
        rows.append(Row(f"output tokens vs {against}", _cells(tokens, fmt_ratio, None)))
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
