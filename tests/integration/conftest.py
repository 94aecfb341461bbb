"""Real processes on loopback: the mock server, ``loadprofile run``, plain Locust."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from loadprofile.mockproc import MockProcess, start_mock

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
    for i, msgs in enumerate([
        [{"role": "user", "content": "Hello, who are you?"},
         {"role": "assistant", "content": "A helpful assistant."},
         {"role": "user", "content": "What can you do for me today?"}],
        [{"role": "system", "content": "Answer briefly."},
         {"role": "user", "content": "What is the capital of France?"}],
        [{"role": "user", "content": "Summarise: " + "lorem ipsum dolor sit amet " * 40},
         {"role": "assistant", "content": "It is placeholder text."},
         {"role": "user", "content": "Shorter, please."},
         {"role": "assistant", "content": "Filler."},
         {"role": "user", "content": "Thanks. One more word?"}],
        [{"role": "user", "content": "Write a haiku about load tests."}],
    ])
]  # fmt: skip


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
    return subprocess.run([sys.executable, "-m", "loadprofile", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())
