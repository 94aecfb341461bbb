"""The opt-in suite against real inference servers (``make test-real``; marker ``real``).

The servers and the model are installed and cached the first time by
``scripts/real_servers.py`` (about 10 minutes for llama-server, 10 more for
llama-cpp-python, on 2 cores). Each server is pinned to core 0 and each load run to core 1
(``taskset``), all on loopback. Nothing here runs in the default test command.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "scripts"))

import real_servers

#: Prompts of 60-200 tokens, single and multi-turn, written for a small instruct model (the
#: benchmark benchmarks/real_llama.py replays the same file).
DATASET = Path(__file__).parent / "conversations.jsonl"


@pytest.fixture(scope="session")
def manifest() -> dict[str, str]:
    """Install (the first time) and return the paths of the servers and the model."""
    return real_servers.ensure()


@pytest.fixture(scope="session")
def dataset() -> Path:
    return DATASET


def _serve(
    name: str,
    command: Callable[[dict[str, str], int], list[str]],
    manifest: dict[str, str],
    tmp: pytest.TempPathFactory,
) -> Iterator[str]:
    port = real_servers.free_port()
    with real_servers.serving(
        command(manifest, port), port, tmp.mktemp(name) / "server.log"
    ) as url:
        yield url


@pytest.fixture(scope="session")
def llama_server(
    manifest: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """llama.cpp's llama-server: 16 slots, continuous batching, /metrics."""
    yield from _serve("llama-server", real_servers.llama_server_command, manifest, tmp_path_factory)


@pytest.fixture(scope="session")
def llama_cpp_python(
    manifest: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """llama-cpp-python's server: one request at a time, no usage in streams."""
    yield from _serve(
        "llama-cpp-python", real_servers.llama_cpp_python_command, manifest, tmp_path_factory
    )


def run_load(
    host: str, dataset: Path, out: Path, *args: str, users: int = 4, seconds: int = 20
) -> dict[str, Any]:
    """``loadprofile run`` against ``host`` pinned to core 1; returns summary.json."""
    command = [
        sys.executable,
        "-m",
        "loadprofile",
        "run",
        "--host",
        host,
        "--model",
        real_servers.MODEL_ALIAS,
        "--dataset",
        str(dataset),
        "--out",
        str(out),
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{seconds}s",
        "--think-time",
        "0",
        "--max-tokens",
        "24",
        "--timeout",
        "120s",
        "--stop-timeout",
        "120s",
        *args,
    ]
    done = subprocess.run(
        real_servers.pinned(command, "1"),
        capture_output=True,
        text=True,
        timeout=seconds + 300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return summary
