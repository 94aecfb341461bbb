"""``--api completions`` and ``--api anthropic`` against the embedded mock, and reasoning
models whose first visible token comes after their first token (TTFVT > TTFT).

Three short runs started together (one mock each), plus checks of the Anthropic key header
and error shape on a mock of their own.
"""

from __future__ import annotations

import csv
import json
import urllib.request
from typing import Any

import pytest

from loadprofile.client.apis.flavours import flavour
from loadprofile.client.preflight import check_target, list_models
from loadprofile.client.streaming import send_chat
from loadprofile.client.target_client import api_client
from loadprofile.config.run_config import Target
from loadprofile.core.results import ErrorClass, RequestResult
from loadprofile.errors import UsageError

from .conftest import FIXED_PROFILE, Launched, Launcher, get_json

pytestmark = pytest.mark.integration

TOKENS, ITL_MS, REASONING = 12, 15.0, 5
THINKING_PROFILE = (
    FIXED_PROFILE
    + f"""
[models.thinker]
base = "fixed"
reasoning_tokens = {REASONING}

[models.busy]
base = "fixed"
error_429 = 1.0
"""
)
SHORT = ["-u", "4", "-r", "20", "-t", "4s", "--think-time", "0"]


@pytest.fixture(scope="module")
def launched(launcher: Launcher) -> dict[str, Launched]:
    launcher.launch(
        "completions", FIXED_PROFILE, ["run", "--model", "fixed", "--api", "completions", *SHORT]
    )
    launcher.launch(
        "anthropic",
        THINKING_PROFILE,
        ["run", "--model", "fixed", "--model", "thinker", "--api", "anthropic", *SHORT],
    )
    launcher.launch("chat", THINKING_PROFILE, ["run", "--model", "thinker", *SHORT])
    launcher.wait_all()
    return launcher.runs


def summary_of(run: Launched) -> dict[str, Any]:
    done = run.done()
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads((run.out / "summary.json").read_text())


def rows_of(run: Launched) -> list[dict[str, str]]:
    with (run.out / "requests.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize(
    ("name", "models"),
    [("completions", ["fixed"]), ("anthropic", ["fixed", "thinker"]), ("chat", ["thinker"])],
)
def test_each_flavour_runs_clean_with_the_servers_token_counts(
    launched: dict[str, Launched], name: str, models: list[str]
) -> None:
    summary = summary_of(launched[name])
    assert sorted(summary["models"]) == models
    for model in models:
        entry = summary["models"][model]
        assert entry["requests"] > 5 and entry["failures"] == 0, entry["errors"]
        assert entry["tokens_estimated_share"] == 0.0
        assert entry["output_tokens"] == TOKENS * entry["successes"]
        assert entry["ttft_ms"]["p50"] > 0
    rows = rows_of(launched[name])
    assert rows and all(r["tokens_estimated"] == "0" and r["prompt_tokens"] for r in rows)
    assert all(r["contract_notes"] == "" for r in rows)


def test_reasoning_comes_before_the_first_visible_token(launched: dict[str, Launched]) -> None:
    for name in ("anthropic", "chat"):
        thinker = summary_of(launched[name])["models"]["thinker"]
        gap = thinker["ttfvt_ms"]["p50"] - thinker["ttft_ms"]["p50"]
        assert gap > 0.8 * REASONING * ITL_MS, (name, thinker["ttft_ms"], thinker["ttfvt_ms"])
        assert thinker["ttfvt_ms"]["count"] == thinker["ttft_ms"]["count"]
        assert (launched[name].out / "histograms" / "thinker.ttfvt_ms.hlog").is_file()
        assert 'id="table-ttfvt_ms"' in (launched[name].out / "report.html").read_text()
    fixed = summary_of(launched["anthropic"])["models"]["fixed"]
    assert fixed["ttfvt_ms"] == fixed["ttft_ms"]  # text at once: the same chunk


def test_a_plain_model_gets_no_ttfvt_table(launched: dict[str, Launched]) -> None:
    run = launched["completions"]
    summary_of(run)
    assert 'id="table-ttfvt_ms"' not in (run.out / "report.html").read_text()
    rows = rows_of(run)
    assert all(r["ttfvt_ms"] == r["ttft_ms"] for r in rows)


def test_completions_send_the_chat_as_one_rendered_prompt(launched: dict[str, Launched]) -> None:
    run = launched["completions"]
    summary_of(run)
    records = get_json(run.mock.url + "/mock/requests?last=20")
    assert records
    for rec in records:
        (message,) = rec["messages"]
        assert message["role"] == "user"
        assert message["content"].startswith(("User: ", "System: "))
        assert message["content"].endswith("\n\nAssistant:")


def _post(url: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_anthropic_key_header_and_error_shape(
    launcher: Launcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = launcher.mock(THINKING_PROFILE, "--api-key", "sekret").url
    monkeypatch.setenv("LP_ANTHROPIC_KEY", "sekret")
    monkeypatch.setenv("LP_WRONG_KEY", "nope")
    target = Target("fixed", "fixed", url, "LP_ANTHROPIC_KEY", api="anthropic")
    assert check_target(target) is None  # x-api-key and anthropic-version accepted
    assert "fixed" in list_models(target)
    with pytest.raises(UsageError, match="refused the API key"):
        check_target(Target("fixed", "fixed", url, "LP_WRONG_KEY", api="anthropic"))
    body = flavour("anthropic").request("fixed", [{"role": "user", "content": "hi"}], 4)
    status, error = _post(url + "/v1/messages", body, {"Authorization": "Bearer sekret"})
    assert (status, error["type"], error["error"]["type"]) == (401, "error", "authentication_error")
    client = api_client(target, 10.0)
    try:
        busy = flavour("anthropic").request("busy", [{"role": "user", "content": "hi"}], 4)
        result = send_chat(client, busy, RequestResult("busy", "c", 1, 0.0), api="anthropic")
    finally:
        client.close()
    assert result.error_class is ErrorClass.HTTP_429 and "rate_limit_error" in result.error


def test_the_run_folders_record_the_flavour(launched: dict[str, Launched]) -> None:
    for name in ("completions", "anthropic", "chat"):
        run = json.loads((launched[name].out / "run.json").read_text())
        assert {t["api"] for t in run["targets"]} == {name}
