"""The report's tables as plain, already-formatted rows (models side by side, one per column).

Numbers come from summary.json, the same file the gate and nightly pipelines read, so the
report and the gate can never disagree. Formatting lives here, not in the template, so tests
can render the expected text with the same functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loadprofile.core.metrics import E2E, ITL, PERCENTILES, SERVICE_OF, TPOT, TTFT
from loadprofile.core.results import ErrorClass
from loadprofile.rundir.writer import model_slug

EMPTY = "–"
ZERO = "·"

Pick = Callable[[list[float]], float]


@dataclass(frozen=True)
class Cell:
    text: str
    best: bool = False


@dataclass(frozen=True)
class Row:
    label: str
    cells: list[Cell]
    kind: str = ""  # a CSS class: "sub" for indented detail rows


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    note: str = ""
    #: The model whose colour swatch heads each column ("" for none); default: the column.
    column_models: list[str] | None = None

    @property
    def heads(self) -> list[tuple[str, str]]:
        """(label, model for the swatch) per column."""
        models = self.column_models if self.column_models is not None else self.columns
        return list(zip(self.columns, models, strict=True))


def fmt_ms(value: Any) -> str:
    """Milliseconds with about four significant digits (HDR keeps three): 0.412, 12.34, 1,234."""
    if not isinstance(value, int | float) or value != value:
        return EMPTY
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.1f}"
    if size >= 10:
        return f"{value:.2f}"
    return f"{value:.3f}"


def fmt_ratio(value: Any) -> str:
    """A ratio, candidate / canonical or tokens per estimate: 1.40×."""
    return EMPTY if not isinstance(value, int | float) else f"{value:.2f}×"


def fmt_distance(value: Any) -> str:
    """Edit distances (0-1) and other plain fractions that are not shares: three decimals."""
    return EMPTY if not isinstance(value, int | float) else f"{value:.3f}"


def fmt_int(value: Any, zero: str = "0") -> str:
    if not isinstance(value, int | float) or value != value:
        return EMPTY
    return zero if value == 0 else f"{value:,.0f}"


def fmt_rate(value: Any) -> str:
    """Per-second rates: two decimals below 100/s, whole numbers above."""
    if not isinstance(value, int | float) or value != value:
        return EMPTY
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def fmt_share(value: Any) -> str:
    """A 0-1 fraction as a percentage; small non-zero shares keep their digits."""
    if not isinstance(value, int | float) or value != value:
        return EMPTY
    percent = value * 100.0
    if percent == 0:
        return "0 %"
    return f"{percent:.2f} %" if percent < 10 else f"{percent:.1f} %"


def _cells(values: list[Any], fmt: Callable[[Any], str], pick: Pick | None) -> list[Cell]:
    """Formatted cells; with `pick` (min or max), the best value is flagged when models differ."""
    texts = [fmt(v) for v in values]
    numbers = [v for v in values if isinstance(v, int | float) and v == v]
    if not pick or len(numbers) < 2:
        return [Cell(t) for t in texts]
    best = pick(numbers)
    # A tie on the page (same text) is no win: highlight only a best that reads differently.
    unique = texts.count(fmt(best)) == 1
    return [Cell(t, unique and v == best) for t, v in zip(texts, values, strict=True)]


PERCENTILE_ROWS: tuple[tuple[str, str], ...] = (
    *((key, key.replace("_", ".")) for key, _ in PERCENTILES),
    ("max", "max"),
    ("mean", "mean"),
)


SERVICE_SUFFIX = " · service"


def metric_table(
    metric: str,
    title: str,
    models: list[str],
    summary: Mapping[str, Any],
    with_service: bool = False,
) -> Table:
    """Percentiles of one metric, in ms, one column per model; the lowest value highlighted.

    ``with_service``: TTFT and E2E also get each model's service-time column (from the
    actual send) next to it; only the main columns compete for the highlight."""
    entries = [_model_entry(summary, m).get(metric) or {} for m in models]
    service = SERVICE_OF.get(metric) if with_service else None
    extra = [_model_entry(summary, m).get(service) or {} for m in models] if service else []
    rows = []
    for key, label in [*PERCENTILE_ROWS, ("count", "count")]:
        fmt, pick = (fmt_int, None) if key == "count" else (fmt_ms, min)
        cells = _cells([e.get(key) for e in entries], fmt, pick)
        if extra:
            side = _cells([e.get(key) for e in extra], fmt, None)
            cells = [c for pair in zip(cells, side, strict=True) for c in pair]
        rows.append(Row(label, cells))
    if not extra:
        return Table(metric, f"{metric}: {title} (ms)", models, rows)
    columns = [c for m in models for c in (m, m + SERVICE_SUFFIX)]
    owners = [m for m in models for _ in range(2)]
    note = "'· service': from the actual send; the plain column runs from the scheduled start."
    return Table(metric, f"{metric}: {title} (ms)", columns, rows, note, owners)


def _model_entry(summary: Mapping[str, Any], model: str) -> dict[str, Any]:
    entry = (summary.get("models") or {}).get(model)
    return entry if isinstance(entry, dict) else {}


def overview_table(models: list[str], summary: Mapping[str, Any]) -> Table:
    """Counts, error classes, rates and token accounting per model."""
    entries = [_model_entry(summary, m) for m in models]

    def row(
        label: str,
        values: list[Any],
        fmt: Callable[[Any], str],
        pick: Pick | None = None,
        kind: str = "",
    ) -> Row:
        return Row(label, _cells(values, fmt, pick), kind)

    rows = [
        row("requests", [e.get("requests") for e in entries], fmt_int),
        row("successes", [_successes(e) for e in entries], fmt_int),
        row("failures", [e.get("failures") for e in entries], fmt_int),
        row("error rate", [e.get("error_rate") for e in entries], fmt_share, min),
    ]
    for name in error_classes(entries):
        counts = [(e.get("errors") or {}).get(name, 0) if e else None for e in entries]
        rows.append(row(name, counts, lambda v: fmt_int(v, ZERO), kind="sub"))
    rows += [
        row("requests/s", [e.get("requests_per_s") for e in entries], fmt_rate),
        row("output tokens/s", [e.get("output_tokens_per_s") for e in entries], fmt_rate, max),
        row("output tokens", [e.get("output_tokens") for e in entries], fmt_int),
        row("prompt tokens", [e.get("prompt_tokens") for e in entries], fmt_int),
        row(
            "estimated token counts", [e.get("tokens_estimated_share") for e in entries], fmt_share
        ),
    ]
    if any(e.get("cached_prompt_tokens") is not None for e in entries):
        rows.append(row("cached prompt tokens", [_cached(e) for e in entries], str))
    if any("good_requests" in e for e in entries):
        rows += [
            row("good requests", [e.get("good_requests") for e in entries], fmt_int),
            row("good share", [good_share(e) for e in entries], fmt_share, max),
            row("goodput/s", [e.get("goodput_per_s") for e in entries], fmt_rate, max),
        ]
    if any(e.get("out_of_range_values") for e in entries):
        rows.append(
            row(
                "values out of histogram range",
                [e.get("out_of_range_values") for e in entries],
                fmt_int,
            )
        )
    note = "Failures by class are indented; '·' means none."
    return Table("overview", "Per-model overview", models, rows, note)


def _cached(entry: Mapping[str, Any]) -> str:
    """Prompt tokens the server's prefix cache served, and their share of all prompt tokens
    (usage's ``cached_tokens``); a server that does not say is not assumed to cache nothing."""
    cached, prompt = entry.get("cached_prompt_tokens"), entry.get("prompt_tokens")
    if not isinstance(cached, int):
        return "not reported" if entry else EMPTY
    share = f" ({fmt_share(cached / prompt)})" if isinstance(prompt, int) and prompt > 0 else ""
    return f"{fmt_int(cached)}{share}"


def _successes(entry: Mapping[str, Any]) -> Any:
    if "successes" in entry:
        return entry["successes"]
    requests, failures = entry.get("requests"), entry.get("failures")
    if isinstance(requests, int) and isinstance(failures, int):
        return requests - failures
    return None


def error_classes(entries: list[dict[str, Any]]) -> list[str]:
    """All eight contract classes, then any unknown class a newer writer may have used."""
    names = [str(c) for c in ErrorClass]
    extra = sorted({str(k) for e in entries for k in (e.get("errors") or {})} - set(names))
    return names + extra


def good_share(entry: Mapping[str, Any]) -> float | None:
    """Good requests (success within the per-request SLOs) as a share of all requests."""
    good, requests = entry.get("good_requests"), entry.get("requests")
    if not isinstance(good, int | float) or not isinstance(requests, int | float):
        return None
    return good / requests if requests else None


def _p(entry: Mapping[str, Any], metric: str, key: str) -> Any:
    found = entry.get(metric)
    return found.get(key) if isinstance(found, Mapping) else None


def phase_table(
    model: str,
    phases: Sequence[Mapping[str, Any]],
    users: list[int | None],
    with_service: bool = False,
) -> Table:
    """One model's figures per phase (columns): what each phase of the shape did to it.

    ``users``: the model's users in each phase (see burst.phase_users); the figures come
    from summary.json's "phases", the same numbers the gate reads."""
    entries: list[Mapping[str, Any]] = [(p.get("models") or {}).get(model) or {} for p in phases]

    def row(label: str, values: list[Any], fmt: Callable[[Any], str]) -> Row:
        return Row(label, _cells(values, fmt, None))

    rows = [
        row("users", users, fmt_int),
        row("requests", [e.get("requests") for e in entries], fmt_int),
        row("requests/s", [e.get("requests_per_s") for e in entries], fmt_rate),
        row("error rate", [e.get("error_rate") for e in entries], fmt_share),
        row("good share", [good_share(e) for e in entries], fmt_share),
        row("goodput/s", [e.get("goodput_per_s") for e in entries], fmt_rate),
        row("TTFT p50 (ms)", [_p(e, TTFT, "p50") for e in entries], fmt_ms),
        row("TTFT p99 (ms)", [_p(e, TTFT, "p99") for e in entries], fmt_ms),
    ]
    if with_service:
        rows.append(
            row(
                "TTFT p99 · service (ms)", [_p(e, SERVICE_OF[TTFT], "p99") for e in entries], fmt_ms
            )
        )
    rows += [
        row("ITL p99 (ms)", [_p(e, ITL, "p99") for e in entries], fmt_ms),
        row("TPOT p99 (ms)", [_p(e, TPOT, "p99") for e in entries], fmt_ms),
        row("E2E p99 (ms)", [_p(e, E2E, "p99") for e in entries], fmt_ms),
    ]
    if with_service:
        rows.append(
            row("E2E p99 · service (ms)", [_p(e, SERVICE_OF[E2E], "p99") for e in entries], fmt_ms)
        )
    names = [str(p.get("name", f"phase {i + 1}")) for i, p in enumerate(phases)]
    return Table(f"phases-{model_slug(model)}", model, names, rows, column_models=[""] * len(names))
