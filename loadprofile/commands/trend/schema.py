"""The trend store's tables and their versions: an ordered list of migrations, each a list of
SQL statements in the SQL both engines speak, applied in one transaction.

``schema_version`` holds the store's version. Opening a store brings an older one up to
``SCHEMA`` (its data kept); a store written by a newer loadprofile is refused, since this one
would misread it. Add a schema by appending a migration: never edit one that has shipped.
"""

from __future__ import annotations

from loadprofile.commands.trend.backends import Database
from loadprofile.commands.trend.store_api import StoreError

#: Stands for the engine's way to keep a table in its key's order (backends.Dialect).
CLUSTERED = "{clustered}"

#: migrations[n] takes a store from version n to n + 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: runs, their figures and the series they belong to.
    (
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        "CREATE TABLE series (key TEXT PRIMARY KEY, description TEXT NOT NULL)",
        "CREATE TABLE runs ("
        " run_id TEXT PRIMARY KEY,"
        " time TEXT NOT NULL,"  # ISO-8601 UTC to the second: text order is time order
        " series TEXT NOT NULL,"
        " version TEXT NOT NULL,"
        " labels TEXT NOT NULL,"  # JSON object
        " partial INTEGER NOT NULL,"
        " models TEXT NOT NULL)",  # JSON list, in the run's order
        # keyed run, metric, model: a series' few metrics are read by seeks, not a scan
        "CREATE TABLE figures ("
        " run_id TEXT NOT NULL REFERENCES runs (run_id),"
        " model TEXT NOT NULL,"
        " metric TEXT NOT NULL,"
        " value DOUBLE PRECISION NOT NULL,"
        f" PRIMARY KEY (run_id, metric, model)){CLUSTERED}",
        "INSERT INTO schema_version (version) VALUES (0)",
    ),
    # 2: where and when each run was added (a rebuilt store shows it), and a series' runs
    # found in time order without a scan.
    (
        "ALTER TABLE runs ADD COLUMN added_at TEXT",
        "ALTER TABLE runs ADD COLUMN run_dir TEXT",
        "CREATE INDEX runs_by_series ON runs (series, time)",
    ),
)
SCHEMA = len(MIGRATIONS)


def stored_version(db: Database) -> int:
    """The store's schema version (0: an empty database)."""
    if not db.has_table("schema_version"):
        return 0
    row = db.rows("SELECT MAX(version) FROM schema_version")
    return int(row[0][0] or 0) if row else 0


def migrate(db: Database) -> int:
    """Bring the store to SCHEMA (one transaction, one process at a time); the version it
    had. StoreError when a newer loadprofile wrote it."""
    found = stored_version(db)
    if found == SCHEMA:
        return found
    _refuse_newer(db, found)
    with db.transaction():
        if db.dialect.lock_for_migration:
            db.execute(db.dialect.lock_for_migration)
        found = stored_version(db)  # another process may have migrated it meanwhile
        _refuse_newer(db, found)
        for step in MIGRATIONS[found:]:
            for statement in step:
                db.execute(statement.replace(CLUSTERED, db.dialect.clustered))
        db.execute("UPDATE schema_version SET version = ?", (SCHEMA,))
    return found


def _refuse_newer(db: Database, found: int) -> None:
    if found > SCHEMA:
        raise StoreError(
            f"--db {db.shown_as}: written by a newer loadprofile (store schema {found}; this "
            f"one knows up to {SCHEMA}): upgrade loadprofile to use it"
        )
