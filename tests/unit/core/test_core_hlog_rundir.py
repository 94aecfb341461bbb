"""Interval logs and the run folder: round trips, hdrh's own reader, crashes, rebuilds."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from core_synthetic import MODELS, START_UNIX, Recorded
from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

from loadprofile.contract.summary import TargetInfo
from loadprofile.core.collector import Collector, ModelTotals
from loadprofile.core.generator_health import GeneratorSample
from loadprofile.core.metrics import METRICS
from loadprofile.core.results import RequestResult
from loadprofile.core.summary import build_summary, histogram_summary
from loadprofile.rundir import hlog
from loadprofile.rundir import reader as rundir_read
from loadprofile.rundir import writer as rundir
from tests.models import plain


@dataclass
class WrittenRun:
    run_dir: Path
    writer: rundir.RunWriter
    rec: Recorded


def _write(run_dir: Path, rec: Recorded, *, run_json: bool = True) -> WrittenRun:
    writer = rundir.RunWriter(run_dir, START_UNIX)
    by_interval: dict[int, list[RequestResult]] = {}
    per = len(rec.results) // len(rec.rolls)
    for i, r in enumerate(rec.results):
        by_interval.setdefault(i // per, []).append(r)
    for k, (start_s, end_s, closed) in enumerate(rec.rolls):
        for r in by_interval.get(k, []):
            writer.add_request(r)
        writer.add_intervals(start_s, end_s, closed, {m: 3 + k for m in MODELS})
        writer.add_generator_sample(GeneratorSample(start_s, end_s, 2 * (3 + k), 40.0 + k))
    writer.close()
    if run_json:
        rundir.write_json(
            run_dir / rundir.RUN,
            {
                "run_id": "x",
                "models": list(MODELS),
                "histograms": writer.histogram_files,
            },
        )
    return WrittenRun(run_dir, writer, rec)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, recorded: Recorded) -> WrittenRun:
    """One run folder shared by the read-only tests of this module."""
    return _write(tmp_path_factory.mktemp("written") / "run", recorded)


def _intervals_of(rec: Recorded, model: str, metric: str) -> list[tuple[float, float, bytes]]:
    return [
        (s, e, iv.histograms[metric].encode())
        for s, e, closed in rec.rolls
        for iv in closed
        if iv.model == model and iv.histograms[metric].get_total_count()
    ]


# --------------------------------------------------------------------------- hlog files


def test_histogram_files_are_listed_per_model_and_metric(written: WrittenRun) -> None:
    files = written.writer.histogram_files
    assert set(files) == set(MODELS)
    for model, per_metric in files.items():
        assert set(per_metric) == set(METRICS)
        for metric, rel in per_metric.items():
            assert rel == f"histograms/{rundir.model_slug(model)}.{metric}.hlog"
            assert (written.run_dir / rel).is_file()


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("metric", METRICS)
def test_read_hlog_round_trip(written: WrittenRun, model: str, metric: str) -> None:
    path = written.run_dir / written.writer.histogram_files[model][metric]
    start_unix, intervals = hlog.read_hlog(path)
    assert start_unix == pytest.approx(START_UNIX, abs=5e-4)
    expected = _intervals_of(written.rec, model, metric)
    assert len(intervals) == len(expected) == len(written.rec.rolls)
    for iv, (start_s, end_s, encoded) in zip(intervals, expected, strict=True):
        assert (iv.start_s, iv.end_s) == pytest.approx((start_s, end_s), abs=1e-3)
        assert iv.histogram.encode() == encoded
    merged = HdrHistogram(1, 3_600_000_000, 3)
    for iv in intervals:
        merged.add(iv.histogram)
    total = written.rec.collector.totals[model].histograms[metric]
    assert histogram_summary(merged) == histogram_summary(total)


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("metric", METRICS)
def test_hdrh_own_log_reader_reads_the_logs(written: WrittenRun, model: str, metric: str) -> None:
    path = written.run_dir / written.writer.histogram_files[model][metric]
    reader = HistogramLogReader(str(path), HdrHistogram(1, 3_600_000_000, 3))
    try:
        intervals = []
        while (h := reader.get_next_interval_histogram()) is not None:
            intervals.append(h)
        assert reader.get_start_time_sec() == pytest.approx(START_UNIX, abs=5e-4)
    finally:
        reader.input_file.close()
    expected = _intervals_of(written.rec, model, metric)
    assert len(intervals) == len(expected)
    for h, (start_s, end_s, encoded) in zip(intervals, expected, strict=True):
        assert h.encode() == encoded
        assert h.get_tag() == metric
        # BaseTime is honoured: absolute stamps (ms) are start time + relative seconds.
        assert h.get_start_time_stamp() == pytest.approx((START_UNIX + start_s) * 1000, abs=2)
        assert h.get_end_time_stamp() == pytest.approx((START_UNIX + end_s) * 1000, abs=2)

    reader = HistogramLogReader(str(path), HdrHistogram(1, 3_600_000_000, 3))
    try:
        while reader.add_next_interval_histogram() is not None:
            pass
        total = reader.reference_histogram
    finally:
        reader.input_file.close()
    expected_total = written.rec.collector.totals[model].histograms[metric]
    assert total.get_total_count() == expected_total.get_total_count() > 0
    assert total.encode() == expected_total.encode()


def test_header_lines_hold_the_start_time(written: WrittenRun) -> None:
    rel = written.writer.histogram_files["org/alpha:7b"]["ttft_ms"]
    lines = (written.run_dir / rel).read_text(encoding="ascii").splitlines()
    iso = datetime.fromtimestamp(START_UNIX, UTC).isoformat(timespec="milliseconds")
    assert lines[0] == "#loadprofile model=org/alpha:7b metric=ttft_ms unit=microseconds"
    assert lines[1] == "#[Histogram log format version 1.3]"
    assert lines[2] == f"#[StartTime: {START_UNIX:.3f} (seconds since epoch), {iso}]"
    assert lines[3] == f"#[BaseTime: {START_UNIX:.3f} (seconds since epoch)]"
    assert (
        lines[4] == '"StartTimestamp","Interval_Length","Interval_Max",'
        '"Interval_Compressed_Histogram"'
    )
    first = lines[5].split(",")
    assert first[:3] == ["Tag=ttft_ms", "0.000", "1.000"]
    hist0 = next(iv for iv in written.rec.rolls[0][2] if iv.model == "org/alpha:7b")
    assert float(first[3]) == pytest.approx(
        hist0.histograms["ttft_ms"].get_max_value() / 1000, abs=1e-3
    )
    assert first[4].startswith("HISTF")


@pytest.mark.parametrize(
    ("start_unix", "iso"),
    [(0.0, "1970-01-01T00:00:00.000+00:00"), (1_790_000_000.5, "2026-09-21T14:13:20.500+00:00")],
)
def test_hlog_header_table(start_unix: float, iso: str) -> None:
    text = hlog.hlog_header(start_unix)
    assert f"#[StartTime: {start_unix:.3f} (seconds since epoch), {iso}]\n" in text
    assert f"#[BaseTime: {start_unix:.3f} (seconds since epoch)]\n" in text
    assert not text.startswith("#\n")  # no empty comment line without a comment


def _small_log(path: Path, intervals: int = 3) -> list[bytes]:
    encoded = []
    with path.open("w", encoding="ascii") as fh:
        writer = hlog.HlogWriter(fh, START_UNIX, "e2e_ms", "crash test")
        for k in range(intervals):
            h = HdrHistogram(1, 3_600_000_000, 3)
            for v in range(1, 200 + 50 * k):
                h.record_value(v * 997 + k)
            writer.write(float(k), float(k + 1), h)
            encoded.append(h.encode())
    return encoded


@pytest.mark.parametrize("fraction", [0.02, 0.25, 0.5, 0.75, 0.98])
def test_log_cut_mid_line_keeps_complete_intervals(tmp_path: Path, fraction: float) -> None:
    path = tmp_path / "x.hlog"
    encoded = _small_log(path)
    data = path.read_bytes()
    last_start = data.rstrip(b"\n").rfind(b"\n") + 1
    cut = last_start + int((len(data) - last_start) * fraction)
    assert last_start < cut < len(data) - 1
    path.write_bytes(data[:cut])
    start_unix, intervals = hlog.read_hlog(path)
    assert start_unix == pytest.approx(START_UNIX, abs=5e-4)
    assert [iv.histogram.encode() for iv in intervals] == encoded[:-1]


def test_log_cut_at_every_position_of_the_last_line(tmp_path: Path) -> None:
    path = tmp_path / "x.hlog"
    encoded = _small_log(path)
    data = path.read_bytes()
    last_start = data.rstrip(b"\n").rfind(b"\n") + 1
    for cut in range(last_start, len(data) - 1):
        path.write_bytes(data[:cut])
        _, intervals = hlog.read_hlog(path)
        got = [iv.histogram.encode() for iv in intervals]
        assert got == encoded[:-1], f"cut at byte {cut - last_start} of the last line"
    # Only the newline missing: the line is complete and counts.
    path.write_bytes(data[:-1])
    assert len(hlog.read_hlog(path)[1]) == len(encoded)


def test_log_cut_in_the_header_reads_nothing(tmp_path: Path) -> None:
    path = tmp_path / "x.hlog"
    _small_log(path)
    path.write_bytes(path.read_bytes()[:30])
    start_unix, intervals = hlog.read_hlog(path)
    assert (start_unix, intervals) == (None, [])


def test_read_hlog_skips_garbage_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.hlog"
    encoded = _small_log(path, intervals=2)
    text = path.read_text(encoding="ascii")
    lines = text.splitlines(keepends=True)
    lines.insert(-1, "not,a,valid,line\n")
    lines.insert(-1, "\n")
    lines.insert(-1, "Tag=e2e_ms,1.0,1.0,2.0,HISTFAAAnotbase64!!\n")
    path.write_text("".join(lines), encoding="ascii")
    _, intervals = hlog.read_hlog(path)
    assert [iv.histogram.encode() for iv in intervals] == encoded


def test_untagged_lines_are_read_too(tmp_path: Path) -> None:
    h = HdrHistogram(1, 3_600_000_000, 3)
    h.record_value(1234)
    path = tmp_path / "plain.hlog"
    line = hlog.hlog_line("t", 2.0, 1.5, h.encode(), h.get_max_value()).split(",", 1)[1]
    path.write_text(hlog.hlog_header(START_UNIX) + line, encoding="ascii")
    _, intervals = hlog.read_hlog(path)
    assert [(iv.start_s, iv.end_s) for iv in intervals] == [(2.0, 3.5)]
    assert intervals[0].histogram.get_total_count() == 1


# --------------------------------------------------------------------------- run folder


def test_csv_tables(written: WrittenRun) -> None:
    with (written.run_dir / rundir.REQUESTS).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == rundir.REQUEST_COLUMNS
    assert len(rows) == len(written.rec.results)
    failed = [row for row in rows if row["error_class"]]
    assert len(failed) == sum(not r.ok for r in written.rec.results)
    assert {row["error_class"] for row in failed} <= {
        str(r.error_class) for r in written.rec.results if not r.ok
    }
    with (written.run_dir / rundir.TIMESERIES).open(newline="", encoding="utf-8") as fh:
        series = list(csv.DictReader(fh))
    assert len(series) == len(written.rec.rolls) * len(MODELS)
    assert sum(int(row["requests"]) for row in series) == len(written.rec.results)
    with (written.run_dir / rundir.GENERATOR).open(newline="", encoding="utf-8") as fh:
        generator = list(csv.DictReader(fh))
    assert [row["cpu_percent"] for row in generator] == ["40.0", "41.0", "42.0", "43.0", "44.0"]


def test_interval_without_data_writes_a_series_row_but_no_log(tmp_path: Path) -> None:
    writer = rundir.RunWriter(tmp_path, START_UNIX)
    writer.add_intervals(0.0, 1.0, [], {"idle-model": 4})
    writer.close()
    assert writer.histogram_files == {}
    assert list((tmp_path / rundir.HISTOGRAMS).iterdir()) == []
    rows = (tmp_path / rundir.TIMESERIES).read_text().splitlines()
    assert rows[1] == "0.000,1.000,idle-model,4,0,0,0,0,,,"


def test_rebuild_summary_equals_build_summary(written: WrittenRun) -> None:
    assert not (written.run_dir / rundir.SUMMARY).exists()
    rebuilt = plain(rundir_read.rebuild_summary(written.run_dir))
    original = plain(
        build_summary(
            run_id="x",
            started_at="",
            duration_s=written.rec.end_s,
            target=TargetInfo(),
            load=None,
            models=written.rec.collector.totals,
            partial=False,
        )
    )
    assert rebuilt["partial"] is True
    assert rebuilt["run_id"] == "x"
    assert rebuilt["duration_s"] == written.rec.end_s
    assert list(rebuilt["models"]) == list(original["models"])
    for model, entry in original["models"].items():
        got = rebuilt["models"][model]
        for metric in METRICS:
            assert got[metric] == entry[metric], (model, metric)
        assert got == entry, model  # counts, errors, rates and token figures too


def test_rebuild_summary_without_histogram_map_uses_slugs(
    tmp_path: Path, recorded: Recorded
) -> None:
    run = _write(tmp_path / "run", recorded, run_json=False)
    rundir.write_json(run.run_dir / rundir.RUN, {"run_id": "y"})
    rebuilt = plain(rundir_read.rebuild_summary(run.run_dir))
    assert rebuilt["partial"] is True
    slug = rundir.model_slug("org/alpha:7b")
    assert rebuilt["models"][slug]["ttft_ms"] == histogram_summary(
        recorded.collector.totals["org/alpha:7b"].histograms["ttft_ms"]
    )


def test_rebuild_summary_after_a_crash_mid_write(tmp_path: Path, recorded: Recorded) -> None:
    run = _write(tmp_path / "run", recorded)
    for rel in (f for per in run.writer.histogram_files.values() for f in per.values()):
        path = run.run_dir / rel
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - 40])  # last interval line cut in half
    rebuilt = plain(rundir_read.rebuild_summary(run.run_dir))
    for model in MODELS:
        expected = ModelTotals()
        for _, _, closed in recorded.rolls[:-1]:
            for iv in closed:
                if iv.model == model:
                    for metric in METRICS:
                        if iv.histograms[metric].get_total_count():
                            expected.histograms[metric].add(iv.histograms[metric])
        for metric in METRICS:
            assert rebuilt["models"][model][metric] == histogram_summary(
                expected.histograms[metric]
            )


@pytest.mark.parametrize(
    ("label", "slug"),
    [
        ("org/model:7b", "org_model_7b"),
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("Qwen/Qwen2.5-7B-Instruct", "Qwen_Qwen2.5-7B-Instruct"),
        ("llama3.1:8b-instruct-q4_K_M", "llama3.1_8b-instruct-q4_K_M"),
        ("a  b//c", "a_b_c"),
        ("../../etc/passwd", "etc_passwd"),
        (".hidden", "hidden"),
        ("", "model"),
        ("...", "model"),
        ("/", "model"),
        ("modèle", "mod_le"),
    ],
)
def test_model_slug(label: str, slug: str) -> None:
    """Safe labels stay as they are; others get a short hash so they cannot collide."""
    got = rundir.model_slug(label)
    if slug == label:
        assert got == slug
    else:
        base, _, digest = got.rpartition("-")
        assert base == slug and len(digest) == 6


def test_models_with_colliding_slugs_keep_separate_logs(tmp_path: Path) -> None:
    collector = Collector(0)
    for model, ttft in (("org/m", 10.0), ("org:m", 900.0)):
        collector.record(
            RequestResult(model=model, conversation_id="c", turn=1, start_unix=0.0, ttft_ms=ttft)
        )
    writer = rundir.RunWriter(tmp_path, START_UNIX)
    writer.add_intervals(0.0, 1.0, collector.roll(1_000_000_000), {})
    writer.close()
    paths = {writer.histogram_files[m]["ttft_ms"] for m in ("org/m", "org:m")}
    assert len(paths) == 2
    for model, ttft in (("org/m", 10.0), ("org:m", 900.0)):
        _, intervals = hlog.read_hlog(tmp_path / writer.histogram_files[model]["ttft_ms"])
        assert len(intervals) == 1
        assert intervals[0].histogram.get_max_value() == pytest.approx(ttft * 1000, rel=1e-3)


def test_write_json_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    rundir.write_json(path, {"a": 1, "name": "modèle"})
    assert rundir.read_json(path) == {"a": 1, "name": "modèle"}
    assert "modèle" in path.read_text(encoding="utf-8")  # not \u-escaped
    rundir.write_json(path, {"a": 2})
    assert json.loads(path.read_text(encoding="utf-8")) == {"a": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]


def test_write_json_failure_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    rundir.write_json(path, {"ok": True})
    with pytest.raises(TypeError):
        rundir.write_json(path, {"bad": object()})
    assert rundir.read_json(path) == {"ok": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_histogram_files_map_slugs_back_without_a_file_map(tmp_path: Path) -> None:
    """A run killed before run.json listed its logs: labels come back from run.json models."""
    (tmp_path / "histograms").mkdir()
    path = rundir.histogram_path(tmp_path, "org/m", "ttft_ms")
    path.write_text("")
    rundir.write_json(tmp_path / "run.json", {"models": ["org/m"]})
    assert rundir_read.histogram_files(tmp_path) == [("org/m", "ttft_ms", path)]
