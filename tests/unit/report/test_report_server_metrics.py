"""The report's "Server metrics" section: present with server_metrics.csv, absent without."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from report_fixtures import SyntheticRun

from loadprofile import rundir
from loadprofile.report import build_report
from loadprofile.report.data import load_report_data
from loadprofile.report.plots import Timeline
from loadprofile.report.server_plots import server_panel
from loadprofile.report.server_section import server_section
from loadprofile.server_metrics import MetricsCsvWriter, parse_scrape
from loadprofile.server_panels import Line

SOURCE = "http://10.0.0.5:8000/metrics"


def _vllm_text(k: int) -> str:
    """One vLLM-like scrape at second k: a queue that builds up and drains."""
    lines = []
    for name, kind in (("vllm:num_requests_running", "gauge"),
                       ("vllm:num_requests_waiting", "gauge"),
                       ("vllm:kv_cache_usage_perc", "gauge"),
                       ("vllm:generation_tokens_total", "counter"),
                       ("vllm:lora_requests_info", "gauge")):  # fmt: skip
        lines.append(f"# TYPE {name} {kind}")
        for i, model in enumerate(("mock-small", "mock-large")):
            value = {"vllm:num_requests_running": 4 + i, "vllm:num_requests_waiting": k % 4,
                     "vllm:kv_cache_usage_perc": 0.1 * k, "vllm:lora_requests_info": k,
                     "vllm:generation_tokens_total": 300 * k}[name]  # fmt: skip
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
    for key in ("server-queue", "server-running", "server-kv-cache", "server-tokens",
                "server-gauge-0"):  # fmt: skip
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
    lines = [Line("vllm:num_requests_waiting", '{"model_name":"a"}', "waiting{model_name=a}",
                  [0.0, 1.0, 2.0], [0.0, 3.0, 1.0])]  # fmt: skip
    ttft = {"a": pd.DataFrame({"start_s": [0.0, 1.0], "end_s": [1.0, 2.0], "p99": [80.0, 240.0]})}
    src = server_panel("Queue depth", "requests", lines, ttft, {"a": "#0072B2"},
                       Timeline(bound=((1.0, 2.0),)))  # fmt: skip
    assert src is not None and src.startswith("data:image/png;base64,") and len(src) > 2000
    assert server_panel("Queue depth", "requests", [], ttft, {}, Timeline()) is None
