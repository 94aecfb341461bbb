"""A run folder's summary as the gate and compare read it: summary.json (or the summary
rebuilt from the files of a run that died), run.json, and one model's figures by path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loadprofile.config.slo import SloError
from loadprofile.rundir import reader as rundir_read
from loadprofile.rundir.writer import REQUESTS, RUN, SUMMARY, read_json


class SideError(ValueError):
    """The run folder or the model cannot be compared (one line for the user)."""


def read_summary(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(summary, run.json, rebuilt?) of a run folder; SideError if it is not one (or its
    files are not what loadprofile writes)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise SideError(f"{run_dir}: no such run folder")
    run = _json_object(run_dir / RUN) if (run_dir / RUN).is_file() else {}
    if (run_dir / SUMMARY).is_file():
        try:
            return _json_object(run_dir / SUMMARY), run, False
        except SideError:
            pass  # torn by a crash: rebuild below
    if not run and not (run_dir / REQUESTS).is_file():
        raise SideError(f"{run_dir}: not a run folder (no summary.json, run.json or requests.csv)")
    try:
        return rundir_read.rebuild_summary(run_dir), run, True
    except (ValueError, KeyError, TypeError) as exc:
        raise SideError(f"{run_dir}: cannot rebuild its summary: {exc}") from None


def _json_object(path: Path) -> dict[str, Any]:
    try:
        data = read_json(path)
    except (ValueError, OSError) as exc:  # ValueError: bad JSON or bad UTF-8
        raise SideError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise SideError(f"{path}: not a loadprofile file (expected a JSON object)")
    return data


def model_view(summary: dict[str, Any], model: str) -> dict[str, Any]:
    """One model's figures as metric paths name them (compare's and the gate's)."""
    return {
        **((summary.get("models") or {}).get(model) or {}),
        "correctness": (summary.get("correctness") or {}).get(model) or {},
        "cost": (summary.get("cost") or {}).get(model) or {},
    }


def figure(view: dict[str, Any], path: str, model: str) -> float | None:
    """The figure at a dotted path; None when the run has no value for it (no data)."""
    node: Any = view
    walked: list[str] = []
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            if walked == ["cost"] and not node:
                raise SloError(
                    f"{path}: no cost figures for {model} (give its prices in the run's "
                    f"--config, [prices.{model}])"
                )
            known = ", ".join(sorted(k for k in node)) if isinstance(node, dict) else ""
            raise SloError(
                f"no metric {path!r} for {model}"
                + (f" (known at {'.'.join(walked) or 'top'}: {known})" if known else "")
            )
        node = node[key]
        walked.append(key)
    if isinstance(node, dict):
        raise SloError(f"{path!r} is a group of figures; name one: {', '.join(sorted(node))}")
    if node is None:
        return None
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise SloError(f"{path!r} is not a number ({node!r})")
    return float(node)
