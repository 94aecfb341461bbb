"""The self-contained HTML report, built from a run folder alone.

``build_report(run_dir)`` reads the folder (``data``), decides what to show (``context``),
draws the figures (``plots``) and fills the template (``render``); it never imports Locust
or the runner, so a run made elsewhere is re-reported anywhere. The page embeds its figures
and CSS and opens offline.

The drawing modules are imported when a report is built, not with the package: the commands
that only format (the gate's table, its costs through ``report.money``) never load matplotlib.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loadprofile.report.data import ReportError

__all__ = ["ReportError", "build_report"]


def build_report(run_dir: Path) -> Path:
    """Write ``run_dir/report.html`` and return its path; ReportError if not a run folder."""
    from loadprofile.report.context import build_context
    from loadprofile.report.data import load_report_data
    from loadprofile.report.render import render
    from loadprofile.rundir.writer import REPORT

    run_dir = Path(run_dir)
    html = render(build_context(load_report_data(run_dir)))
    path = run_dir / REPORT
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)  # a reader (or a CI artifact upload) never sees half a page
    return path


def __getattr__(name: str) -> Any:
    if name == "ReportError":  # defined beside the reading it stands for
        from loadprofile.report.data import ReportError

        return ReportError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
