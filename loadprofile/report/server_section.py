"""The "Server metrics" section: what the server said about itself, beside what users felt.

Present only when the run folder has server_metrics.csv (the run had ``--server-metrics``).
One chart per panel the server exports (queue, running, KV cache, tokens/s, engine events)
and up to a few other gauges that moved, each above the client's TTFT p99 per interval on
the same time axis: a queue building up lines up with the tail it causes. Gauges that are
averages since the server started are listed, not drawn (``server_lifetime``). The scrapes'
record (run.json's ``server_metrics_scrapes``) says how many failed and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loadprofile.client.server_metrics import Series, SeriesKey, read_series, scrape_times
from loadprofile.contract.run_meta import RunMeta
from loadprofile.contract.summary import given
from loadprofile.report import server_plots
from loadprofile.report.data import ReportData, ttft_over_time
from loadprofile.report.plots import Chart, Timeline
from loadprofile.report.server_lifetime import SinceStart, since_start, without_since_start
from loadprofile.report.server_panels import (
    PANELS,
    gauge_lines,
    of_run_models,
    other_gauges,
    panel_lines,
)
from loadprofile.rundir import writer as rundir


@dataclass(frozen=True)
class ScrapeRow:
    source: str
    ok: int | None  # None: not recorded (run.json missing): the file's scrapes are counted
    failed: int | None
    last_error: str


@dataclass(frozen=True)
class ServerSection:
    charts: list[Chart]
    scrapes: list[ScrapeRow]
    series: int
    note: str = ""
    failures: list[str] = field(default_factory=list)
    #: Averages since the server started: listed, never drawn over time.
    since_start: list[SinceStart] = field(default_factory=list)


def server_section(
    data: ReportData, colors: dict[str, str], timeline: Timeline
) -> ServerSection | None:
    """The section, or None for a run without --server-metrics."""
    path = data.run_dir / rundir.SERVER_METRICS
    if not path.is_file():
        return None
    try:
        series = read_series(path)
    except OSError:
        series = {}
    ttft = {m: ttft_over_time(data, m) for m in data.models}
    served = set(data.models) | {t.model for t in data.run.targets}
    drawable = without_since_start(series)
    charts = [c for c in _panel_charts(drawable, ttft, colors, timeline, served) if c.src]
    scrapes = scrape_rows(data.run, series)
    failures = [
        f"{r.source}: {r.failed} of {(r.ok or 0) + (r.failed or 0)} scrapes failed"
        + (f" (last: {r.last_error})" if r.last_error else "")
        for r in scrapes
        if r.failed
    ]
    note = ""
    if not series:
        note = "No scrape succeeded: server_metrics.csv holds no samples."
    elif not charts:
        note = (
            f"The server exported {len(series)} series, none under the names the panels "
            "know (llama.cpp's, vLLM's) and no gauge that moved during the run: they are "
            "all in server_metrics.csv."
        )
    return ServerSection(charts, scrapes, len(series), note, failures, since_start(series))


def _panel_charts(
    series: dict[SeriesKey, Series],
    ttft: dict[str, Any],
    colors: dict[str, str],
    timeline: Timeline,
    served: set[str],
) -> list[Chart]:
    charts = []
    for spec in PANELS:
        lines = of_run_models(panel_lines(series, spec), served)
        caption = (
            "Per-second rates of the server's counters between consecutive scrapes "
            "(a counter reset counts from zero)."
            if spec.rate
            else ""
        )
        if len(lines) > server_plots.MAX_LINES:
            caption += f" The first {server_plots.MAX_LINES} of {len(lines)} series."
        src = server_plots.server_panel(spec.title, spec.unit, lines, ttft, colors, timeline)
        charts.append(Chart(f"server-{spec.key}", spec.title, src, "", caption.strip()))
    for i, name in enumerate(other_gauges(series)):
        lines = of_run_models(gauge_lines(series, name), served)
        src = server_plots.server_panel(name, "value", lines, ttft, colors, timeline)
        charts.append(
            Chart(
                f"server-gauge-{i}",
                name,
                src,
                "",
                "Another gauge the server exports that moved during the run.",
            )
        )
    return charts


def scrape_rows(run: RunMeta, series: dict[SeriesKey, Series]) -> list[ScrapeRow]:
    """Per scraped URL: scrapes that worked and failed, from run.json; without that record
    (a run killed before it was written), the successful scrapes found in the file."""
    recorded = given(run.server_metrics_scrapes)
    rows = []
    if recorded is not None:
        for source, stats in recorded.items():
            rows.append(ScrapeRow(source, stats.ok, stats.failed, stats.last_error or ""))
        return rows
    for source, times in scrape_times(series).items():
        rows.append(ScrapeRow(source, len(times), None, ""))
    return rows
