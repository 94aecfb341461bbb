"""``loadprofile trend add RUN_DIR`` and ``loadprofile run --trend-db``: record a run folder
in the trend store, with its labels, in its series; one line says what happened.

The labels and a ``--series`` name are also kept in the folder (trend.json), so adding the
folders again rebuilds the store as it was, labels and all.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from loadprofile.commands.trend.backends import check_db
from loadprofile.commands.trend.figures import read_run
from loadprofile.commands.trend.store import SqlStore, open_store
from loadprofile.commands.trend.store_api import RunFigures
from loadprofile.contract.trend_entry import TrendEntry
from loadprofile.errors import LoadprofileError, UsageError
from loadprofile.rundir.trend_file import TREND, read_trend_entry, write_trend_entry

MAX_SERIES_NAME = 100

Say = Callable[[str], None]


@dataclass(frozen=True)
class TrendOptions:
    """Checked: where to record the run, its labels, the series name given (if any)."""

    db: str
    labels: dict[str, str] = field(default_factory=dict)
    series: str | None = None


def run_add(args: argparse.Namespace) -> int:
    options = TrendOptions(
        check_db(args.db), parse_labels(args.label, "--label"), series_name(args.series)
    )
    pending = read_pending(Path(args.run_dir), options)  # not a run folder: no store made
    with open_store(options.db) as store:
        print(record(store, pending, _warn), flush=True)
    return 0


def run_options(db: str | None, labels: Iterable[str] | None) -> TrendOptions | None:
    """``loadprofile run``'s --trend-db and --trend-label, checked before the run starts
    (None: not asked for); UsageError on bad input."""
    if db is None:
        if labels:
            raise UsageError("--trend-label goes with --trend-db")
        return None
    return TrendOptions(check_db(db), parse_labels(labels or (), "--trend-label"))


def add_after_run(run_dir: Path, options: TrendOptions, info: Say, warn: Say) -> None:
    """The end of ``loadprofile run --trend-db``: add the run (a cut-short one marked
    partial). A store that cannot be used is a warning: the run and its exit code stand,
    and the labels wait in the folder for a later ``trend add``."""
    try:
        pending = read_pending(run_dir, options)
        with open_store(options.db) as store:
            info(record(store, pending, warn))
    except (LoadprofileError, OSError, ValueError) as exc:
        _keep_in_folder(run_dir, TrendEntry(labels=options.labels, series=options.series), warn)
        warn(
            f"trend: the run was not added ({exc}); the run folder keeps it: "
            f"`loadprofile trend add {run_dir} --db {options.db}` adds it later"
        )


@dataclass(frozen=True)
class Pending:
    """A run folder read, ready to add: its record and what its trend.json should hold."""

    run_dir: Path
    record: RunFigures
    entry: TrendEntry  # the labels and series name it is added with
    kept: TrendEntry  # what the folder's trend.json held


def read_pending(run_dir: Path, options: TrendOptions) -> Pending:
    """The folder's run with its labels: those given now go over those the folder keeps
    (trend.json), and so does a series name. UsageError when it is not a run folder."""
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir}: no such run folder")
    try:
        kept = read_trend_entry(run_dir)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    entry = TrendEntry(
        labels={**kept.labels, **options.labels}, series=options.series or kept.series
    )
    record = read_run(run_dir, labels=entry.labels, series=entry.series)
    return Pending(run_dir, record, entry, kept)


def record(store: SqlStore, pending: Pending, warn: Say) -> str:
    """Add the run; the line that says what happened."""
    run = pending.record.run
    if not store.add(pending.record):
        return f"trend: {run.run_id} is already in {store.shown_as} (nothing changed)"
    if pending.entry != pending.kept:
        _keep_in_folder(pending.run_dir, pending.entry, warn)
    line = (
        f"trend: added {run.run_id} to series {run.series} "
        f"({pending.record.series_description}) in {store.shown_as}"
    )
    if run.partial:
        line += (
            "; the run was cut short: stored marked partial, left out of trends unless "
            "partial runs are asked for"
        )
    return line


def _keep_in_folder(run_dir: Path, entry: TrendEntry, warn: Say) -> None:
    if entry == TrendEntry():
        return
    try:
        write_trend_entry(run_dir, entry)
    except OSError as exc:
        warn(f"trend: could not keep the labels in {run_dir / TREND} ({exc})")


def parse_labels(given: Iterable[str], flag: str) -> dict[str, str]:
    """KEY=VALUE pairs (a later KEY wins); UsageError for one that is not."""
    labels: dict[str, str] = {}
    for text in given:
        key, sep, value = text.partition("=")
        key = key.strip()
        if not sep or not key or not text.isprintable():
            raise UsageError(f"{flag} {text!r}: give KEY=VALUE, e.g. {flag} git=3f2a9c1")
        labels[key] = value.strip()
    return labels


def series_name(name: str | None) -> str | None:
    if name is None:
        return None
    if not name.strip() or len(name) > MAX_SERIES_NAME or not name.isprintable():
        raise UsageError(
            f"--series {name!r}: give a name of 1 to {MAX_SERIES_NAME} printable characters"
        )
    return name.strip()


def _warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr, flush=True)
