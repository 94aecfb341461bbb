"""Output drift between two snapshots of the same prompts, prompt by prompt (pure).

A model swap, a new quantisation or a server upgrade can keep latency flat and still change
what comes back: other words, longer replies, refusals, broken JSON, or a tokenizer that
bills 40 % more tokens for the same text. ``compare`` measures each of these on the prompts
both snapshots answered; ``DriftResult.to_json`` is ``diff.json``.

Only prompts present and answered (ok) in both snapshots are compared; the others are
counted (``only_in_*``, ``failed``) and left out, so a flaky run cannot pass for drift.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein

from loadprofile.client.apis.openai_chat import estimate_tokens
from loadprofile.quality.content_check import ContentCheck
from loadprofile.quality.snapshot_format import Output

SCHEMA = 1
TEXT_CAP = 4000  # characters of each output kept in diff.json and diffed word by word
WORST = 20

#: Common refusal openings, case-insensitive, at the start of the reply (after quotes or
#: markdown) or of its first sentence after a lead-in of a word or three ("Unfortunately,
#: I can't ...", "Hello there! I'm sorry, but ..."). Deliberately small: a heuristic that
#: flags replies for a human to read, not a classifier.
_A = "['\u2019]"  # straight or typographic apostrophe
_LEAD_IN = r"(?:\w+[.!,]|\w+(?:\s+\w+){1,2}[!,])\s+"
_OPENINGS = (
    rf"i\s+can(?:not|{_A}t|\s+not)\b",
    rf"i(?:{_A}m|\s+am)\s+(?:unable|not\s+able)\s+to\b",
    rf"i(?:{_A}m|\s+am)\s+sorry,?\s+but\b",
    r"sorry,?\s+but\s+i\b",
    r"as\s+an\s+ai\b",
    rf"i\s+won{_A}t\b",
    r"i\s+will\s+not\b",
    r"i\s+must\s+decline\b",
    r"i\s+apologi[sz]e,?\s+but\b",
)
REFUSAL = re.compile(
    rf"^[\s\"'*_>#`\u201c-]*(?:{_LEAD_IN})?(?:{'|'.join(_OPENINGS)})", re.IGNORECASE
)
_TOKEN = re.compile(r"\s*\S+\s*|\s+")  # a word with the whitespace after it (kept for display)

#: (tag, canonical text, candidate text); tag is equal, delete, insert or replace.
DiffOp = tuple[str, str, str]


def is_refusal(text: str) -> bool:
    return REFUSAL.match(text) is not None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def word_diff(canonical: str, candidate: str) -> list[DiffOp]:
    """Word-level diff (difflib on whitespace-split words); spans keep their whitespace so
    the page shows line breaks as the model wrote them."""
    a, b = _TOKEN.findall(canonical), _TOKEN.findall(candidate)
    matcher = difflib.SequenceMatcher(
        None, [w.strip() for w in a], [w.strip() for w in b], autojunk=False
    )
    return [
        (tag, "".join(a[i1:i2]), "".join(b[j1:j2])) for tag, i1, i2, j1, j2 in matcher.get_opcodes()
    ]


@dataclass(frozen=True)
class PromptDrift:
    """One prompt answered by both snapshots."""

    key: str
    exact: bool
    edit_distance: float  # normalised Levenshtein: 0 same, 1 nothing in common
    length_ratio: float | None  # candidate chars / canonical chars
    output_tokens_ratio: float | None
    prompt_tokens_ratio: float | None
    empty: tuple[bool, bool]  # (canonical, candidate), likewise below
    refusal: tuple[bool, bool]
    json_valid: tuple[bool, bool] | None  # None without a content check


@dataclass(frozen=True)
class Worst:
    """A prompt among the most changed, with its texts (capped) and their word diff."""

    key: str
    edit_distance: float
    length_ratio: float | None
    canonical: str
    candidate: str
    truncated: bool
    ops: list[DiffOp]

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "edit_distance": round(self.edit_distance, 4),
            "length_ratio": _round(self.length_ratio),
            "canonical": self.canonical,
            "candidate": self.candidate,
            "truncated": self.truncated,
        }


@dataclass(frozen=True)
class Side:
    """What one snapshot holds; model, host and path are filled in by whoever read it."""

    prompts: int
    answered: int
    model: str = ""
    host: str = ""
    path: str = ""
    #: Server-reported token sums over the compared prompts and the local estimate for the
    #: same text (only prompts where the server reported a count); None: it reported none.
    output_tokens: int | None = None
    output_estimate: int = 0
    prompt_tokens: int | None = None
    prompt_estimate: int = 0
    tokens_estimated: int = 0  # compared prompts whose output_tokens are local estimates

    def per_estimate(self, kind: str) -> float | None:
        """Server tokens per locally estimated token ("output" or "prompt")."""
        if kind == "output":
            return ratio(self.output_tokens, self.output_estimate)
        return ratio(self.prompt_tokens, self.prompt_estimate)

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("model", "host", "path", "prompts", "answered")}


@dataclass(frozen=True)
class DriftResult:
    canonical: Side
    candidate: Side
    rows: list[PromptDrift]
    only_in_canonical: int
    only_in_candidate: int
    failed: tuple[int, int]  # among prompts in both: (canonical failed, candidate failed)
    output_tokens_total: tuple[int, int]  # over compared prompts (canonical, candidate)
    prompt_tokens_total: tuple[int, int] | None  # over compared prompts both reported
    worst: list[Worst] = field(default_factory=list)

    @property
    def compared(self) -> int:
        return len(self.rows)

    @property
    def deterministic(self) -> bool:
        """Every compared output byte-equal (and at least one compared)."""
        return bool(self.rows) and all(r.exact for r in self.rows)

    def to_json(self) -> dict[str, Any]:
        """diff.json: rates are 0-1 fractions, ratios candidate / canonical; null when there
        was nothing to measure."""
        rows, n = self.rows, len(self.rows)
        can, cand = self.canonical, self.candidate
        tokens = [r.output_tokens_ratio for r in rows]
        prompt_ratios = [r.prompt_tokens_ratio for r in rows]
        json_rows = [r.json_valid for r in rows if r.json_valid is not None]
        return {
            "schema": SCHEMA,
            "canonical": can.to_json(),
            "candidate": cand.to_json(),
            "compared": n,
            "only_in_canonical": self.only_in_canonical,
            "only_in_candidate": self.only_in_candidate,
            "failed": {"canonical": self.failed[0], "candidate": self.failed[1]},
            "exact_match_rate": _round(sum(r.exact for r in rows) / n if n else None),
            "edit_distance": _stats([r.edit_distance for r in rows], ("mean", "p50", "p90", "max")),
            "length_ratio": _stats([r.length_ratio for r in rows], ("median", "p10", "p90")),
            "output_tokens_ratio": {
                **_stats(tokens, ("median", "mean", "p10", "p90")),
                "total": _round(ratio(self.output_tokens_total[1], self.output_tokens_total[0])),
            },
            "prompt_tokens_ratio": None
            if self.prompt_tokens_total is None
            else {
                **_stats(prompt_ratios, ("median",)),
                "total": _round(ratio(self.prompt_tokens_total[1], self.prompt_tokens_total[0])),
            },
            "local_estimate": {
                f"{name}_{kind}_per_estimate": _round(side.per_estimate(kind))
                for kind in ("output", "prompt")
                for name, side in (("canonical", can), ("candidate", cand))
            },
            "tokens_estimated": {
                "canonical": can.tokens_estimated,
                "candidate": cand.tokens_estimated,
            },
            "empty_rate": _pair_rates([r.empty for r in rows]),
            "refusal_rate": _pair_rates([r.refusal for r in rows]),
            "json_valid_rate": _pair_rates(json_rows) if json_rows else None,
            "deterministic": self.deterministic,
            "worst": [w.to_json() for w in self.worst],
        }


def compare(
    canonical: dict[str, Output],
    candidate: dict[str, Output],
    check: ContentCheck | None,
    *,
    worst: int = WORST,
) -> DriftResult:
    """Compare the prompts both snapshots answered; keep the ``worst`` most changed."""
    shared = sorted(canonical.keys() & candidate.keys())
    pairs = [(canonical[k], candidate[k]) for k in shared if canonical[k].ok and candidate[k].ok]
    rows = [_drift(a, b, check) for a, b in pairs]
    ranked = sorted(zip(rows, pairs, strict=True), key=lambda rp: (-rp[0].edit_distance, rp[0].key))
    return DriftResult(
        canonical=_side(canonical, [a for a, _ in pairs]),
        candidate=_side(candidate, [b for _, b in pairs]),
        rows=rows,
        only_in_canonical=len(canonical.keys() - candidate.keys()),
        only_in_candidate=len(candidate.keys() - canonical.keys()),
        failed=(sum(not canonical[k].ok for k in shared), sum(not candidate[k].ok for k in shared)),
        output_tokens_total=(
            sum(a.output_tokens for a, _ in pairs),
            sum(b.output_tokens for _, b in pairs),
        ),
        prompt_tokens_total=_prompt_totals(pairs),
        worst=[_worst(row, a, b) for row, (a, b) in ranked[: max(0, worst)]],
    )


def _drift(a: Output, b: Output, check: ContentCheck | None) -> PromptDrift:
    exact = a.output == b.output
    both_prompt = a.prompt_tokens is not None and b.prompt_tokens is not None
    return PromptDrift(
        key=a.key,
        exact=exact,
        edit_distance=0.0 if exact else float(Levenshtein.normalized_distance(a.output, b.output)),
        length_ratio=ratio(len(b.output), len(a.output)),
        output_tokens_ratio=ratio(b.output_tokens, a.output_tokens),
        prompt_tokens_ratio=ratio(b.prompt_tokens, a.prompt_tokens) if both_prompt else None,
        empty=(not a.output.strip(), not b.output.strip()),
        refusal=(is_refusal(a.output), is_refusal(b.output)),
        json_valid=None
        if check is None
        else (check.violation(a.output) is None, check.violation(b.output) is None),
    )


def _side(outputs: dict[str, Output], compared: Sequence[Output]) -> Side:
    """Counts and token sums for one snapshot (sums over its compared prompts)."""
    reported = [o for o in compared if not o.tokens_estimated]
    prompted = [o for o in compared if o.prompt_tokens is not None]
    return Side(
        prompts=len(outputs),
        answered=sum(o.ok for o in outputs.values()),
        output_tokens=sum(o.output_tokens for o in reported) if reported else None,
        output_estimate=sum(estimate_tokens(len(o.output)) for o in reported),
        prompt_tokens=sum(o.prompt_tokens or 0 for o in prompted) if prompted else None,
        prompt_estimate=sum(estimate_tokens(o.prompt_chars) for o in prompted),
        tokens_estimated=len(compared) - len(reported),
    )


def _prompt_totals(pairs: Sequence[tuple[Output, Output]]) -> tuple[int, int] | None:
    both = [
        (a.prompt_tokens, b.prompt_tokens)
        for a, b in pairs
        if a.prompt_tokens is not None and b.prompt_tokens is not None
    ]
    if not both:
        return None
    return sum(a or 0 for a, _ in both), sum(b or 0 for _, b in both)


def _worst(row: PromptDrift, a: Output, b: Output) -> Worst:
    canonical, candidate = a.output[:TEXT_CAP], b.output[:TEXT_CAP]
    return Worst(
        key=row.key,
        edit_distance=row.edit_distance,
        length_ratio=row.length_ratio,
        canonical=canonical,
        candidate=candidate,
        truncated=len(a.output) > TEXT_CAP or len(b.output) > TEXT_CAP,
        ops=word_diff(canonical, candidate),
    )


def _present(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _stats(values: Sequence[float | None], names: Sequence[str]) -> dict[str, float | None]:
    """The named statistics (mean, max, median or pN) of the values present; None for each
    when there are none."""
    data = np.asarray(_present(values), dtype=float)
    out: dict[str, float | None] = {}
    for name in names:
        if data.size == 0:
            out[name] = None
        elif name == "mean":
            out[name] = _round(data.mean())
        elif name == "max":
            out[name] = _round(data.max())
        else:
            out[name] = _round(np.percentile(data, 50 if name == "median" else int(name[1:])))
    return out


def _pair_rates(flags: Sequence[tuple[bool, bool]]) -> dict[str, float | None]:
    n = len(flags)
    return {
        "canonical": _round(sum(f[0] for f in flags) / n) if n else None,
        "candidate": _round(sum(f[1] for f in flags) / n) if n else None,
    }
