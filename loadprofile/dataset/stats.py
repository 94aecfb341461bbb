"""The shape of a dataset, for run.json and the report (pure).

``sha256`` fingerprints the content, so two runs can be checked for having sent the same
prompts.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from typing import Any

from loadprofile.dataset.turns import Conversation


def dataset_stats(convs: Sequence[Conversation]) -> dict[str, Any]:
    """Shape of a dataset for run.json and the report; `sha256` tells whether two runs sent
    the same prompts."""
    turn_counts = [len(c.turns) for c in convs]
    histogram: dict[str, int] = {}
    for n in sorted(turn_counts):
        histogram[str(n)] = histogram.get(str(n), 0) + 1
    replies = [len(t.assistant) for c in convs for t in c.turns if t.assistant is not None]
    return {
        "conversations": len(convs),
        "turns_total": sum(turn_counts),  # requests in one pass over the dataset
        "with_system": sum(c.system is not None for c in convs),
        "turns": {
            "min": min(turn_counts, default=0),
            "mean": round(sum(turn_counts) / len(convs), 2) if convs else 0.0,
            "max": max(turn_counts, default=0),
        },
        "turns_histogram": histogram,
        "user_chars": _summary([len(t.user) for c in convs for t in c.turns]),
        "prompt_chars": _summary([n for c in convs for n in _prompt_sizes(c)]),
        "reply_chars": _summary(replies),
        "sha256": _fingerprint(convs),
    }


def _prompt_sizes(conv: Conversation) -> Iterator[int]:
    """Characters sent for each turn with recorded history (what the server must prefill)."""
    sent = len(conv.system) if conv.system is not None else 0
    for turn in conv.turns:
        yield sent + len(turn.user)
        sent += len(turn.user) + len(turn.assistant or "")


def _summary(values: list[int]) -> dict[str, float]:
    if not values:
        return {"min": 0, "p50": 0, "p90": 0, "max": 0, "mean": 0.0}
    ordered = sorted(values)

    def rank(q: float) -> int:  # nearest-rank percentile: always a value that occurred
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return {
        "min": ordered[0],
        "p50": rank(0.5),
        "p90": rank(0.9),
        "max": ordered[-1],
        "mean": round(sum(ordered) / len(ordered), 1),
    }


def _fingerprint(convs: Sequence[Conversation]) -> str:
    canonical = [
        [c.id, c.system, [[t.user, t.assistant, t.max_tokens] for t in c.turns]] for c in convs
    ]
    blob = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
