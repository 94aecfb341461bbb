"""Real processes on loopback: the mock server, ``loadprofile run``, plain Locust."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from loadprofile.launch.mock import MockProcess, start_mock

# A model whose timing is known exactly: the measured figures are checked against it.
FIXED_PROFILE = """
[models.fixed]
ttft_base_ms = 80.0
ttft_per_prompt_token_ms = 0.0
itl_ms = 15.0
output_tokens_min = 12
output_tokens_max = 12
"""

CONVERSATIONS = [
    {"id": f"conv-{i}", "messages": msgs}
    for i, msgs in enumerate(
        [
            [
                {"role": "user", "content": "Hello, who are you?"},
                {"role": "assistant", "content": "A helpful assistant."},
                {"role": "user", "content": "What can you do for me today?"},
            ],
            [
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": "What is the capital of France?"},
            ],
            [
                {"role": "user", "content": "Summarise: " + "lorem ipsum dolor sit amet " * 40},
                {"role": "assistant", "content": "It is placeholder text."},
                {"role": "user", "content": "Shorter, please."},
                {"role": "assistant", "content": "Filler."},
                {"role": "user", "content": "Thanks. One more word?"},
            ],
            [{"role": "user", "content": "Write a haiku about load tests."}],
        ]
    )
]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "conversations.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CONVERSATIONS), encoding="utf-8")
    return path


@pytest.fixture
def mock_factory(tmp_path: Path) -> Iterator[Callable[..., MockProcess]]:
    started: list[MockProcess] = []

    def start(profiles: str = FIXED_PROFILE, *extra: str) -> MockProcess:
        path = tmp_path / f"profiles-{len(started)}.toml"
        path.write_text(profiles, encoding="utf-8")
        mock = start_mock(extra_args=["--profiles", str(path), "--record", *extra])
        started.append(mock)
        return mock

    yield start
    for mock in started:
        mock.stop()


def run_cli(
    args: list[str], cwd: Path, timeout: float = 90, **env: str
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env}
    full_env.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "loadprofile", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_cli(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """``loadprofile ARGS`` in the background (no OpenAI key: nothing leaves loopback)."""
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    return subprocess.Popen(
        [sys.executable, "-m", "loadprofile", *args],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def run_clis(
    commands: list[list[str]], cwd: Path, timeout: float = 90
) -> list[subprocess.CompletedProcess[str]]:
    """``run_cli`` for several commands at once (each mostly waits on its server): the
    suite's time is precious."""
    procs = [start_cli(args, cwd) for args in commands]
    done = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@dataclass
class Launched:
    """A run started in the background; ``done()`` waits for it (once)."""

    proc: subprocess.Popen[str]
    out: Path
    mock: MockProcess
    cwd: Path
    after: threading.Thread | None = None  # e.g. a thread that freezes the mock mid-run
    _result: subprocess.CompletedProcess[str] | None = None

    def done(self) -> subprocess.CompletedProcess[str]:
        if self._result is None:
            stdout, stderr = self.proc.communicate(timeout=120)
            self._result = subprocess.CompletedProcess(
                self.proc.args, self.proc.returncode, stdout, stderr
            )
            if self.after is not None:
                self.after.join(timeout=30)
        return self._result


class Launcher:
    """Runs of one test module started together, each against its own mock, a little apart
    so their start-up bursts do not overlap: each run mostly waits on its mock, so the
    module takes about as long as its longest run rather than the sum of them all."""

    STAGGER_S = 0.7
    LOCUSTFILES = Path(__file__).parents[2] / "locustfiles"

    def __init__(self, base: Path) -> None:
        self.base = base
        self.dataset = base / "conversations.jsonl"
        self.dataset.write_text(
            "".join(json.dumps(c) + "\n" for c in CONVERSATIONS), encoding="utf-8"
        )
        self.runs: dict[str, Launched] = {}
        self.mocks: list[MockProcess] = []
        self._launched_at = -1e9

    def mock(self, profiles: str = FIXED_PROFILE, *extra: str) -> MockProcess:
        path = self.base / f"profiles-{len(self.mocks)}.toml"
        path.write_text(profiles, encoding="utf-8")
        self.mocks.append(start_mock(extra_args=["--profiles", str(path), "--record", *extra]))
        return self.mocks[-1]

    def launch(
        self,
        name: str,
        profiles: str,
        args: list[str],
        *,
        locustfile: str | None = None,
        after: Callable[[MockProcess], None] | None = None,
        mock_args: tuple[str, ...] = (),
    ) -> Launched:
        """``args`` without --host/--dataset/--out (added here); ``after(mock)`` runs in a
        thread beside the run; ``mock_args`` go to the run's own mock."""
        mock = self.mock(profiles, *mock_args)
        out = self.base / name
        cwd = self.base / f"{name}-cwd"
        cwd.mkdir()
        program = (
            ["locust", "-f", str(self.LOCUSTFILES / locustfile)] if locustfile else ["loadprofile"]
        )
        env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
        # apart from the previous launch (its mock's start-up counts), never after the last
        time.sleep(max(0.0, self._launched_at + self.STAGGER_S - time.monotonic()))
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                *program,
                *args,
                "--host",
                mock.url,
                "--dataset",
                str(self.dataset),
                "--out",
                str(out),
            ],
            cwd=cwd,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        run = Launched(proc, out, mock, cwd)
        if after is not None:
            run.after = threading.Thread(target=after, args=(mock,), daemon=True)
            run.after.start()
        self.runs[name] = run
        self._launched_at = time.monotonic()
        return run

    def wait_all(self) -> None:
        for run in self.runs.values():
            run.done()

    def close(self) -> None:
        for run in self.runs.values():
            if run.proc.poll() is None:
                run.proc.kill()
            run.proc.communicate()
        for mock in self.mocks:
            mock.stop()


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path_factory.mktemp("launched"))
    try:
        yield launcher
    finally:
        launcher.close()


#: proxy.py's credentials (``proxy`` fixture): the password must never be written anywhere.
PROXY_USER, PROXY_PASSWORD = "perf", "proxy-pass-Zq81"


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """proxy.py on a free loopback port with basic auth: (port, its access log)."""
    port_file, log = tmp_path / "proxy.port", tmp_path / "proxy.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", "0",
             "--port-file", str(port_file), "--basic-auth", f"{PROXY_USER}:{PROXY_PASSWORD}",
             "--num-workers", "1", "--num-acceptors", "1"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield int(port_file.read_text().strip()), log
    finally:
        proc.terminate()
        proc.wait(10)
