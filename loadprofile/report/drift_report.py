"""``loadprofile diff``: two snapshots of the same prompts, compared into diff.json and a page.

The page follows the run report's conventions (the same Jinja2 environment with autoescape,
the same CSS, figures drawn without pyplot and embedded as data: URIs) so it opens offline
as one file. Outputs are untrusted model text: every piece of it reaches the page escaped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from loadprofile.quality.content_check import ContentCheck
from loadprofile.quality.drift import SCHEMA, TEXT_CAP, WORST, DriftResult, Side, compare, ratio
from loadprofile.quality.snapshot_format import read_meta, read_outputs
from loadprofile.report.plots import PALETTE, Chart, new_figure, to_data_uri
from loadprofile.report.render import environment
from loadprofile.report.tables import EMPTY, fmt_distance, fmt_int, fmt_ratio, fmt_share

DIFF_JSON = "diff.json"
DIFF_HTML = "diff.html"
DIFF_TEMPLATE = "diff.html"
RATIO_EDGE = 8.0  # ratio histograms span 1/8x .. 8x; beyond is drawn at the edge
TOKEN_ALARM = 0.10  # a token ratio this far from 1.0 is called out on the page


def run_diff(
    canonical_dir: Path,
    candidate_dir: Path,
    out_dir: Path,
    *,
    check: ContentCheck | None = None,
    worst: int = WORST,
) -> Path:
    """Write ``out_dir/diff.json`` and ``out_dir/diff.html``; return the page's path.

    ValueError (one line) when a folder is not a snapshot or the two snapshots were taken of
    different datasets (a prompt-by-prompt diff needs the same prompts)."""
    folders = (Path(canonical_dir), Path(candidate_dir))
    metas = [read_meta(f) for f in folders]
    for folder, meta in zip(folders, metas, strict=True):
        if isinstance(meta.get("schema"), int) and meta["schema"] > SCHEMA:
            raise ValueError(
                f"{folder}: snapshot schema {meta['schema']} is newer than this "
                f"loadprofile reads ({SCHEMA})"
            )
    shas = [str((m.get("dataset") or {}).get("sha256") or "") for m in metas]
    if shas[0] != shas[1]:
        raise ValueError(
            f"{folders[0]} and {folders[1]} are snapshots of different datasets "
            f"(sha256 {shas[0][:12] or 'none'}… vs {shas[1][:12] or 'none'}…): "
            "a diff needs both taken from the same prompts"
        )
    result = compare(read_outputs(folders[0]), read_outputs(folders[1]), check, worst=worst)
    result = replace(
        result,
        canonical=_named(result.canonical, metas[0], folders[0]),
        candidate=_named(result.candidate, metas[1], folders[1]),
    )
    data = result.to_json()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write(out_dir / DIFF_JSON, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    html = environment().get_template(DIFF_TEMPLATE).render(**build_context(result, data, metas))
    return _write(out_dir / DIFF_HTML, html)


def _named(side: Side, meta: dict[str, Any], folder: Path) -> Side:
    return replace(
        side, model=str(meta.get("model") or ""), host=str(meta.get("host") or ""), path=str(folder)
    )


def _write(path: Path, text: str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a file
    return path


def build_context(
    result: DriftResult, data: dict[str, Any], metas: list[dict[str, Any]]
) -> dict[str, Any]:
    """Everything the template shows, already in words and formatted numbers."""
    can, cand = result.canonical, result.candidate
    ref, who = side_name(can, cand), side_name(cand, can)
    dist, out_tok = data["edit_distance"], data["output_tokens_ratio"]
    prompt_tok = data["prompt_tokens_ratio"] or {}
    agreement = [
        ("prompts compared", fmt_int(result.compared)),
        ("exact match", fmt_share(data["exact_match_rate"])),
        ("edit distance mean / p50", f"{fmt_distance(dist['mean'])} / {fmt_distance(dist['p50'])}"),
        ("edit distance p90 / max", f"{fmt_distance(dist['p90'])} / {fmt_distance(dist['max'])}"),
        ("length ratio median (p10 – p90)", _spread(data["length_ratio"])),
        (f"output tokens vs {ref}, total", fmt_ratio(out_tok["total"])),
        (f"output tokens vs {ref}, median (p10 – p90)", _spread(out_tok)),
        (
            f"prompt tokens vs {ref}, total / median",
            f"{fmt_ratio(prompt_tok.get('total'))} / {fmt_ratio(prompt_tok.get('median'))}",
        ),
    ]
    per_side = [
        (
            "answered / in snapshot",
            f"{can.answered:,} / {can.prompts:,}",
            f"{cand.answered:,} / {cand.prompts:,}",
        ),
        (
            "only in this snapshot",
            fmt_int(result.only_in_canonical),
            fmt_int(result.only_in_candidate),
        ),
        ("failed (prompts in both)", fmt_int(result.failed[0]), fmt_int(result.failed[1])),
        ("empty replies", *_pair(data["empty_rate"])),
        ("refusals", *_pair(data["refusal_rate"])),
        ("valid JSON (content schema)", *_pair(data["json_valid_rate"])),
    ]
    worst = [
        {
            **w.to_json(),
            "ops": w.ops,
            "distance": fmt_distance(w.edit_distance),
            "length": fmt_ratio(w.length_ratio),
        }
        for w in result.worst
    ]
    return {
        "title": f"{can.model or '?'} → {cand.model or '?'}",
        "sides": [_side_rows(s, m) for s, m in ((can, metas[0]), (cand, metas[1]))],
        "dataset": _dataset_rows(metas[0]),
        "param_note": _param_note(metas),
        "nothing": _nothing_reason(result),
        "verdict": verdict(result, data),
        "agreement": agreement,
        "per_side": per_side,
        "tokens": _token_rows(can, cand),
        "tokens_ratio_head": f"{who} / {ref}",
        "token_sentences": token_sentences(result, data),
        "token_alarm": _far(out_tok["total"]) or _far(_per_estimate_ratio(can, cand)),
        "charts": charts(result),
        "worst": worst,
        "text_cap": TEXT_CAP,
    }


def _spread(stats: dict[str, Any]) -> str:
    """median (p10 – p90) of a ratio."""
    return (
        f"{fmt_ratio(stats.get('median'))} "
        f"({fmt_ratio(stats.get('p10'))} – {fmt_ratio(stats.get('p90'))})"
    )


def _pair(rates: dict[str, Any] | None) -> tuple[str, str]:
    rates = rates or {}
    return fmt_share(rates.get("canonical")), fmt_share(rates.get("candidate"))


def _side_rows(side: Side, meta: dict[str, Any]) -> list[tuple[str, str]]:
    params = meta.get("params") or {}
    return [
        ("model", side.model or EMPTY),
        ("host", side.host or EMPTY),
        ("folder", side.path),
        ("taken", str(meta.get("created_at") or EMPTY)),
        ("parameters", ", ".join(f"{k} {v}" for k, v in params.items()) or EMPTY),
    ]


def _dataset_rows(meta: dict[str, Any]) -> list[tuple[str, str]]:
    ds = meta.get("dataset") or {}
    return [
        ("path", str(ds.get("path") or EMPTY)),
        ("sha256", str(ds.get("sha256") or EMPTY)),
        ("prompts", fmt_int(ds.get("prompts"))),
    ]


def _param_note(metas: list[dict[str, Any]]) -> str:
    """Different sampling parameters explain differences that are not the model's."""
    a, b = (m.get("params") or {} for m in metas)
    differ = [
        f"{k} {a.get(k)} vs {b.get(k)}"
        for k in sorted(a.keys() | b.keys())
        if k != "concurrency" and a.get(k) != b.get(k)
    ]
    return (
        f"The snapshots were taken with different parameters: {'; '.join(differ)}."
        if differ
        else ""
    )


def _nothing_reason(result: DriftResult) -> str:
    if result.compared:
        return ""
    if not result.canonical.prompts or not result.candidate.prompts:
        return "Nothing to compare: at least one snapshot holds no outputs yet."
    return "Nothing to compare: no prompt was answered in both snapshots."


def verdict(result: DriftResult, data: dict[str, Any]) -> str:
    """The determinism verdict in words."""
    n = result.compared
    if not n:
        return "No verdict: no prompt was compared."
    same = result.canonical.model == result.candidate.model
    if result.deterministic:
        return f"Deterministic: all {n:,} compared outputs are byte-identical" + (
            " (the model reproduced itself exactly)." if same else "."
        )
    differ = n - round((data["exact_match_rate"] or 0) * n)
    head = "Not deterministic" if same else "Drifted"
    what = "the same model gave other words" if same else "the candidate answers differently"
    return (
        f"{head}: {differ:,} of {n:,} outputs differ ({what}); mean edit "
        f"distance {fmt_distance(data['edit_distance']['mean'])}."
    )


def _token_rows(can: Side, cand: Side) -> list[tuple[str, str, str, str]]:
    rows = []
    for kind, server, estimate in (
        ("output", "output_tokens", "output_estimate"),
        ("prompt", "prompt_tokens", "prompt_estimate"),
    ):
        a, b = getattr(can, server), getattr(cand, server)
        rows.append((f"{kind} tokens (server)", fmt_int(a), fmt_int(b), fmt_ratio(ratio(b, a))))
        ea, eb = getattr(can, estimate), getattr(cand, estimate)
        rows.append(
            (f"{kind} tokens (local estimate)", fmt_int(ea), fmt_int(eb), fmt_ratio(ratio(eb, ea)))
        )
        pa, pb = can.per_estimate(kind), cand.per_estimate(kind)
        rows.append(
            (
                f"{kind}: server per estimate",
                fmt_distance(pa),
                fmt_distance(pb),
                fmt_ratio(ratio(pb, pa)),
            )
        )
    return rows


def side_name(side: Side, other: Side) -> str:
    """How the page names a snapshot beside the other: its model, with its folder when both
    are of one model (a determinism check), its folder when it names no model."""
    folder = Path(side.path).name if side.path else ""
    if not side.model:
        return folder or "?"
    if side.model == other.model and folder:
        return f"{side.model} ({folder})"
    return side.model


def _per_estimate_ratio(can: Side, cand: Side) -> float | None:
    return ratio(cand.per_estimate("output"), can.per_estimate("output"))


def _far(value: float | None) -> bool:
    return value is not None and abs(value - 1.0) >= TOKEN_ALARM


def token_sentences(result: DriftResult, data: dict[str, Any]) -> list[str]:
    """What the token table means, in a sentence or two."""
    total = data["output_tokens_ratio"]["total"]
    ref = side_name(result.canonical, result.candidate)
    who = side_name(result.candidate, result.canonical)
    out = []
    if total is not None:
        out.append(
            f"For the same {result.compared:,} prompts the candidate, {who}, used "
            f"{total:.2f}× the output tokens of the canonical, {ref}."
        )
    per = _per_estimate_ratio(result.canonical, result.candidate)
    if per is not None and _far(per):
        out.append(
            f"Per character of text its server counts {per:.2f}× the tokens {ref}'s does: "
            "the tokenizers differ, so a price per token does not compare like for like."
        )
    elif per is not None:
        out.append("Both servers count about as many tokens per character of text.")
    estimated = result.canonical.tokens_estimated + result.candidate.tokens_estimated
    if estimated:
        out.append(
            f"{estimated:,} compared replies had no server token count; their output "
            "tokens are the local estimate (~4 characters per token)."
        )
    return out


_EDGE_NOTE = f"Ratios beyond 1/{RATIO_EDGE:g}× and {RATIO_EDGE:g}× are drawn at the edge."
_CHARTS = (  # key, title, PromptDrift field, x label, what to say when there is nothing
    (
        "edit-distance",
        "Edit distance",
        "edit_distance",
        "normalised edit distance (0 same, 1 nothing in common)",
        "no prompt compared",
    ),
    (
        "length-ratio",
        "Length ratio",
        "length_ratio",
        "candidate chars / canonical chars",
        "no non-empty canonical output",
    ),
    (
        "token-ratio",
        "Output-token ratio",
        "output_tokens_ratio",
        "candidate output tokens / canonical",
        "no output tokens counted",
    ),
)


def charts(result: DriftResult) -> list[Chart]:
    out = []
    for key, title, name, xlabel, empty in _CHARTS:
        ratios = name != "edit_distance"
        src = _histogram([getattr(r, name) for r in result.rows], xlabel, log=ratios)
        out.append(Chart(key, title, src, empty, _EDGE_NOTE if ratios else ""))
    return out


def _histogram(values: Sequence[float | None], xlabel: str, log: bool = False) -> str | None:
    """Prompts per bin; ratios on a log2 axis around 1x so 0.5x and 2x look equally far."""
    data = np.asarray([v for v in values if v is not None], dtype=float)
    if data.size == 0:
        return None
    fig, (ax,) = new_figure(height=2.8)
    if log:
        data = np.clip(data, 1.0 / RATIO_EDGE, RATIO_EDGE)
        edges = np.geomspace(1.0 / RATIO_EDGE, RATIO_EDGE, 31)
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(FixedLocator([2.0**k for k in range(-3, 4)]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.axvline(1.0, color="#333", linewidth=0.8, linestyle=":")
    else:
        edges = np.linspace(0.0, 1.0, 26)
    ax.hist(data, bins=list(edges), color=PALETTE[0], edgecolor="white", linewidth=0.4)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("prompts", fontsize=8)
    return to_data_uri(fig)
