"""A run folder's summary as the gate and compare read it: summary.json (or the summary
rebuilt from the files of a run that died), run.json, and one model's figures by path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import msgspec

from loadprofile.config.slo import SloError
from loadprofile.contract.run_meta import RunMeta, decode_run_meta
from loadprofile.contract.summary import (
    Correctness,
    ModelCost,
    ModelFigures,
    Summary,
    decode_summary,
)
from loadprofile.rundir import reader as rundir_read
from loadprofile.rundir.writer import REQUESTS, RUN, SUMMARY

T = TypeVar("T")


class SideError(ValueError):
    """The run folder or the model cannot be compared (one line for the user)."""


class TornFile(SideError):
    """A file that cannot be read or is no JSON object at all (torn by a crash, say)."""


def read_summary(run_dir: Path) -> tuple[Summary, RunMeta, bool]:
    """(summary, run.json, rebuilt?) of a run folder; SideError if it is not one (or its
    files are not what loadprofile writes)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise SideError(f"{run_dir}: no such run folder")
    has_run = (run_dir / RUN).is_file()
    run = read_model(run_dir / RUN, decode_run_meta) if has_run else RunMeta()
    if (run_dir / SUMMARY).is_file():
        try:
            return read_model(run_dir / SUMMARY, decode_summary), run, False
        except TornFile:
            pass  # torn by a crash: rebuild below
    if not has_run and not (run_dir / REQUESTS).is_file():
        raise SideError(f"{run_dir}: not a run folder (no summary.json, run.json or requests.csv)")
    try:
        return rundir_read.rebuild_summary(run_dir, run), run, True
    except (ValueError, KeyError, TypeError) as exc:
        raise SideError(f"{run_dir}: cannot rebuild its summary: {exc}") from None


def read_model(path: Path, decode: Callable[[bytes], T]) -> T:
    """A run-folder JSON file as its model; SideError (one line) when it holds a value of
    the wrong type, TornFile (a SideError) when it cannot be read or is no JSON object."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TornFile(f"{path}: unreadable ({exc})") from None
    try:
        return decode(data)
    except msgspec.ValidationError as exc:
        if not data.lstrip().startswith(b"{"):
            raise TornFile(f"{path}: not a loadprofile file (expected a JSON object)") from None
        raise SideError(f"{path}: not a loadprofile file ({exc})") from None
    except msgspec.DecodeError as exc:  # bad JSON or bad UTF-8
        raise TornFile(f"{path}: unreadable ({exc})") from None


@dataclass(frozen=True)
class ModelView:
    """One model's figures as metric paths name them (compare's and the gate's): its
    summary.json entry, with ``correctness`` and ``cost`` (None: the run has none)."""

    figures: ModelFigures | None
    correctness: Correctness | None
    cost: ModelCost | None

    @property
    def requests(self) -> int:
        return self.figures.requests if self.figures is not None else 0

    @cached_property
    def tree(self) -> dict[str, object]:
        """The figures as summary.json holds them, for a dotted path's walk."""
        own: dict[str, object] = {}
        if self.figures is not None:
            own = msgspec.to_builtins(self.figures)
        return {
            **own,
            "correctness": msgspec.to_builtins(self.correctness) if self.correctness else {},
            "cost": msgspec.to_builtins(self.cost) if self.cost else {},
        }


def model_view(summary: Summary, model: str) -> ModelView:
    """One model's figures as metric paths name them (compare's and the gate's)."""
    return ModelView(
        summary.models.get(model),
        summary.correctness.get(model),
        (summary.cost or {}).get(model),
    )


def figure(view: ModelView, path: str, model: str) -> float | None:
    """The figure at a dotted path; None when the run has no value for it (no data).

    Paths come from SLO files and compare's list, so the walk goes by name over the
    model's figures as the file holds them."""
    node: object = view.tree
    walked: list[str] = []
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            if walked == ["cost"] and not node:
                raise SloError(
                    f"{path}: no cost figures for {model} (give its prices in the run's "
                    f"--config, [prices.{model}])"
                )
            known = ", ".join(sorted(str(k) for k in node)) if isinstance(node, dict) else ""
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
