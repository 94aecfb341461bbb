"""Console rendered into StringIO: live line on a TTY, throttled plain lines in logs."""

from __future__ import annotations

import io

import pytest
from core_synthetic import MODELS, Recorded

from loadprofile.console import Console
from loadprofile.contract.summary import TargetInfo
from loadprofile.core.collector import Collector
from loadprofile.core.results import ErrorClass, RequestResult
from loadprofile.core.summary import build_summary
from tests.models import plain, summary_of


def _console(tty: bool, plain_every_s: float = 10.0) -> tuple[Console, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Console(out=out, err=err, tty=tty, plain_every_s=plain_every_s), out, err


def test_tty_progress_rewrites_one_line() -> None:
    console, out, err = _console(tty=True)
    console.progress(1.0, 60.0, 4, 2.5, {"a": 123.4, "b": None})
    console.progress(2.0, 60.0, 8, 5.0, {"a": 99.94, "b": 1500.0})
    text = out.getvalue()
    assert "\n" not in text
    assert text.count("\r") == 2
    last = text.rsplit("\r", 1)[1]
    assert last.startswith("\x1b[2K")
    assert "[    2s/60s]" in last and "users    8" in last and "5.0 req/s" in last
    assert "a p99 TTFT 99.9 ms" in last and "b p99 TTFT 1500 ms" in last
    assert "a p99 TTFT 123 ms  b p99 TTFT - ms" in text  # first line, None shown as '-'
    assert err.getvalue() == ""


def test_info_ends_the_live_line_first() -> None:
    console, out, _ = _console(tty=True)
    console.progress(1.0, 10.0, 1, 1.0, {})
    console.info("done")
    console.info("again")
    text = out.getvalue()
    assert text.endswith(" req/s  \ndone\nagain\n")
    assert text.count("\n") == 3  # one newline closes the live line, not one per message


@pytest.mark.parametrize(
    ("method", "prefix"), [("warn", "warning: "), ("error", "loadprofile: error: ")]
)
def test_warn_and_error_go_to_err(method: str, prefix: str) -> None:
    console, out, err = _console(tty=True)
    console.progress(1.0, 10.0, 1, 1.0, {})
    getattr(console, method)("target slow")
    assert err.getvalue() == f"{prefix}target slow\n"
    assert out.getvalue().endswith("\n")  # the live line was ended before
    getattr(console, method)("twice")
    assert out.getvalue().count("\n") == 1


def test_non_tty_prints_at_most_one_plain_line_per_period() -> None:
    console, out, _ = _console(tty=False, plain_every_s=10.0)
    for tick in range(0, 35):
        console.progress(float(tick), 60.0, 2, 1.0, {"m": 50.0})
    lines = out.getvalue().splitlines()
    assert [line.split("]")[0] for line in lines] == [
        "[    0s/60s",
        "[   10s/60s",
        "[   20s/60s",
        "[   30s/60s",
    ]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_non_tty_uneven_ticks_and_info() -> None:
    console, out, _ = _console(tty=False, plain_every_s=5.0)
    for elapsed in (0.4, 3.0, 5.39, 5.4, 9.0, 11.0):
        console.progress(elapsed, 20.0, 1, 1.0, {})
    console.info("end")
    lines = out.getvalue().splitlines()
    assert len(lines) == 4  # 0.4, 5.4, 11.0, then 'end'
    assert lines[-1] == "end"


def test_tty_detection_follows_the_stream() -> None:
    class FakeTty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert Console(out=FakeTty(), err=io.StringIO()).tty is True
    assert Console(out=io.StringIO(), err=io.StringIO()).tty is False


def test_summary_table_from_build_summary(recorded: Recorded) -> None:
    summary = build_summary(
        run_id="r",
        started_at="",
        duration_s=recorded.end_s,
        target=TargetInfo(),
        load=None,
        models=recorded.collector.totals,
        partial=False,
    )
    console, out, _ = _console(tty=False)
    console.summary_table(summary)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == [
        "model",
        "requests",
        "errors",
        "TTFT",
        "p50",
        "p99",
        "ITL",
        "p50",
        "p99",
        "E2E",
        "p50",
        "p99",
        "tok/s",
    ]
    assert set(lines[1]) == {"-"}
    for model in MODELS:
        entry = plain(summary)["models"][model]
        row = next(line for line in lines if line.startswith(model))
        cells = row[24:].split()
        assert cells[0] == str(entry["requests"])
        assert cells[1] == f"{entry['error_rate'] * 100:.1f}%"
        for cell, metric in zip(cells[3:8:2], ("ttft_ms", "itl_ms", "e2e_ms"), strict=True):
            p99 = entry[metric]["p99"]
            assert cell == (f"{p99:.0f}" if p99 >= 100 else f"{p99:.1f}"), metric
        assert cells[8] == f"{entry['output_tokens_per_s']:.1f}"
        detail = lines[lines.index(row) + 1]
        assert detail.strip().startswith("errors: ")
        for cls, n in entry["errors"].items():
            assert f"{cls} {n}" in detail


def test_summary_table_with_empty_histograms_and_long_names() -> None:
    collector = Collector(0)
    name = "a-really-long-organisation/model-name:70b"
    collector.record(
        RequestResult(
            model=name, conversation_id="c", turn=1, start_unix=0.0, error_class=ErrorClass.CONNECT
        )
    )
    collector.roll(1)
    summary = build_summary(
        run_id="r",
        started_at="",
        duration_s=1.0,
        target=TargetInfo(),
        load=None,
        models=collector.totals,
        partial=True,
    )
    console, out, _ = _console(tty=False)
    console.summary_table(summary)
    lines = out.getvalue().splitlines()
    row = lines[2]
    assert row.startswith(name[:23] + " ")
    assert row[24:].split() == ["1", "100.0%", "-", "-", "-", "-", "-", "-", "0.0"]
    assert lines[3].strip() == "errors: connect 1"


def test_summary_table_with_no_models() -> None:
    console, out, _ = _console(tty=False)
    console.summary_table(summary_of({"models": {}}))
    assert len(out.getvalue().splitlines()) == 2


def test_progress_is_due_only_when_it_would_print() -> None:
    import io

    from loadprofile.console import Console

    plain = Console(out=io.StringIO(), err=io.StringIO(), tty=False, plain_every_s=10.0)
    assert plain.progress_due(0.0)
    plain.progress(0.0, 30.0, 5, 1.0, {"m": 50.0})
    assert not plain.progress_due(5.0) and plain.progress_due(10.0)
    assert Console(out=io.StringIO(), err=io.StringIO(), tty=True).progress_due(0.5)
