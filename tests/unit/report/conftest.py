"""Fixtures for the report tests; the run-folder builders live in report_fixtures.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import BuiltReport, SyntheticRun, write_run


@pytest.fixture
def make_run(tmp_path: Path) -> Callable[..., SyntheticRun]:
    def make(name: str = "run", **kwargs: Any) -> SyntheticRun:
        return write_run(tmp_path / name, **kwargs)

    return make


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltReport:
    """One full two-model report, built once per module (matplotlib is the slow part)."""
    from loadprofile.report import build_report

    run = write_run(tmp_path_factory.mktemp("built") / "run")
    path = build_report(run.run_dir)
    return BuiltReport(run, path, path.read_text(encoding="utf-8"))


@pytest.fixture
def fast_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip PNG encoding (the slow part) in tests about the page's words, not its figures."""
    from loadprofile.report import plots

    monkeypatch.setattr(plots, "to_data_uri", lambda fig: "data:image/png;base64,")
