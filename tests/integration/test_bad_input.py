"""Every way a user can get it wrong ends in one line on stderr and the right exit code."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from loadprofile.launch.mock import MockProcess

from .conftest import run_cli

pytestmark = pytest.mark.integration


def _one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("loadprofile: error: ")
    return lines[0]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_missing_dataset_names_the_file(tmp_path: Path) -> None:
    done = run_cli(["run", "--dataset", str(tmp_path / "nope.jsonl"), "-t", "1s"], cwd=tmp_path)
    assert done.returncode == 2
    assert "nope.jsonl" in _one_line_error(done.stderr)


def test_malformed_dataset_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{"messages": [\n')
    done = run_cli(["run", "--dataset", str(bad), "-t", "1s"], cwd=tmp_path)
    assert done.returncode == 2
    assert f"{bad}:2:" in _one_line_error(done.stderr)


def test_unreachable_target_exits_3_naming_the_url(tmp_path: Path, dataset: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    done = run_cli(
        ["run", "--host", url, "--model", "m", "--dataset", str(dataset), "-t", "2s"], cwd=tmp_path
    )
    assert done.returncode == 3
    assert url in _one_line_error(done.stderr)
    assert not list(tmp_path.glob("reports/*")), "no run folder for a run that never started"


@pytest.mark.parametrize("with_key", [False, True])
def test_refused_or_missing_key_exits_2(
    mock_factory: Callable[..., MockProcess], dataset: Path, tmp_path: Path, with_key: bool
) -> None:
    mock = mock_factory("", "--api-key", "sekret-123")
    args = [
        "run",
        "--host",
        mock.url,
        "--model",
        "mock-fixed",
        "--dataset",
        str(dataset),
        "-t",
        "2s",
    ]
    env = {"MY_KEY": "wrong-key"} if with_key else {}
    if with_key:
        args += ["--api-key-env", "MY_KEY"]
    done = run_cli(args, cwd=tmp_path, **env)
    assert done.returncode == 2
    line = _one_line_error(done.stderr)
    expected = "refused the API key from $MY_KEY" if with_key else "needs an API key"
    assert expected in line
    assert "wrong-key" not in done.stderr + done.stdout


def test_unset_key_variable_exits_2(
    tmp_path: Path, dataset: Path, mock_factory: Callable[..., MockProcess]
) -> None:
    mock = mock_factory("")
    done = run_cli(
        [
            "run",
            "--host",
            mock.url,
            "--model",
            "mock-fixed",
            "--dataset",
            str(dataset),
            "--api-key-env",
            "NOT_SET_ANYWHERE",
            "-t",
            "2s",
        ],
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "$NOT_SET_ANYWHERE is not set" in _one_line_error(done.stderr)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "-u", "zero"], "invalid int value"),
        (["run", "-t", "5 minutes"], "bad run time"),
        (["run", "--think-time", "3-1"], "MAX is below MIN"),
        (["run", "--model", "a", "--model", "a"], "unique"),
        (["run", "--model", "nope", "-t", "1s"], "no model nope"),
        (["run", "--config", "missing.toml"], "config file not found"),
        (["run", "--bogus"], "unrecognized arguments"),
        (["run", "--worker", "-u", "5"], "a worker runs what its master sends: give --users"),
        (["run", "--master", "--worker"], "exclude each other"),
        (["run", "--processes", "0"], "--processes 0"),
        (["report", "."], "not a loadprofile run folder"),
    ],
)
def test_usage_errors(tmp_path: Path, args: list[str], needle: str) -> None:
    done = run_cli(args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert needle in _one_line_error(done.stderr)


def test_bad_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "run.toml"
    cfg.write_text("[[targets]]\nmodel = 'm'\nhost = 'ftp://x'\n")
    done = run_cli(["run", "--config", str(cfg)], cwd=tmp_path)
    assert done.returncode == 2
    assert "http(s) URL" in _one_line_error(done.stderr)


def test_out_folder_holding_a_run_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "old"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    done = run_cli(["run", "--out", str(out), "-t", "1s"], cwd=tmp_path)
    assert done.returncode == 2
    assert "already holds a run" in _one_line_error(done.stderr)


@pytest.mark.parametrize(
    ("host", "needle"),
    [
        ("http://127.0.0.1:abc", "bad host URL"),
        ("http://user:pw-secret@127.0.0.1:1", "no credentials"),
        ("127.0.0.1:8000", "http(s) URL"),
    ],
)
def test_bad_host_urls(tmp_path: Path, host: str, needle: str) -> None:
    done = run_cli(["run", "--host", host, "--model", "m", "-t", "1s"], cwd=tmp_path)
    assert done.returncode == 2
    line = _one_line_error(done.stderr)
    assert needle in line and "pw-secret" not in line


def test_out_folder_that_cannot_be_created(
    tmp_path: Path, dataset: Path, mock_factory: Callable[..., MockProcess]
) -> None:
    mock = mock_factory("")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = run_cli(
        [
            "run",
            "--host",
            mock.url,
            "--model",
            "mock-fixed",
            "--dataset",
            str(dataset),
            "-t",
            "1s",
            "--out",
            str(blocker / "run"),
        ],
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "cannot create the folder" in _one_line_error(done.stderr)


def test_a_master_whose_workers_never_come_exits_2(tmp_path: Path) -> None:
    port = _closed_port()
    done = run_cli(
        [
            "run",
            "--master",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            str(port),
            "--expect-workers-max-wait",
            "1",
            "-t",
            "2s",
        ],
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "only 0 of 1 worker(s) connected within 1s" in _one_line_error(done.stderr)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--shape", "spike", "--spike-users", "50"], "--spike-at"),
        (["--shape", "step", "--steps", "1,5", "--step-time", "2s", "-t", "9s"], "drop -t"),
        (["--rate", "5", "--shape", "spike"], "does not combine"),
        (["--rate", "5", "--arrival", "gamma:0"], "gamma shape"),
        (["--arrival", "poisson"], "needs --rate"),
        (["--pace", "1s", "--think-time", "1-2"], "give one"),
    ],
)
def test_bad_load_shapes_exit_2_in_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    done = run_cli(["run", *args], cwd=tmp_path, timeout=30)
    assert done.returncode == 2, done.stderr
    assert needle in _one_line_error(done.stderr)
    assert not list(tmp_path.glob("reports/*"))
