"""`trend add` and `run --trend-db` on bad input: one line and exit 2, before any store is
made or any load sent; a password never in a URL, never printed; a store that cannot be used
at the end of a run only warns."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadprofile.cli import main
from loadprofile.commands.trend.add import TrendOptions, add_after_run
from loadprofile.rundir.trend_file import read_trend_entry
from tests.unit.trend.folders import run_folder

SECRET = "s3cret-Pa55"


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    out = capsys.readouterr()
    assert "Traceback" not in out.err and SECRET not in out.out + out.err
    lines = out.err.strip().splitlines()
    assert len(lines) == 1, out.err
    return lines[0]


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://perf:{SECRET}@db.internal/trends",
        f"postgres://perf:{SECRET}@db.internal:5433/trends",
        f"postgresql://perf@db.internal/trends?password={SECRET}",
        f"postgresql://perf@db.internal/trends?sslmode=require&sslpassword={SECRET}",
    ],
)
def test_a_password_in_the_url_is_refused(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trend", "add", str(run_folder(tmp_path, "r")), "--db", url]) == 2
    line = _one_line(capsys)
    assert "$PGPASSWORD or ~/.pgpass" in line and "postgres" in line


def test_run_refuses_a_password_url_before_any_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    url = f"postgresql://perf:{SECRET}@db.internal/trends"
    assert main(["run", "--trend-db", url, "--out", str(out), "-t", "1s"]) == 2
    assert "$PGPASSWORD" in _one_line(capsys) and not out.exists()
    assert main(["run", "--trend-label", "git=abc", "--out", str(out), "-t", "1s"]) == 2
    assert "--trend-label goes with --trend-db" in _one_line(capsys) and not out.exists()
    assert main(["run", "--trend-db", "x.sqlite", "--trend-label", "git", "--out", str(out)]) == 2
    assert "give KEY=VALUE" in _one_line(capsys) and not out.exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--label", "nokey"], "--label 'nokey': give KEY=VALUE"),
        (["--label", "=value"], "give KEY=VALUE"),
        (["--series", " "], "--series ' ': give a name"),
        (["--db", "mysql://db/trends"], "mysql:// is not a store"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = run_folder(tmp_path, "r")
    db = ["--db", str(tmp_path / "t.sqlite")] if "--db" not in args else []
    assert main(["trend", "add", str(folder), *db, *args]) == 2
    assert says in _one_line(capsys)
    assert not (tmp_path / "t.sqlite").exists()


def test_a_folder_that_is_no_run_makes_no_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "store" / "t.sqlite"
    (tmp_path / "empty").mkdir()
    for folder, says in (
        (tmp_path / "missing", "no such run folder"),
        (tmp_path / "empty", "not a run folder"),
    ):
        assert main(["trend", "add", str(folder), "--db", str(db)]) == 2
        assert says in _one_line(capsys)
    assert not db.parent.exists()
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "run.json").write_text('{"run_id": 7}')
    assert main(["trend", "add", str(tmp_path / "r"), "--db", str(db)]) == 2
    assert "not a loadprofile file" in _one_line(capsys)
    (tmp_path / "r" / "run.json").write_text("{}")  # a run killed before it measured a thing
    assert main(["trend", "add", str(tmp_path / "r"), "--db", str(db)]) == 2
    assert "no model was measured" in _one_line(capsys)
    assert not db.parent.exists()


def test_a_store_that_cannot_be_used_after_a_run_only_warns(tmp_path: Path) -> None:
    folder = run_folder(tmp_path, "r")
    said: list[str] = []
    warned: list[str] = []
    unusable = TrendOptions(str(tmp_path), {"git": "abc"})  # a directory, not a file
    add_after_run(folder, unusable, said.append, warned.append)
    assert said == [] and len(warned) == 1
    assert "not added" in warned[0] and f"loadprofile trend add {folder}" in warned[0]
    assert read_trend_entry(folder).labels == {"git": "abc"}  # kept for the later add
    usable = TrendOptions(str(tmp_path / "t.sqlite"), {})
    add_after_run(folder, usable, said.append, warned.append)
    assert said[0].startswith("trend: added r to series") and len(warned) == 1
