"""build_report end to end on synthetic run folders written by the real writers."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from markupsafe import escape
from report_fixtures import BuiltReport, SyntheticRun

from loadprofile.core.metrics import DEFINITIONS, METRICS
from loadprofile.core.results import ErrorClass
from loadprofile.report import ReportError, build_report
from loadprofile.report.answer import fmt_ms_words, fmt_times
from loadprofile.report.data import load_report_data
from loadprofile.report.tables import fmt_ms
from loadprofile.rundir import reader as rundir_read
from loadprofile.rundir import writer as rundir

MakeRun = Callable[..., SyntheticRun]


def table_html(page: str, key: str) -> str:
    match = re.search(rf'<table class="num" id="table-{key}">(.*?)</table>', page, re.S)
    assert match, f"table {key} missing"
    return match.group(1)


def row_cells(table: str, label: str) -> list[str]:
    match = re.search(rf"<tr[^>]*><th>{re.escape(label)}</th>(.*?)</tr>", table, re.S)
    assert match, f"row {label} missing"
    return re.findall(r"<td[^>]*>(.*?)</td>", match.group(1))


def assert_self_contained(page: str) -> None:
    external = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not external
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "@import" not in page and "url(" not in page
    sources = re.findall(r'<img[^>]*\ssrc="([^"]*)"', page)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert all(h.startswith("#") for h in hrefs)


def test_report_is_written_and_self_contained(built: BuiltReport) -> None:
    assert built.path == built.run.run_dir / "report.html"
    assert_self_contained(built.html)
    # 4 distributions + 3 over time + throughput + 2 TTFT + generator CPU
    assert built.html.count('<img src="data:image/png;base64,') == 11


def test_both_models_and_their_p99_values_are_shown(built: BuiltReport) -> None:
    summary = built.run.summary
    assert summary is not None
    for model in built.run.models:
        assert model in built.html
    for metric in METRICS:
        table = table_html(built.html, metric)
        expected = [fmt_ms(summary["models"][m][metric]["p99"]) for m in built.run.models]
        assert row_cells(table, "p99") == expected
        for label in ("p50", "p90", "p95", "p99.9", "max", "mean", "count"):
            assert len(row_cells(table, label)) == len(built.run.models)


def test_the_page_opens_with_the_answer_made_from_the_summary(built: BuiltReport) -> None:
    summary = built.run.summary
    assert summary is not None
    small, large = (summary["models"][m] for m in ("mock-small", "mock-large"))
    a, b = large["ttft_ms"]["p99"], small["ttft_ms"]["p99"]
    answer = built.html.split('<section id="answer">', 1)[1].split("</section>", 1)[0]
    assert built.html.index('<section id="answer">') < built.html.index('<section id="details">')
    expected = (
        f"mock-large's TTFT p99 is {fmt_times(a / b)} mock-small's "
        f"({fmt_ms_words(a)} against {fmt_ms_words(b)} ms)"
    )
    assert str(escape(expected)) in answer
    for name, entry in (("mock-small", small), ("mock-large", large)):
        assert entry["failures"] > 0  # fail_rate 0.04: both failed some
        assert f"{name} failed {entry['failures']:,} of {entry['requests']:,} requests" in answer
    table = table_html(answer, "answer")
    assert row_cells(table, "TTFT p50 (ms)") == [
        fmt_ms(small["ttft_ms"]["p50"]),
        fmt_ms(large["ttft_ms"]["p50"]),
    ]
    assert 'id="ttft-turn"' in built.html  # turns 1 to 5: the chart by turn is drawn


def test_lowest_latency_is_highlighted(built: BuiltReport) -> None:
    table = table_html(built.html, "ttft_ms")
    row = re.search(r"<th>p50</th>(.*?)</tr>", table, re.S)
    assert row and row.group(1).count('class="best"') == 1
    # mock-small is the fast profile and the first column
    assert row.group(1).lstrip().startswith('<td class="best">')


def test_overview_lists_every_error_class(built: BuiltReport) -> None:
    table = table_html(built.html, "overview")
    for name in ErrorClass:
        assert len(row_cells(table, str(name))) == 2
    summary = built.run.summary
    assert summary is not None
    requests = [f"{summary['models'][m]['requests']:,}" for m in built.run.models]
    assert row_cells(table, "requests") == requests


def test_definitions_table_names_vllm_and_guidellm(built: BuiltReport) -> None:
    section = built.html.split('id="definitions-table"', 1)[1].split("</table>", 1)[0]
    for d in DEFINITIONS:
        for text in (d.name, d.vllm_name, d.guidellm_name):
            assert str(escape(text)) in section
    assert 'guidellm\'s "ITL" is the per-request average gap' in built.html


def test_untrusted_text_is_escaped_and_warnings_shown(built: BuiltReport) -> None:
    assert 'id="warnings-banner"' in built.html
    assert "&lt;b&gt;not bold&lt;/b&gt;" in built.html
    assert "<b>not bold</b>" not in built.html


def test_complete_run_has_no_partial_banner_but_a_generator_note(built: BuiltReport) -> None:
    assert 'id="partial-banner"' not in built.html
    assert "generator-bound, measurements suspect" in built.html


@pytest.mark.usefixtures("fast_figures")
def test_partial_summary_shows_the_banner(make_run: MakeRun) -> None:
    run = make_run(requests=60, intervals=3, partial=True)
    page = build_report(run.run_dir).read_text(encoding="utf-8")
    assert 'id="partial-banner"' in page


@pytest.mark.usefixtures("fast_figures")
def test_missing_summary_is_rebuilt_and_marked_partial(make_run: MakeRun) -> None:
    run = make_run(requests=120, intervals=4, with_summary=False)
    page = build_report(run.run_dir).read_text(encoding="utf-8")
    assert 'id="partial-banner"' in page and "rebuilt" in page
    assert not (run.run_dir / rundir.SUMMARY).exists()  # the report does not invent files
    rebuilt = rundir_read.rebuild_summary(run.run_dir)
    cells = row_cells(table_html(page, "e2e_ms"), "p99")
    assert cells == [fmt_ms(rebuilt.models[m].e2e_ms.p99) for m in run.models]


@pytest.mark.usefixtures("fast_figures")
def test_torn_last_row_of_a_killed_run_is_ignored(make_run: MakeRun) -> None:
    run = make_run(requests=60, intervals=3, with_summary=False)
    with (run.run_dir / rundir.REQUESTS).open("a", encoding="utf-8") as fh:
        fh.write("1790000003.5,3.5,mock-sm")  # the writer died mid-row
    data = load_report_data(run.run_dir)
    assert set(data.requests["model"]) == set(run.models)
    assert len(data.requests) == 60
    assert build_report(run.run_dir).exists()


def test_empty_run_renders(make_run: MakeRun) -> None:
    run = make_run(requests=0, intervals=3)
    page = build_report(run.run_dir).read_text(encoding="utf-8")
    assert_self_contained(page)
    assert "No ttft_ms values were recorded." in page
    assert "No failed requests" in page


@pytest.mark.usefixtures("fast_figures")
def test_all_failed_single_model_run_renders(make_run: MakeRun) -> None:
    run = make_run(requests=40, intervals=2, models=("solo",), fail_rate=1.0)
    page = build_report(run.run_dir).read_text(encoding="utf-8")
    assert row_cells(table_html(page, "overview"), "error rate") == ["100.0 %"]
    assert row_cells(table_html(page, "ttft_ms"), "p99") == ["–"]
    assert "Most frequent failures" in page


@pytest.mark.usefixtures("fast_figures")
def test_folder_with_only_requests_csv_is_a_run(tmp_path: Path) -> None:
    (tmp_path / rundir.REQUESTS).write_text(",".join(rundir.REQUEST_COLUMNS) + "\n")
    page = build_report(tmp_path).read_text(encoding="utf-8")
    assert 'id="partial-banner"' in page


def test_non_run_folder_raises(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ReportError, match="not a loadprofile run folder"):
        build_report(tmp_path)
    assert str(tmp_path) in str(ReportError(f"{tmp_path}: x"))
