"""The trend store's tests run on every backend: SQLite always, PostgreSQL in the opt-in
suite (``make test-postgres``: a real server started here, a password from $PGPASSWORD)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.pg_server import PgServer, binaries, running_server

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

NewDb = Callable[[], str]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    pytest.importorskip(
        "psycopg", reason="PostgreSQL tests need psycopg: pip install -e '.[postgres]'"
    )
    if binaries() is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl not found (apt-get install postgresql)")
    with running_server() as server:
        yield server


@pytest.fixture(params=BACKENDS)
def new_db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> NewDb:
    """Makes an empty store's --db on the test's backend (a path, or a URL with no
    password: libpq reads it from $PGPASSWORD, set here)."""
    made: list[str] = []
    if request.param == "sqlite":

        def new_sqlite() -> str:
            made.append(str(tmp_path / f"store-{len(made)}" / "trend.sqlite"))
            return made[-1]

        return new_sqlite
    server: PgServer = request.getfixturevalue("pg_server")
    monkeypatch.setenv("PGPASSWORD", server.password)
    monkeypatch.delenv("PGPASSFILE", raising=False)
    return lambda: server.url(server.new_database())


@pytest.fixture
def db(new_db: NewDb) -> str:
    return new_db()
