"""Where the trend store lives: a SQLite file (the standard library's ``sqlite3``) or a
PostgreSQL database (``psycopg``, the ``postgres`` extra), behind one small ``Database``.

The store's SQL is written once, with ``?`` placeholders and the ``INSERT ... ON CONFLICT``
both engines speak; a ``Dialect`` holds the few strings that differ. Both connections run in
autocommit mode and the store opens its transactions itself (``Database.transaction``), so
the same statements commit the same way on both, DDL included.

A password never goes in the URL (it would show in ``ps``, shell histories, CI logs and
run.json's command line): libpq reads ``$PGPASSWORD`` or ``~/.pgpass`` (``$PGPASSFILE``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from loadprofile.commands.trend.store_api import StoreError

POSTGRES_SCHEMES = ("postgresql", "postgres")
SQLITE_PREFIX = "sqlite:///"
#: Seconds to wait for a busy SQLite file (another `trend add`) or a PostgreSQL server.
WAIT_S = 30
#: The advisory lock that serializes migrations of one PostgreSQL database.
MIGRATION_LOCK = 0x7472656E64  # "trend"


@dataclass(frozen=True)
class Dialect:
    """What differs between the engines, as SQL text."""

    name: str
    placeholder: str  # the driver's parameter marker, in place of the store's "?"
    begin: str  # opens a write transaction
    has_table: str  # one row when table "?" exists
    lock_for_migration: str | None  # serializes schema changes between processes
    #: ends a CREATE TABLE whose rows live in its primary key's order (schema.CLUSTERED)
    clustered: str


SQLITE = Dialect(
    name="SQLite",
    placeholder="?",
    # IMMEDIATE takes the write lock at once: two writers queue instead of deadlocking.
    begin="BEGIN IMMEDIATE",
    has_table="SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    lock_for_migration=None,  # BEGIN IMMEDIATE already serializes writers
    # the figures in their key's order: half the file, a series' metric read in a few seeks
    clustered=" WITHOUT ROWID",
)
POSTGRES = Dialect(
    name="PostgreSQL",
    placeholder="%s",
    begin="BEGIN",
    has_table="SELECT 1 FROM information_schema.tables "
    "WHERE table_schema = current_schema() AND table_name = ?",
    lock_for_migration=f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})",
    clustered="",  # a heap and its primary key's index
)


class Cursor(Protocol):
    """The DB-API cursor both drivers give (positional parameters only)."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, query: Any, params: Any = ..., /) -> Any: ...

    def executemany(self, query: Any, params_seq: Any, /) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    def cursor(self) -> Any: ...

    def close(self) -> None: ...


class Database:
    """One open store connection: statements in the store's SQL, run in the engine's."""

    def __init__(self, connection: Connection, dialect: Dialect, shown_as: str) -> None:
        self.connection = connection
        self.dialect = dialect
        self.shown_as = shown_as  # the --db as the user may see it (never a password)

    def sql(self, statement: str) -> str:
        if self.dialect.placeholder == "?":
            return statement
        return statement.replace("?", self.dialect.placeholder)

    def execute(self, statement: str, params: Sequence[object] = ()) -> Cursor:
        cursor: Cursor = self.connection.cursor()
        cursor.execute(self.sql(statement), tuple(params))
        return cursor

    def executemany(self, statement: str, rows: Iterable[Sequence[object]]) -> None:
        cursor: Cursor = self.connection.cursor()
        cursor.executemany(self.sql(statement), [tuple(row) for row in rows])

    def rows(self, statement: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.execute(statement, params).fetchall()]

    def has_table(self, name: str) -> bool:
        return bool(self.rows(self.dialect.has_table, (name,)))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        self.execute(self.dialect.begin)
        try:
            yield
        except BaseException:
            with suppress(*engine_errors()):  # a lost connection: the server rolls back
                self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()


def is_postgres(db: str) -> bool:
    return urlsplit(db).scheme in POSTGRES_SCHEMES


def check_db(db: str) -> str:
    """The --db as it may be shown; StoreError (one line) for one that cannot be used: a
    URL of another engine, or one that holds a password."""
    if not db.strip():
        raise StoreError("--db: give a SQLite file path or a postgresql:// URL")
    if is_postgres(db):
        return _check_postgres_url(db)
    scheme = urlsplit(db).scheme
    if "://" in db and not db.startswith(SQLITE_PREFIX):
        raise StoreError(
            f"--db: {scheme}:// is not a store loadprofile knows (a SQLite file path, "
            "sqlite:///PATH or postgresql://USER@HOST/DB)"
        )
    return db


def _check_postgres_url(db: str) -> str:
    parts = urlsplit(db)
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise StoreError("--db: not a valid postgresql:// URL (bad port)") from None
    secret_params = [key for key in parse_qs(parts.query) if "password" in key.lower()]
    if parts.password is not None or secret_params:
        user = parts.username or "USER"
        raise StoreError(
            f"--db: a password in the URL would be seen in ps, shell histories, logs and "
            f"run.json; give {parts.scheme}://{user}@{parts.hostname or 'HOST'}"
            f"{':' + str(parts.port) if parts.port else ''}{parts.path} and put the password "
            "in $PGPASSWORD or ~/.pgpass"
        )
    return db


def connect(db: str, *, create: bool = True) -> Database:
    """Open the store's engine for ``db`` (a path or a URL); StoreError when it cannot
    (``create=False``: a SQLite file that does not exist is not made)."""
    shown = check_db(db)
    if is_postgres(db):
        return _connect_postgres(db, shown)
    return _connect_sqlite(Path(db.removeprefix(SQLITE_PREFIX)), shown, create)


def _connect_sqlite(path: Path, shown: str, create: bool) -> Database:
    if path.is_dir():
        raise StoreError(f"--db {shown}: is a directory; give a file name")
    if not create and not path.exists():
        raise StoreError(
            f"--db {shown}: no trend store there yet (`loadprofile trend add RUN_DIR --db "
            "...` makes it)"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=WAIT_S, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"--db {shown}: cannot open ({exc})") from None
    return Database(connection, SQLITE, shown)


def _connect_postgres(url: str, shown: str) -> Database:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            f"--db {shown}: PostgreSQL needs psycopg: pip install 'loadprofile[postgres]'"
        ) from None
    try:
        connection = psycopg.connect(url, autocommit=True, connect_timeout=WAIT_S)
    except psycopg.Error as exc:
        raise StoreError(f"--db {shown}: cannot connect ({first_line(exc)})") from None
    return Database(connection, POSTGRES, shown)


def engine_errors() -> tuple[type[Exception], ...]:
    """The drivers' error types (psycopg's only when it is installed)."""
    try:
        import psycopg
    except ImportError:
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
