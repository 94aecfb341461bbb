"""The trend store (store_api.TrendStore) in SQL: one implementation for SQLite and
PostgreSQL (backends.py holds what differs), its tables in schema.py.

Adding is one transaction that starts by claiming the run id (``ON CONFLICT DO NOTHING``),
so a run added twice, even by two processes at once, is stored once. A series' figures come
back in one query ordered by time: 1,000 nightly runs of 4 models stay a fraction of a
second (docs/trends.md gives the measured figures).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType

from loadprofile.commands.trend.backends import Database, connect, engine_errors, first_line
from loadprofile.commands.trend.schema import migrate, stored_version
from loadprofile.commands.trend.store_api import (
    Point,
    RunFigures,
    SeriesInfo,
    StoredRun,
    StoreError,
    TrendStore,
)

_RUN_COLUMNS = "run_id, time, series, version, labels, partial, models, run_dir"


def open_store(db: str, *, create: bool = True) -> SqlStore:
    """The store at ``db``: a SQLite file path (created with its folders) or a
    postgresql:// URL; brought up to the current schema. StoreError (one line) when it
    cannot be opened, or (``create=False``, for readers) when it holds no store yet."""
    database = connect(db, create=create)
    try:
        with _one_line(database):
            if not create and stored_version(database) == 0:
                raise StoreError(
                    f"--db {database.shown_as}: no trend store there yet "
                    "(`loadprofile trend add RUN_DIR --db ...` makes it)"
                )
            migrate(database)
    except BaseException:
        database.close()
        raise
    return SqlStore(database)


class SqlStore:
    """A TrendStore over one open connection; ``close`` it (or use it as a context)."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def shown_as(self) -> str:
        """The store as the user may see it (its path or URL; never a password)."""
        return self.db.shown_as

    def add(self, record: RunFigures) -> bool:
        run = record.run
        rows = [
            (run.run_id, model, metric, value)
            for model, figures in record.figures.items()
            for metric, value in figures.items()
        ]
        with _one_line(self.db), self.db.transaction():
            claimed = self.db.execute(
                "INSERT INTO runs (run_id, time, series, version, labels, partial, models, "
                "added_at, run_dir) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (run_id) DO NOTHING",
                (
                    run.run_id,
                    run.time,
                    run.series,
                    run.version,
                    json.dumps(run.labels, sort_keys=True),
                    int(run.partial),
                    json.dumps(list(run.models)),
                    datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    run.run_dir,
                ),
            )
            if claimed.rowcount != 1:
                return False  # stored already: nothing written
            self.db.execute(
                "INSERT INTO series (key, description) VALUES (?, ?) ON CONFLICT (key) "
                "DO UPDATE SET description = excluded.description WHERE series.description = ''",
                (run.series, record.series_description),
            )
            if rows:
                self.db.executemany(
                    "INSERT INTO figures (run_id, model, metric, value) VALUES (?, ?, ?, ?)", rows
                )
        return True

    def series(self) -> list[SeriesInfo]:
        with _one_line(self.db):
            rows = self.db.rows(
                "SELECT s.key, s.description,"
                " SUM(CASE WHEN r.partial = 0 THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN r.partial = 0 THEN 0 ELSE 1 END)"
                " FROM series s LEFT JOIN runs r ON r.series = s.key"
                " GROUP BY s.key, s.description ORDER BY s.key"
            )
        return [
            SeriesInfo(key, text, int(runs or 0), int(cut or 0)) for key, text, runs, cut in rows
        ]

    def runs(self, series: str, *, include_partial: bool = False) -> list[StoredRun]:
        with _one_line(self.db):
            rows = self.db.rows(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE series = ?"
                f"{'' if include_partial else ' AND partial = 0'} ORDER BY time, run_id",
                (series,),
            )
        return [_stored_run(row) for row in rows]

    def values(
        self,
        series: str,
        *,
        include_partial: bool = False,
        metrics: Collection[str] | None = None,
    ) -> dict[str, dict[str, list[Point]]]:
        wanted = sorted(set(metrics)) if metrics is not None else []
        if metrics is not None and not wanted:
            return {}
        query = (
            "SELECT f.model, f.metric, r.run_id, r.time, f.value"
            " FROM runs r JOIN figures f ON f.run_id = r.run_id WHERE r.series = ?"
            + ("" if include_partial else " AND r.partial = 0")
            + (f" AND f.metric IN ({', '.join('?' * len(wanted))})" if wanted else "")
            + " ORDER BY r.time, r.run_id"
        )
        with _one_line(self.db):
            rows = self.db.rows(query, (series, *wanted))
        out: dict[str, dict[str, list[Point]]] = {}
        for model, metric, run_id, time, value in rows:
            out.setdefault(model, {}).setdefault(metric, []).append((run_id, time, float(value)))
        return out

    def run(self, run_id: str) -> RunFigures | None:
        with _one_line(self.db):
            found = self.db.rows(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
            if not found:
                return None
            run = _stored_run(found[0])
            figures: dict[str, dict[str, float]] = {model: {} for model in run.models}
            for model, metric, value in self.db.rows(
                "SELECT model, metric, value FROM figures WHERE run_id = ?", (run_id,)
            ):
                figures.setdefault(model, {})[metric] = float(value)
            described = self.db.rows("SELECT description FROM series WHERE key = ?", (run.series,))
        return RunFigures(run, figures, described[0][0] if described else "")

    def close(self) -> None:
        self.db.close()


def _stored_run(row: tuple[object, ...]) -> StoredRun:
    run_id, time, series, version, labels, partial, models, run_dir = row
    return StoredRun(
        run_id=str(run_id),
        time=str(time),
        series=str(series),
        version=str(version),
        labels={str(k): str(v) for k, v in json.loads(str(labels)).items()},
        partial=bool(partial),
        models=tuple(str(m) for m in json.loads(str(models))),
        run_dir=str(run_dir) if run_dir is not None else None,
    )


@contextmanager
def _one_line(db: Database) -> Iterator[None]:
    """An engine's error (a lost server, a locked or damaged file) as one StoreError line."""
    try:
        yield
    except engine_errors() as exc:
        raise StoreError(f"--db {db.shown_as}: {first_line(exc)}") from None


def _meets_the_protocol(store: SqlStore) -> TrendStore:
    return store  # mypy checks here that SqlStore is a TrendStore
