"""The layers of DESIGN.md, checked on the source: who may import whom."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "loadprofile"

PURE_CORE = [
    "apis",
    "collector.py",
    "hdr.py",
    "steps.py",
    "recent.py",
    "dataset.py",
    "config.py",
    "results.py",
    "metrics.py",
    "summary.py",
    "hlog.py",
    "fleet_wire.py",
    "fleet_merge.py",
    "fleet_options.py",
    "arrivals.py",
    "open_loop.py",
    "loadplan.py",
    "phases.py",
    "generator_health.py",
    "load_options.py",
    "user_mix.py",
    "content_check.py",
    "drift.py",
    "snapshot_format.py",
    "output_samples.py",
    "grounding.py",
    "check_options.py",
    "config_file.py",
    "pricing.py",
    "cost.py",
    "retry_policy.py",
    "slo.py",
    "targets.py",
    "prefix.py",
    "server_metrics.py",
    "server_panels.py",
    "prompt_fit.py",
    "server_context.py",
    "extra_body.py",
]
OUTPUTS = [
    "rundir.py",
    "rundir_read.py",
    "report",
    "recorder.py",
    "diff_report.py",
    "significance.py",
    "run_view.py",
    "gate.py",
    "gate_output.py",
    "gate_cmd.py",
    "webhook.py",
    "compare.py",
    "compare_report.py",
    "compare_cmd.py",
]
FORBIDDEN_IN_CORE = {
    "locust",
    "gevent",
    "matplotlib",
    "aiohttp",
    "asyncio",
    "loadprofile.users",
    "loadprofile.runner",
    "loadprofile.session",
    "loadprofile.report",
}
FORBIDDEN_IN_OUTPUTS = {
    "locust",
    "gevent",
    "aiohttp",
    "asyncio",
    "loadprofile.runner",
    "loadprofile.users",
    "loadprofile.session",
    "loadprofile.mock",
}


def _files(entries: list[str]) -> list[Path]:
    out: list[Path] = []
    for entry in entries:
        path = PACKAGE / entry
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(path: Path, forbidden: set[str]) -> list[str]:
    return sorted(
        name
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    )


@pytest.mark.parametrize("path", _files(PURE_CORE), ids=lambda p: p.name)
def test_pure_core_imports_no_locust_no_plotting_no_io_layers(path: Path) -> None:
    assert _violations(path, FORBIDDEN_IN_CORE) == []


@pytest.mark.parametrize("path", _files(OUTPUTS), ids=lambda p: p.name)
def test_outputs_read_only_the_run_folder(path: Path) -> None:
    assert _violations(path, FORBIDDEN_IN_OUTPUTS) == []


@pytest.mark.parametrize("path", _files(["mock"]), ids=lambda p: p.name)
def test_mock_imports_nothing_of_the_rest(path: Path) -> None:
    others = {n for n in _imports(path) if n.startswith("loadprofile.")}
    assert {n for n in others if not n.startswith("loadprofile.mock")} == set()
    assert _violations(path, {"locust", "gevent"}) == []


@pytest.mark.parametrize(
    "path",
    _files(
        [
            "http",
            "streaming.py",
            "preflight.py",
            "mockproc.py",
            "snapshot.py",
            "snapshot_cmd.py",
            "processes.py",
        ]
    ),
    ids=lambda p: p.name,
)
def test_io_layer_does_not_import_locust(path: Path) -> None:
    """Usable outside Locust (snapshots, preflight) and never monkey-patches by itself."""
    assert _violations(path, {"locust", "gevent", "asyncio", "aiohttp", "matplotlib"}) == []
