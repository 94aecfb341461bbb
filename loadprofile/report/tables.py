"""The report's tables as plain, already-formatted rows (models side by side, one per column).

Numbers come from summary.json, the same file the gate and nightly pipelines read, so the
report and the gate can never disagree. Formatting lives here, not in the template, so tests
can render the expected text with the same functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from loadprofile.contract.summary import (
    Latency,
    ModelFigures,
    PhaseFigures,
    PhaseModelFigures,
    Summary,
    latency_of,
)
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
    summary: Summary,
    with_service: bool = False,
) -> Table:
    """Percentiles of one metric, in ms, one column per model; the lowest value highlighted.

    ``with_service``: TTFT and E2E also get each model's service-time column (from the
    actual send) next to it; only the main columns compete for the highlight."""
    entries = [_latency(summary, m, metric) for m in models]
    service = SERVICE_OF.get(metric) if with_service else None
    extra = [_latency(summary, m, service) for m in models] if service else []
    rows = []
    for key, label in [*PERCENTILE_ROWS, ("count", "count")]:
        fmt, pick = (fmt_int, None) if key == "count" else (fmt_ms, min)
        cells = _cells([_figure(e, key) for e in entries], fmt, pick)
        if extra:
            side = _cells([_figure(e, key) for e in extra], fmt, None)
            cells = [c for pair in zip(cells, side, strict=True) for c in pair]
        rows.append(Row(label, cells))
    if not extra:
        return Table(metric, f"{metric}: {title} (ms)", models, rows)
    columns = [c for m in models for c in (m, m + SERVICE_SUFFIX)]
    owners = [m for m in models for _ in range(2)]
    note = "'· service': from the actual send; the plain column runs from the scheduled start."
    return Table(metric, f"{metric}: {title} (ms)", columns, rows, note, owners)


def _latency(summary: Summary, model: str, metric: str) -> Latency | None:
    entry = summary.models.get(model)
    return latency_of(entry, metric) if entry is not None else None


def _figure(latency: Latency | None, key: str) -> float | int | None:
    """One percentile key (core.metrics.SUMMARY_KEYS) of a distribution; None without one."""
    if latency is None:
        return None
    found: float | int | None = getattr(latency, key)
    return found


def overview_table(models: list[str], summary: Summary) -> Table:
    """Counts, error classes, rates and token accounting per model."""
    entries = [summary.models.get(m) for m in models]

    def values(get: Callable[[ModelFigures], object]) -> list[object]:
        return [get(e) if e is not None else None for e in entries]

    def row(
        label: str,
        found: Sequence[object],
        fmt: Callable[[Any], str],
        pick: Pick | None = None,
        kind: str = "",
    ) -> Row:
        return Row(label, _cells(list(found), fmt, pick), kind)

    known = [e for e in entries if e is not None]
    rows = [
        row("requests", values(lambda e: e.requests), fmt_int),
        row("successes", values(_successes), fmt_int),
        row("failures", values(lambda e: e.failures), fmt_int),
        row("error rate", values(lambda e: e.error_rate), fmt_share, min),
    ]
    for name in error_classes(known):
        counts = [e.errors.get(name, 0) if e is not None else None for e in entries]
        rows.append(row(name, counts, lambda v: fmt_int(v, ZERO), kind="sub"))
    rows += [
        row("requests/s", values(lambda e: e.requests_per_s), fmt_rate),
        row("output tokens/s", values(lambda e: e.output_tokens_per_s), fmt_rate, max),
        row("output tokens", values(lambda e: e.output_tokens), fmt_int),
        row("prompt tokens", values(lambda e: e.prompt_tokens), fmt_int),
        row("estimated token counts", values(lambda e: e.tokens_estimated_share), fmt_share),
    ]
    if any(e.cached_prompt_tokens is not None for e in known):
        rows.append(row("cached prompt tokens", [_cached(e) for e in entries], str))
    if any(e.good_requests is not None for e in known):
        rows += [
            row("good requests", values(lambda e: e.good_requests), fmt_int),
            row("good share", values(good_share), fmt_share, max),
            row("goodput/s", values(lambda e: e.goodput_per_s), fmt_rate, max),
        ]
    if any(e.out_of_range_values for e in known):
        rows.append(
            row("values out of histogram range", values(lambda e: e.out_of_range_values), fmt_int)
        )
    note = "Failures by class are indented; '·' means none."
    return Table("overview", "Per-model overview", models, rows, note)


def _cached(entry: ModelFigures | None) -> str:
    """Prompt tokens the server's prefix cache served, and their share of all prompt tokens
    (usage's ``cached_tokens``); a server that does not say is not assumed to cache nothing."""
    if entry is None:
        return EMPTY
    cached, prompt = entry.cached_prompt_tokens, entry.prompt_tokens
    if cached is None:
        return "not reported"
    share = f" ({fmt_share(cached / prompt)})" if prompt > 0 else ""
    return f"{fmt_int(cached)}{share}"


def _successes(entry: ModelFigures) -> int:
    if entry.successes is not None:
        return entry.successes
    return entry.requests - entry.failures


def error_classes(entries: Sequence[ModelFigures]) -> list[str]:
    """All eight contract classes, then any unknown class a newer writer may have used."""
    names = [str(c) for c in ErrorClass]
    extra = sorted({k for e in entries for k in e.errors} - set(names))
    return names + extra


def good_share(entry: ModelFigures | PhaseModelFigures) -> float | None:
    """Good requests (success within the per-request SLOs) as a share of all requests."""
    good, requests = entry.good_requests, entry.requests
    if good is None:
        return None
    return good / requests if requests else None


def _p(entry: PhaseModelFigures | None, metric: str, key: str) -> float | int | None:
    return _figure(latency_of(entry, metric), key) if entry is not None else None


def phase_table(
    model: str,
    phases: Sequence[PhaseFigures],
    users: list[int | None],
    with_service: bool = False,
) -> Table:
    """One model's figures per phase (columns): what each phase of the shape did to it.

    ``users``: the model's users in each phase (see burst.phase_users); the figures come
    from summary.json's "phases", the same numbers the gate reads."""
    entries = [p.models.get(model) for p in phases]

    def row(label: str, values: list[Any], fmt: Callable[[Any], str]) -> Row:
        return Row(label, _cells(values, fmt, None))

    def values(get: Callable[[PhaseModelFigures], object]) -> list[object]:
        return [get(e) if e is not None else None for e in entries]

    rows = [
        row("users", users, fmt_int),
        row("requests", values(lambda e: e.requests), fmt_int),
        row("requests/s", values(lambda e: e.requests_per_s), fmt_rate),
        row("error rate", values(lambda e: e.error_rate), fmt_share),
        row("good share", values(good_share), fmt_share),
        row("goodput/s", values(lambda e: e.goodput_per_s), fmt_rate),
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
    names = [p.name or f"phase {i + 1}" for i, p in enumerate(phases)]
    return Table(f"phases-{model_slug(model)}", model, names, rows, column_models=[""] * len(names))
