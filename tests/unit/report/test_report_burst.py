"""The burst section, goodput, scheduled vs service time and the generator's bound seconds,
on synthetic spike, step, open-loop, steady and old-format run folders."""

from __future__ import annotations

import re

from markupsafe import escape
from report_fixtures import STEP_SLO_MS, BuiltReport
from test_report_build import assert_self_contained, row_cells, table_html

from loadprofile.report.tables import fmt_ms, fmt_rate, fmt_share

SERVICE = " · service"


def section(page: str, key: str) -> str:
    match = re.search(rf'<section id="{key}">(.*?)</section>', page, re.S)
    assert match, f"section {key} missing"
    return match.group(1)


def has_figure(page: str, key: str) -> bool:
    return bool(re.search(rf'<figure id="{key}">\s*<img src="data:image/png;base64,', page))


def head_cells(table: str) -> list[str]:
    head = re.search(r"<thead>(.*?)</thead>", table, re.S)
    assert head
    cells = re.findall(r"<th>(.*?)</th>", head.group(1), re.S)
    return [re.sub(r"<[^>]+>", "", c) for c in cells][1:]


def phase_figure(built: BuiltReport, model: str, metric: str, key: str) -> list[str]:
    assert built.run.summary is not None
    return [fmt_ms(p["models"][model][metric][key]) for p in built.run.summary["phases"]]


# -- spike ------------------------------------------------------------------------------------


def test_spike_has_a_burst_section_with_latency_and_phase_tables(built_spike: BuiltReport) -> None:
    page = built_spike.html
    assert_self_contained(page)
    burst = section(page, "burst")
    assert has_figure(burst, "burst-latency") and has_figure(burst, "burst-errors")
    assert "Spike: 4 users, 20 from 4 s for 3 s" in burst
    assert not has_figure(page, "capacity")
    for model in built_spike.run.models:
        table = table_html(burst, f"phases-{model}")
        assert head_cells(table) == ["before", "burst", "after"]
        assert row_cells(table, "TTFT p99 (ms)") == phase_figure(
            built_spike, model, "ttft_ms", "p99"
        )
        assert row_cells(table, "E2E p99 (ms)") == phase_figure(built_spike, model, "e2e_ms", "p99")
        assert row_cells(table, "users") == ["2", "10", "2"]
        assert "TTFT p99 · service (ms)" not in table  # closed loop: service = scheduled


def test_spike_recovery_per_model_in_words(built_spike: BuiltReport) -> None:
    assert built_spike.run.summary is not None
    assert built_spike.run.summary["recovery_s"] == {"mock-large": None, "mock-small": 0.0}
    recovery = section(built_spike.html, "burst").split('id="recovery"', 1)[1]
    small = re.search(r"<strong>mock-small</strong>: ([^<]*)</li>", recovery)
    large = re.search(r"<strong>mock-large</strong>: ([^<]*)</li>", recovery)
    assert small and small.group(1) == "recovered 0.0 s after the burst"
    assert large and large.group(1).startswith("not recovered: TTFT p99 never came back")
    assert str(escape("back within 20 % of its p99 in the 'before' phase")) in recovery
    assert "for 3 intervals in a row" in recovery


def test_spike_errors_and_phases_follow_the_summary(built_spike: BuiltReport) -> None:
    assert built_spike.run.summary is not None
    phases = built_spike.run.summary["phases"]
    table = table_html(built_spike.html, "phases-mock-small")
    expected = [fmt_share(p["models"]["mock-small"]["error_rate"]) for p in phases]
    assert row_cells(table, "error rate") == expected
    expected = [fmt_rate(p["models"]["mock-small"]["goodput_per_s"]) for p in phases]
    assert row_cells(table, "goodput/s") == expected


# -- step -------------------------------------------------------------------------------------


def test_step_has_a_capacity_curve_and_states_the_slo_concurrency(built_step: BuiltReport) -> None:
    assert built_step.run.summary is not None
    assert built_step.run.summary["max_concurrency_within_slo"] == {
        "mock-large": 2,
        "mock-small": 4,
    }
    burst = section(built_step.html, "burst")
    assert has_figure(burst, "capacity")
    slo = re.search(r'<div id="capacity-slo">(.*?)</div>', burst, re.S)
    assert slo
    assert f"mock-small: 4 users within TTFT p99 ≤ {STEP_SLO_MS:g} ms." in slo.group(1)
    assert f"mock-large: 2 users within TTFT p99 ≤ {STEP_SLO_MS:g} ms." in slo.group(1)
    assert 'id="recovery"' not in burst
    for model in built_step.run.models:
        table = table_html(burst, f"phases-{model}")
        assert head_cells(table) == [f"step {i + 1} ({n} users)" for i, n in enumerate((4, 8, 16))]
        assert row_cells(table, "users") == ["2", "4", "8"]
        assert row_cells(table, "TTFT p99 (ms)") == phase_figure(
            built_step, model, "ttft_ms", "p99"
        )


# -- open loop: service time, goodput, generator-bound seconds ----------------------------------


def test_open_loop_shows_service_time_next_to_the_scheduled_one(built_open: BuiltReport) -> None:
    summary = built_open.run.summary
    assert summary is not None
    models = built_open.run.models
    for metric in ("ttft_ms", "e2e_ms"):
        table = table_html(built_open.html, metric)
        assert head_cells(table) == [c for m in models for c in (m, m + SERVICE)]
        service = metric.replace("_ms", "_service_ms")
        expected = [
            fmt_ms(summary["models"][m][k]["p99"]) for m in models for k in (metric, service)
        ]
        assert row_cells(table, "p99") == expected
        assert expected[0] != expected[1]  # sent 30 ms late: the two differ
    assert SERVICE not in head_cells(table_html(built_open.html, "itl_ms"))[0]
    latency = section(built_open.html, "latency")
    assert "run from each request&#39;s scheduled start" in latency
    assert "defeats coordinated omission" in latency
    assert "Dashed: service time" in section(built_open.html, "distribution")
    phases = table_html(built_open.html, "phases-mock-small")
    assert row_cells(phases, "TTFT p99 · service (ms)") == phase_figure(
        built_open, "mock-small", "ttft_service_ms", "p99"
    )


def test_open_loop_details_show_rate_arrivals_pool_and_late_starts(built_open: BuiltReport) -> None:
    pairs = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", section(built_open.html, "details")))
    assert pairs["arrival rate"] == "20 requests/s"
    assert pairs["arrival process"].startswith("gamma (shape k = 0.5")
    assert pairs["rate unit"] == "requests"
    assert pairs["user pool"].startswith("64 users")
    assert pairs["late starts"] == "7" and pairs["starts without a free user"] == "0"
    assert "Open loop: 20 requests/s" in section(built_open.html, "burst")


def test_goodput_per_model_and_the_slos_it_used(built_open: BuiltReport) -> None:
    summary = built_open.run.summary
    assert summary is not None
    overview = table_html(built_open.html, "overview")
    models = built_open.run.models
    expected = [fmt_rate(summary["models"][m]["goodput_per_s"]) for m in models]
    assert row_cells(overview, "goodput/s") == expected
    share = [
        fmt_share(summary["models"][m]["good_requests"] / summary["models"][m]["requests"])
        for m in models
    ]
    assert [re.sub(r"<[^>]+>", "", c) for c in row_cells(overview, "good share")] == share
    assert "Goodput counts the successful requests with TTFT ≤ 200 ms and TPOT ≤ 30 ms" in (
        section(built_open.html, "overview")
    )


def test_generator_bound_seconds_listed_with_their_reasons(built_open: BuiltReport) -> None:
    table = re.search(r'<table class="text" id="bound-table">(.*?)</table>', built_open.html, re.S)
    assert table
    rows = re.findall(r"<tr><td[^>]*>([^<]*)</td>.*?<td>([^<]*)</td></tr>", table.group(1), re.S)
    assert rows == [
        ("3–4", "event-loop lag 25 ms"),
        ("5–6", "7 request(s) sent late"),
        ("7–8", "CPU 95%"),
    ]
    banner = re.search(r'id="bound-banner">(.*?)</div>', built_open.html, re.S)
    assert banner and "3–4 s, 5–6 s, 7–8 s" in banner.group(1)
    assert "generator-bound, measurements suspect" in banner.group(1)
    assert has_figure(built_open.html, "generator")


# -- steady and old folders -------------------------------------------------------------------


def test_steady_closed_loop_run_has_no_burst_section(built: BuiltReport) -> None:
    assert 'id="burst"' not in built.html and 'href="#burst"' not in built.html
    assert SERVICE not in built.html
    assert "so goodput counts every successful request" in section(built.html, "overview")


def test_old_format_folder_still_renders(built_old: BuiltReport) -> None:
    page = built_old.html
    assert_self_contained(page)
    assert 'id="burst"' not in page and SERVICE not in page
    assert "good share" not in table_html(page, "overview")
    summary = built_old.run.summary
    assert summary is not None
    expected = [fmt_ms(summary["models"][m]["ttft_ms"]["p99"]) for m in built_old.run.models]
    assert row_cells(table_html(page, "ttft_ms"), "p99") == expected
    # No `bound` column: the CPU >= 90 % fallback marks the last, hottest second.
    table = re.search(r'id="bound-table">(.*?)</table>', page, re.S)
    assert table and "CPU 95%" in table.group(1) and "3–4" in table.group(1)
    assert page.count('<img src="data:image/png;base64,') == 11
