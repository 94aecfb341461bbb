"""Fixtures for the report tests; the run-folder builders live in report_fixtures.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import (
    BuiltReport,
    SyntheticRun,
    open_shape,
    spike_shape,
    step_shape,
    write_run,
)


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


def _build(factory: pytest.TempPathFactory, name: str, **kwargs: Any) -> BuiltReport:
    from loadprofile.report import build_report

    run = write_run(factory.mktemp(name) / "run", **kwargs)
    path = build_report(run.run_dir)
    return BuiltReport(run, path, path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def built_spike(tmp_path_factory: pytest.TempPathFactory) -> BuiltReport:
    """Two models, 2 -> 10 -> 2 users each; mock-small recovers, mock-large does not."""
    return _build(
        tmp_path_factory, "spike", requests=1200, intervals=12, shape=spike_shape(), fail_rate=0.02
    )


@pytest.fixture(scope="module")
def built_step(tmp_path_factory: pytest.TempPathFactory) -> BuiltReport:
    """Steps of 2, 4, 8 users per model with a TTFT p99 SLO (max concurrency 4 and 2)."""
    return _build(tmp_path_factory, "step", requests=900, intervals=9, shape=step_shape())


@pytest.fixture(scope="module")
def built_open(tmp_path_factory: pytest.TempPathFactory) -> BuiltReport:
    """Open loop at 20/s, every send 30 ms late, three generator-bound seconds."""
    return _build(tmp_path_factory, "open", requests=400, intervals=8, shape=open_shape(8))


@pytest.fixture(scope="module")
def built_old(tmp_path_factory: pytest.TempPathFactory) -> BuiltReport:
    """A folder from before load shapes: none of the new keys or columns."""
    return _build(tmp_path_factory, "old", requests=200, intervals=4, old_format=True)


@pytest.fixture
def fast_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip PNG encoding (the slow part) in tests about the page's words, not its figures."""
    from loadprofile.report import plots

    monkeypatch.setattr(plots, "to_data_uri", lambda fig: "data:image/png;base64,")
