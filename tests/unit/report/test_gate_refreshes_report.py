"""``loadprofile gate RUN_DIR`` rebuilds report.html so that the page shows its verdicts; a
folder the report cannot be built from keeps the gate's exit code and says how to rebuild."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from markupsafe import escape
from report_fixtures import SyntheticRun

from loadprofile.cli import main
from loadprofile.report import build_report
from loadprofile.rundir import writer as rundir

MakeRun = Callable[..., SyntheticRun]
BOUND = "ttft_ms.p99 <= 1"  # synthetic TTFTs are hundreds of ms: fails


def _slo(folder: Path, *bounds: str) -> Path:
    path = folder / "slo.toml"
    path.write_text(f"[all]\nbounds = {json.dumps(list(bounds))}\n", encoding="utf-8")
    return path


@pytest.mark.usefixtures("fast_figures")
def test_gate_on_a_folder_without_a_report_writes_one_with_the_verdicts(
    make_run: MakeRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = make_run(requests=120, intervals=4)  # like `run --no-report`: no report.html
    page = run.run_dir / rundir.REPORT
    assert not page.exists()
    assert main(["gate", str(run.run_dir), "--slo", str(_slo(tmp_path, BOUND))]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"report: {page} (with the verdicts)"
    html = page.read_text(encoding="utf-8")
    assert 'id="gate-verdicts"' in html and f"<code>{escape(BOUND)}</code>" in html
    assert 'id="gate-banner"' in html


@pytest.mark.usefixtures("fast_figures")
def test_a_report_older_than_gate_json_is_rebuilt_with_the_verdicts(
    make_run: MakeRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = make_run(requests=120, intervals=4)
    page = build_report(run.run_dir)
    assert 'id="gate-verdicts"' not in page.read_text(encoding="utf-8")
    assert main(["gate", str(run.run_dir), "--slo", str(_slo(tmp_path, "error_rate <= 1"))]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"report: {page} (with the verdicts)")
    html = page.read_text(encoding="utf-8")
    assert 'id="gate-verdicts"' in html and "<code>error_rate &lt;= 1</code>" in html


def test_a_folder_the_report_cannot_be_built_from_keeps_the_exit_code(
    make_run: MakeRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """summary.json alone: the gate judges it; the report needs run.json or requests.csv."""
    run = make_run(requests=60, intervals=3)
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(run.run_dir / rundir.SUMMARY, bare / rundir.SUMMARY)
    assert main(["gate", str(bare), "--slo", str(_slo(tmp_path, BOUND))]) == 1
    captured = capsys.readouterr()
    assert "gate FAILED" in captured.out and "report:" not in captured.out
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("report: not rebuilt (") and "not a loadprofile run folder" in line
    assert line.endswith(f"rebuild it with: loadprofile report {bare}")
    assert not (bare / rundir.REPORT).exists()


def test_the_gate_shows_cost_bounds_in_dollars(
    make_run: MakeRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On the console, in JUnit and in Markdown: $0.000054, never 5.4e-05."""
    run = make_run(requests=60, intervals=3)
    summary_path = run.run_dir / rundir.SUMMARY
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary["cost"] = {m: {"per_transaction": {"mean": 5.4e-05}} for m in run.models}
    summary_path.write_text(json.dumps(summary), encoding="utf-8")
    (run.run_dir / rundir.REQUESTS).unlink()  # no report: this test is about the gate's text
    (run.run_dir / rundir.RUN).unlink()
    slo = _slo(tmp_path, "cost.per_transaction.mean <= 0.00004", "error_rate <= 1")
    junit, md = tmp_path / "gate.xml", tmp_path / "gate.md"
    argv = ["gate", str(run.run_dir), "--slo", str(slo), "--junit", str(junit)]
    assert main([*argv, "--markdown", str(md)]) == 1
    out = capsys.readouterr().out
    assert "$0.000054  $0.00004" in out
    for text in (out, junit.read_text(encoding="utf-8"), md.read_text(encoding="utf-8")):
        assert "e-05" not in text
    assert "actual $0.000054, limit $0.00004" in junit.read_text(encoding="utf-8")
    assert "| $0.000054 | $0.00004 |" in md.read_text(encoding="utf-8")
