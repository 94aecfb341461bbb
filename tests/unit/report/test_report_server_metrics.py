"""The report's "Server metrics" section: present with server_metrics.csv, absent without."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from report_fixtures import SyntheticRun

from loadprofile.client.server_metrics import MetricsCsvWriter, parse_scrape
from loadprofile.report import build_report
from loadprofile.report.data import load_report_data
from loadprofile.report.plots import Timeline
from loadprofile.report.server_panels import Line
from loadprofile.report.server_plots import server_panel
from loadprofile.report.server_section import server_section
from loadprofile.rundir import writer as rundir

SOURCE = "http://10.0.0.5:8000/metrics"


def _vllm_text(k: int) -> str:
    """One vLLM-like scrape at second k: a queue that builds up and drains."""
    lines = []
    for name, kind in (
        ("vllm:num_requests_running", "gauge"),
        ("vllm:num_requests_waiting", "gauge"),
        ("vllm:kv_cache_usage_perc", "gauge"),
        ("vllm:generation_tokens_total", "counter"),
        ("vllm:lora_requests_info", "gauge"),
    ):
        lines.append(f"# TYPE {name} {kind}")
        for i, model in enumerate(("mock-small", "mock-large")):
            value = {
                "vllm:num_requests_running": 4 + i,
                "vllm:num_requests_waiting": k % 4,
                "vllm:kv_cache_usage_perc": 0.1 * k,
                "vllm:lora_requests_info": k,
                "vllm:generation_tokens_total": 300 * k,
            }[name]
            lines.append(f'{name}{{model_name="{model}"}} {value}')
    return "\n".join(lines) + "\n"


def _add_server_metrics(run: SyntheticRun, seconds: int, scrapes: dict[str, Any] | None) -> None:
    writer = MetricsCsvWriter(run.run_dir / rundir.SERVER_METRICS)
    for k in range(seconds):
        writer.write(k + 0.02, SOURCE, parse_scrape(_vllm_text(k)))
    writer.close()
    if scrapes is not None:
        path = run.run_dir / rundir.RUN
        meta = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        meta["server_metrics_scrapes"] = scrapes
        rundir.write_json(path, meta)


@pytest.mark.usefixtures("fast_figures")
def test_the_section_has_a_chart_per_panel_and_notes_failed_scrapes(
    make_run: Callable[..., SyntheticRun],
) -> None:
    run = make_run(requests=120, intervals=6)
    _add_server_metrics(
        run, 6, {SOURCE: {"ok": 6, "failed": 2, "last_error": "connect to 10.0.0.5:8000 timed out"}}
    )
    html = build_report(run.run_dir).read_text(encoding="utf-8")
    assert 'id="server-metrics"' in html and 'href="#server-metrics"' in html
    for key in (
        "server-queue",
        "server-running",
        "server-kv-cache",
        "server-tokens",
        "server-gauge-0",
    ):
        assert f'id="{key}"' in html, key
    assert 'id="server-events"' not in html  # the server exports none of those names
    assert "2 of 8 scrapes failed (last: connect to 10.0.0.5:8000 timed out)" in html
    assert 'id="server-scrapes"' in html


@pytest.mark.usefixtures("fast_figures")
def test_a_run_without_server_metrics_has_no_section(
    make_run: Callable[..., SyntheticRun],
) -> None:
    run = make_run(requests=60, intervals=3)
    html = build_report(run.run_dir).read_text(encoding="utf-8")
    assert 'id="server-metrics"' not in html and "#server-metrics" not in html


def test_a_file_without_samples_says_no_scrape_succeeded(
    make_run: Callable[..., SyntheticRun],
) -> None:
    run = make_run(requests=60, intervals=3)
    MetricsCsvWriter(run.run_dir / rundir.SERVER_METRICS).close()
    section = server_section(load_report_data(run.run_dir), {}, Timeline())
    assert section is not None and section.charts == [] and section.series == 0
    assert section.note.startswith("No scrape succeeded")
    assert [(r.source, r.ok) for r in section.scrapes] == []


def test_without_the_run_json_record_the_files_scrapes_are_counted(
    make_run: Callable[..., SyntheticRun],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from loadprofile.report import server_plots

    monkeypatch.setattr(server_plots, "server_panel", lambda *a, **k: "data:image/png;base64,")
    run = make_run(requests=60, intervals=3)
    _add_server_metrics(run, 3, None)
    section = server_section(load_report_data(run.run_dir), {}, Timeline())
    assert section is not None
    assert [(r.source, r.ok, r.failed) for r in section.scrapes] == [(SOURCE, 3, None)]
    assert section.failures == []


def test_a_server_panel_is_a_png_above_the_client_ttft() -> None:
    lines = [
        Line(
            "vllm:num_requests_waiting",
            '{"model_name":"a"}',
            "waiting{model_name=a}",
            [0.0, 1.0, 2.0],
            [0.0, 3.0, 1.0],
        )
    ]
    ttft = {"a": pd.DataFrame({"start_s": [0.0, 1.0], "end_s": [1.0, 2.0], "p99": [80.0, 240.0]})}
    src = server_panel(
        "Queue depth", "requests", lines, ttft, {"a": "#0072B2"}, Timeline(bound=((1.0, 2.0),))
    )
    assert src is not None and src.startswith("data:image/png;base64,") and len(src) > 2000
    assert server_panel("Queue depth", "requests", [], ttft, {}, Timeline()) is None


def _llamacpp_text(k: int, decodes_before: int) -> str:
    """One llama-server scrape at second k of a run: 50 decode calls a second with 4 busy
    slots each, after ``decodes_before`` calls at 1.2 busy slots since the server started.
    Values printed to 6 significant digits, as llama.cpp's server prints them."""
    decodes = decodes_before + 50 * k
    busy = 1.2 * decodes_before + 4 * 50 * k
    lines = [
        "# TYPE llamacpp:n_decode_total counter",
        f"llamacpp:n_decode_total {decodes:.6g}",
        "# TYPE llamacpp:n_busy_slots_per_decode gauge",
        f"llamacpp:n_busy_slots_per_decode {busy / decodes:.6g}",
        "# TYPE llamacpp:requests_processing gauge",
        f"llamacpp:requests_processing {4 + k % 2}",
    ]
    return "\n".join(lines) + "\n"


def _add_llamacpp_metrics(run: SyntheticRun, seconds: int, decodes_before: int) -> None:
    writer = MetricsCsvWriter(run.run_dir / rundir.SERVER_METRICS)
    for k in range(seconds):
        writer.write(k + 0.02, SOURCE, parse_scrape(_llamacpp_text(k, decodes_before)))
    writer.close()


def test_since_start_averages_are_not_plotted_and_the_runs_own_is_recovered() -> None:
    from loadprofile.client.server_metrics import Series
    from loadprofile.report.server_lifetime import since_start, without_since_start

    def series(values: list[float], kind: str) -> Series:
        return Series(kind, [float(t) for t in range(len(values))], values)

    busy = [(1.2 * 2000 + 200 * k) / (2000 + 50 * k) for k in range(9)]
    found = {
        (SOURCE, "llamacpp:n_busy_slots_per_decode", "{}"): series(busy, "gauge"),
        (SOURCE, "llamacpp:n_decode_total", "{}"): series(
            [2000 + 50 * k for k in range(9)], "counter"
        ),
    }
    (row,) = since_start(found)
    assert row.first == pytest.approx(1.2) and row.last == pytest.approx(busy[-1])
    assert row.during_run == pytest.approx(4.0)  # not 1.2, not the 1.67 the gauge ended at
    assert [k[1] for k in without_since_start(found)] == ["llamacpp:n_decode_total"]
    # A long-lived server: the run's 400 calls are too few of 100,400 to recover its own.
    found[(SOURCE, "llamacpp:n_decode_total", "{}")].v = [100000 + 50 * k for k in range(9)]
    (row,) = since_start(found)
    assert row.during_run is None and "0.4 % of the events" in row.why_not


@pytest.mark.usefixtures("fast_figures")
def test_llamacpp_busy_slots_per_decode_is_listed_as_a_since_start_average_not_drawn(
    make_run: Callable[..., SyntheticRun],
) -> None:
    run = make_run(requests=120, intervals=6)
    _add_llamacpp_metrics(run, 9, 2000)
    html = build_report(run.run_dir).read_text(encoding="utf-8")
    assert 'id="server-running"' in html  # requests_processing is drawn, on the same clock
    assert 'alt="llamacpp:n_busy_slots_per_decode"' not in html
    table = re.search(r'<table class="text" id="server-since-start">(.*?)</table>', html, re.S)
    assert table, "since-start table missing"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", table.group(1))
    assert cells[0] == "<code>llamacpp:n_busy_slots_per_decode</code>"
    assert cells[2:5] == ["1.2", "1.667", "4"]  # first scrape, last scrape, this run
