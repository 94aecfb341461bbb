"""The trend store on every backend (SQLite here; PostgreSQL too in `make test-postgres`):
a run added twice is stored once, series never mix, partial runs wait aside, an older store
is upgraded with its data and a newer one refused, and the run folders rebuild it all."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadprofile.cli import main
from loadprofile.commands.trend.backends import connect
from loadprofile.commands.trend.figures import read_run
from loadprofile.commands.trend.schema import SCHEMA, stored_version
from loadprofile.commands.trend.store import open_store
from loadprofile.commands.trend.store_api import SeriesInfo, StoreError
from tests.pg_server import PgServer
from tests.unit.trend.conftest import NewDb
from tests.unit.trend.folders import Json, nightly, run_folder


def _other_dataset(run: Json) -> None:
    run["dataset"]["stats"]["sha256"] = "f" * 64


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    lines = out.err.strip().splitlines()
    assert len(lines) == 1, out.err
    return lines[0]


def test_a_run_added_twice_is_stored_once(db: str, tmp_path: Path) -> None:
    folder = run_folder(tmp_path, "night-1")
    with open_store(db) as store:
        assert store.add(read_run(folder, labels={"git": "abc"}))
        again = read_run(run_folder(tmp_path / "copy", "night-1", ttft_p99=999.0))
        assert not store.add(again)  # same run id: nothing changes
        stored = store.run("night-1")
    assert stored is not None and stored.run.labels == {"git": "abc"}
    assert stored.run.run_dir == str(folder.resolve())  # where it was added from
    assert stored.figures == read_run(folder).figures
    assert stored.figures["mock-small"]["ttft_ms.p99"] == 49.119


def test_series_with_different_datasets_never_mix(db: str, tmp_path: Path) -> None:
    ours = nightly(tmp_path, 3)
    theirs = run_folder(tmp_path, "other-data", run_edit=_other_dataset, ttft_p99=5000.0)
    with open_store(db) as store:
        for folder in [*ours, theirs]:
            store.add(read_run(folder))
        listed = store.series()
        key = read_run(ours[0]).run.series
        points = store.values(key)["mock-small"]["ttft_ms.p99"]
    assert [s.runs for s in listed] == [1, 3] or [s.runs for s in listed] == [3, 1]
    assert {s.key for s in listed} == {key, read_run(theirs).run.series}
    assert [run_id for run_id, _, _ in points] == ["night-01", "night-02", "night-03"]
    assert 5000.0 not in [value for _, _, value in points]


def test_a_series_comes_back_in_time_order_whatever_the_order_added(
    db: str, tmp_path: Path
) -> None:
    folders = nightly(tmp_path, 4)
    with open_store(db) as store:
        for folder in reversed(folders):
            store.add(read_run(folder, labels={"build": folder.name}))
        key = read_run(folders[0]).run.series
        runs = store.runs(key)
        values = store.values(key, metrics=["ttft_ms.p99", "error_rate"])
    assert [r.run_id for r in runs] == [f.name for f in folders]
    assert [r.time for r in runs] == sorted(r.time for r in runs)
    assert runs[0].labels == {"build": "night-01"} and runs[0].models == (
        "mock-small",
        "mock-large",
    )
    assert set(values) == {"mock-small", "mock-large"}
    assert set(values["mock-small"]) == {"ttft_ms.p99", "error_rate"}
    assert [v for _, _, v in values["mock-small"]["ttft_ms.p99"]] == [50.0, 60.0, 70.0, 80.0]
    assert values["mock-small"]["error_rate"][0] == ("night-01", "2026-12-01T02:00:00Z", 0.0)


def test_a_partial_run_is_stored_marked_and_left_out_unless_asked(db: str, tmp_path: Path) -> None:
    whole = nightly(tmp_path, 2)
    cut = run_folder(tmp_path, "cut", started_at="2026-12-05T02:00:00Z", partial=True)
    with open_store(db) as store:
        for folder in [*whole, cut]:
            store.add(read_run(folder))
        key = read_run(cut).run.series
        assert [r.run_id for r in store.runs(key)] == ["night-01", "night-02"]
        every = store.runs(key, include_partial=True)
        assert [(r.run_id, r.partial) for r in every][-1] == ("cut", True)
        assert len(store.values(key)["mock-small"]["ttft_ms.p99"]) == 2
        assert len(store.values(key, include_partial=True)["mock-small"]["ttft_ms.p99"]) == 3
        assert store.series() == [SeriesInfo(key, read_run(cut).series_description, 2, 1)]


def test_an_older_store_is_upgraded_with_its_data(db: str, tmp_path: Path) -> None:
    """A store written at schema 1 (its tables as they were, written here by hand)."""
    old = connect(db)
    with old.transaction():
        for statement in (
            "CREATE TABLE schema_version (version INTEGER NOT NULL)",
            "CREATE TABLE series (key TEXT PRIMARY KEY, description TEXT NOT NULL)",
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, time TEXT NOT NULL, series TEXT NOT "
            "NULL, version TEXT NOT NULL, labels TEXT NOT NULL, partial INTEGER NOT NULL, "
            "models TEXT NOT NULL)",
            "CREATE TABLE figures (run_id TEXT NOT NULL REFERENCES runs (run_id), model TEXT "
            "NOT NULL, metric TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, "
            "PRIMARY KEY (run_id, metric, model))",
            "INSERT INTO schema_version (version) VALUES (1)",
            "INSERT INTO series (key, description) VALUES ('s1', 'an old series')",
            "INSERT INTO runs VALUES ('old-run', '2026-11-30T02:00:00Z', 's1', '0.0.9', "
            '\'{"git": "0ld"}\', 0, \'["m"]\')',
            "INSERT INTO figures VALUES ('old-run', 'm', 'ttft_ms.p99', 42.5)",
        ):
            old.execute(statement)
    old.close()
    with open_store(db) as store:
        assert stored_version(store.db) == SCHEMA
        stored = store.run("old-run")
        assert stored is not None and stored.run.labels == {"git": "0ld"}
        assert store.values("s1") == {
            "m": {"ttft_ms.p99": [("old-run", "2026-11-30T02:00:00Z", 42.5)]}
        }
        assert store.add(read_run(run_folder(tmp_path, "new-run"), series="s1"))
        assert [r.run_id for r in store.runs("s1")] == ["old-run", "new-run"]
        assert store.series()[0].description == "an old series"  # kept from its first run


def test_a_store_written_by_a_newer_loadprofile_is_refused_in_one_line(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(db) as store:
        store.db.execute("UPDATE schema_version SET version = ?", (SCHEMA + 1,))
    with pytest.raises(StoreError, match=f"newer loadprofile .*schema {SCHEMA + 1}"):
        open_store(db)
    assert main(["trend", "add", str(run_folder(tmp_path, "r")), "--db", db]) == 2
    assert "upgrade loadprofile" in _one_line(capsys)


def test_the_run_folders_rebuild_the_store(
    new_db: NewDb, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folders = [
        *nightly(tmp_path, 3),
        run_folder(tmp_path, "cut", started_at="2026-12-09T02:00:00Z", partial=True),
        run_folder(tmp_path, "other", run_edit=_other_dataset),
    ]
    first = new_db()
    given = {
        "night-02": ["--label", "git=abc", "--label", "deploy=blue"],
        "other": ["--series", "exp"],
    }
    for folder in folders:
        assert main(["trend", "add", str(folder), "--db", first, *given.get(folder.name, [])]) == 0
    rebuilt = new_db()  # the store lost: the folders alone (their trend.json) rebuild it
    for folder in reversed(folders):
        assert main(["trend", "add", str(folder), "--db", rebuilt]) == 0
    capsys.readouterr()

    def content(db: str) -> object:
        with open_store(db) as store:
            return [
                (
                    info,
                    store.runs(info.key, include_partial=True),
                    store.values(info.key, include_partial=True),
                )
                for info in store.series()
            ] + [store.run(f.name) for f in folders]

    assert content(rebuilt) == content(first)
    with open_store(rebuilt) as store:
        labelled = store.run("night-02")
        assert labelled is not None and labelled.run.labels == {"git": "abc", "deploy": "blue"}
        assert {s.key for s in store.series()} >= {"exp"}


def test_trend_add_says_in_one_line_what_it_did(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = run_folder(tmp_path, "night-1")
    assert main(["trend", "add", str(folder), "--db", db, "--label", "git=abc"]) == 0
    key = read_run(folder).run.series
    assert capsys.readouterr().out == (
        f"trend: added night-1 to series {key} ({read_run(folder).series_description}) in {db}\n"
    )
    assert main(["trend", "add", str(folder), "--db", db, "--label", "git=other"]) == 0
    assert capsys.readouterr().out == f"trend: night-1 is already in {db} (nothing changed)\n"
    with open_store(db) as store:
        stored = store.run("night-1")
    assert stored is not None and stored.run.labels == {"git": "abc"}
    assert (folder / "trend.json").read_text().count("other") == 0
    cut = run_folder(tmp_path, "cut", partial=True)
    assert main(["trend", "add", str(cut), "--db", db]) == 0
    assert "stored marked partial" in capsys.readouterr().out


@pytest.mark.postgres
def test_pgpass_gives_the_password_too(
    pg_server: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libpq's own ways: with no $PGPASSWORD, ~/.pgpass (here $PGPASSFILE) serves."""
    database = pg_server.new_database()
    passfile = tmp_path / "pgpass"
    passfile.write_text(
        f"127.0.0.1:{pg_server.port}:{database}:{pg_server.user}:{pg_server.password}\n"
    )
    passfile.chmod(0o600)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    with open_store(pg_server.url(database)) as store:
        assert store.add(read_run(run_folder(tmp_path, "r")))
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(StoreError, match="cannot connect"):
        open_store(pg_server.url(database))


def test_a_reader_is_told_when_there_is_no_store_yet(db: str, tmp_path: Path) -> None:
    """``trend report``/``check`` open with create=False: a mistyped --db makes nothing."""
    with pytest.raises(StoreError, match="no trend store there yet"):
        open_store(db, create=False)
    with open_store(db) as store:
        store.add(read_run(run_folder(tmp_path, "r")))
    with open_store(db, create=False) as store:
        assert [s.runs for s in store.series()] == [1]
