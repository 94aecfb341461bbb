"""A throwaway PostgreSQL server for the opt-in suite (``make test-postgres``): ``initdb``
into a temporary folder with a password-authenticated superuser (scram-sha-256, so the
password really travels, from $PGPASSWORD or a .pgpass file), started on a free loopback
port, removed afterwards.

initdb and postgres refuse to run as root: as root, both run as ``nobody`` (``runuser``),
in a folder handed over to it.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path

USER = "loadprofile"
UNPRIVILEGED = "nobody"


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else the newest Debian install."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgServer:
    port: int
    password: str
    user: str = USER
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        self._numbers = count(1)

    def url(self, database: str) -> str:
        """The store's URL: no password in it (libpq takes it from the environment)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = f"trend_{next(self._numbers)}"
        with psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
            autocommit=True,
        ) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return name


@contextmanager
def running_server() -> Iterator[PgServer]:
    """A server for the block; RuntimeError (with its log) when it does not start."""
    folder = binaries()
    if folder is None:
        raise FileNotFoundError("PostgreSQL's initdb/pg_ctl not found")
    as_user = ["runuser", "-u", UNPRIVILEGED, "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="loadprofile-pg-"))
    data, log, pwfile = root / "data", root / "server.log", root / "password"
    password = secrets.token_urlsafe(16)
    pwfile.write_text(password + "\n", encoding="utf-8")
    if as_user:
        for path in (root, pwfile):
            shutil.chown(path, UNPRIVILEGED)
    port = _free_port()

    def run(*args: str) -> None:
        done = subprocess.run(
            [*as_user, *args], cwd=root, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stderr[-2000:]}{server_log[-2000:]}")

    try:
        run(str(folder / "initdb"), "-D", str(data), "-U", USER, "--auth=scram-sha-256",
            "--pwfile", str(pwfile), "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(folder / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        try:
            yield PgServer(port, password)
        finally:
            run(str(folder / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
