"""Provider base URLs, Azure OpenAI and a gateway's headers, against real mocks on loopback.

Two short runs and two refusals start together:

- ``gateway``: a Gemini-style base URL (the mock serves its API under ``/v1beta/openai``)
  behind a gateway that wants two headers, one given literally and one from the
  environment; no ``--model`` (the host's model list is asked through the gateway too) and
  a cache warm-up, so every kind of request carries the headers;
- ``azure``: ``--api azure`` against the mock's deployment route with its ``api-key``;
- ``no-headers``: the gateway's run without its headers stops at the preflight;
- ``azure-no-model``: ``--api azure`` without ``--model`` is told to name the deployment.

Azure's and the gateway's refusals of bad requests are checked in-process on the same mocks.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from loadprofile.client.apis.endpoints import endpoint_path
from loadprofile.client.apis.flavours import flavour
from loadprofile.client.streaming import send_chat
from loadprofile.client.target_client import api_client
from loadprofile.config.targets import AZURE_API_VERSION, Target
from loadprofile.core.results import ErrorClass, RequestResult
from loadprofile.launch.mock import MockProcess

from .conftest import FIXED_PROFILE, Launcher, start_cli

pytestmark = pytest.mark.integration

GATEWAY_SECRET = "gw-secret-do-not-leak-7731"
AZURE_KEY = "az-key-do-not-leak-5150"
PREFIX = "/v1beta/openai"
SHORT = ["-u", "2", "-r", "20", "-t", "3s", "--think-time", "0"]


@dataclass
class Runs:
    gateway_mock: MockProcess
    azure_mock: MockProcess
    done: dict[str, subprocess.CompletedProcess[str]]
    outs: dict[str, Path]


@pytest.fixture(scope="module")
def runs(launcher: Launcher) -> Iterator[Runs]:
    gateway = launcher.mock(
        FIXED_PROFILE,
        "--models",
        "fixed",
        "--api-prefix",
        PREFIX,
        "--require-header",
        "X-Team: perf",
        "--require-header",
        f"X-Gateway-Key: {GATEWAY_SECRET}",
    )
    azure = launcher.mock(FIXED_PROFILE, "--api-key", AZURE_KEY)
    base = [f"--dataset={launcher.dataset}"]
    outs = {name: launcher.base / name for name in ("gateway", "azure", "no-headers")}
    commands = {
        "gateway": [
            "run",
            f"--host={gateway.url}{PREFIX}/",
            "--header=X-Team: perf",
            "--header-env=X-Gateway-Key=LP_GATEWAY_KEY",
            "--warm-cache=on",
            *SHORT,
        ],
        "azure": [
            "run",
            "--api=azure",
            f"--host={azure.url}",
            "--model=fixed",
            "--api-key-env=LP_AZURE_KEY",
            *SHORT,
        ],
        "no-headers": ["run", f"--host={gateway.url}{PREFIX}", "--model=fixed", *SHORT],
        "azure-no-model": ["run", "--api=azure", f"--host={azure.url}"],
    }
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LP_GATEWAY_KEY", GATEWAY_SECRET)
        env.setenv("LP_AZURE_KEY", AZURE_KEY)
        procs = {
            name: start_cli(
                [*args, *base, *([f"--out={outs[name]}"] if name in outs else [])], launcher.base
            )
            for name, args in commands.items()
        }
    done = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=90)
        done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    yield Runs(gateway, azure, done, outs)


def _summary(runs: Runs, name: str) -> dict[str, Any]:
    done = runs.done[name]
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    summary: dict[str, Any] = json.loads((runs.outs[name] / "summary.json").read_text())
    return summary


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_a_gemini_style_base_url_behind_a_gateway(runs: Runs) -> None:
    (model,) = _summary(runs, "gateway")["models"].values()
    assert model["requests"] > 5 and model["failures"] == 0, model["errors"]
    run = json.loads((runs.outs["gateway"] / "run.json").read_text())
    (target,) = run["targets"]
    assert target["host"] == f"{runs.gateway_mock.url}{PREFIX}"
    assert target["model"] == "fixed"  # the only model the host listed, through the gateway
    assert target["headers"] == ["X-Team"]
    assert target["header_env"] == {"X-Gateway-Key": "LP_GATEWAY_KEY"}
    assert run["cache_warmup"]["fixed"]["failures"] == 0  # the warm-up sent them too
    for path in runs.outs["gateway"].rglob("*"):
        if path.is_file():
            assert GATEWAY_SECRET.encode() not in path.read_bytes(), path
    done = runs.done["gateway"]
    assert GATEWAY_SECRET not in done.stdout + done.stderr


def test_without_the_gateway_s_headers_the_preflight_stops(runs: Runs) -> None:
    done = runs.done["no-headers"]
    assert done.returncode == 2
    line = _one_line_error(done)
    assert "HTTP 401" in line and "--header" in line


def test_azure_openai_by_its_deployment(runs: Runs) -> None:
    (model,) = _summary(runs, "azure")["models"].values()
    assert model["requests"] > 5 and model["failures"] == 0, model["errors"]
    # The prompt-filter chunk opening each stream is not the first token (80 ms in).
    assert model["ttft_ms"]["p50"] > 60
    (target,) = json.loads((runs.outs["azure"] / "run.json").read_text())["targets"]
    assert (target["api"], target["api_version"]) == ("azure", AZURE_API_VERSION)
    done = runs.done["azure-no-model"]
    assert done.returncode == 2 and "--model DEPLOYMENT" in _one_line_error(done)


def _send(target: Target, path: str | None = None) -> RequestResult:
    client = api_client(target, 10.0)
    body = flavour(target.api).request(target.model, [{"role": "user", "content": "hi"}], 4)
    try:
        return send_chat(
            client,
            body,
            RequestResult(target.name, "c", 1, 0.0),
            api=target.api,
            path=endpoint_path(target) if path is None else path,
        )
    finally:
        client.close()


def test_bad_requests_are_refused_as_azure_and_a_gateway_refuse_them(
    runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LP_AZURE_KEY", AZURE_KEY)
    monkeypatch.setenv("LP_WRONG_KEY", "wrong-key")
    azure = Target("fixed", "fixed", runs.azure_mock.url, "LP_AZURE_KEY", api="azure")
    assert _send(azure).ok
    no_version = _send(azure, endpoint_path(azure).split("?")[0])
    assert (no_version.status, no_version.error_class) == (400, ErrorClass.HTTP_4XX)
    assert no_version.error is not None and "MissingApiVersionParameter" in no_version.error
    wrong_key = _send(replace(azure, api_key_env="LP_WRONG_KEY"))
    assert (wrong_key.status, wrong_key.error_class) == (401, ErrorClass.HTTP_4XX)
    bearer = _send(  # the right key, in OpenAI's header instead of Azure's
        replace(azure, api_key_env=None, headers=(("Authorization", f"Bearer {AZURE_KEY}"),))
    )
    assert (bearer.status, bearer.error_class) == (401, ErrorClass.HTTP_4XX)
    gateway = Target("fixed", "fixed", f"{runs.gateway_mock.url}{PREFIX}")
    wrong_header = _send(replace(gateway, headers=(("X-Team", "perf"), ("X-Gateway-Key", "no"))))
    assert (wrong_header.status, wrong_header.error_class) == (401, ErrorClass.HTTP_4XX)
