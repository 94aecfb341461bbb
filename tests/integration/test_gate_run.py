"""A canary run end to end: split traffic, retries, cost per transaction, the gate's exit
code, the rollback webhook (a local receiver, its URL holding a token that must be written
and printed nowhere), and the same folder gated again offline.

One run serves every check (the suite's time is precious): the candidate is slower and
flaky, the current model is fast and clean; the mock's own records are the ground truth."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from loadprofile.config.redaction import redact_url
from loadprofile.launch.mock import MockProcess
from loadprofile.rundir.reader import read_request_rows
from tests.integration.conftest import PROXY_PASSWORD, PROXY_USER
from tests.receiver import Receiver

from .conftest import get_json, run_cli

pytestmark = pytest.mark.integration

PROFILES = """
[models.current]
ttft_base_ms = 30.0
ttft_jitter_ms = 5.0
itl_ms = 4.0
output_tokens_min = 8
output_tokens_max = 16

[models.candidate]
ttft_base_ms = 150.0
ttft_jitter_ms = 10.0
itl_ms = 4.0
output_tokens_min = 8
output_tokens_max = 16
error_500 = 0.2
truncate = 0.1
"""

CONFIG = """
[prices.current]
input_per_1m = 2.0
output_per_1m = 8.0

[prices.candidate]
input_per_1m = 0.5
output_per_1m = 2.0
per_request = 0.0001
"""

SLO = """
[all]
bounds = ["ttft_ms.p50 <= 5000"]

[canary]
bounds = ["ttft_ms.p99 <= 1.2 * baseline.ttft_ms.p99",
          "cost.per_transaction.mean <= 10 * baseline.cost.per_transaction.mean"]
"""


#: A webhook's secrets, in its path (Slack's way) and its query.
PATH_TOKEN, QUERY_TOKEN = "T0K3N-in-the-path-7f3e", "T0K3N-in-the-query-91ac"


def _files_holding(root: Path, secrets: tuple[str, ...]) -> list[str]:
    """Every file under ``root`` whose bytes hold one of ``secrets``."""
    needles = [secret.encode() for secret in secrets]
    return [
        str(path)
        for path in root.rglob("*")
        if path.is_file() and any(needle in path.read_bytes() for needle in needles)
    ]


def _price(row: dict[str, str], inp: float, out: float, fee: float) -> float:
    return (int(row["prompt_tokens"]) * inp + int(row["output_tokens"]) * out) / 1e6 + fee


#: Secrets of the other channels, planted in the same run: the API key, a literal header, a
#: header from the environment (and the proxy's password: conftest.PROXY_PASSWORD).
API_KEY, HEADER_VALUE, HEADER_ENV_VALUE = "sk-K3Y-4b1d", "H3ADER-literal-8c2e", "H3ADER-env-d45a"


def test_a_failing_canary_exits_1_calls_the_webhook_once_and_keeps_every_attempt(
    mock_factory: Callable[..., MockProcess],
    dataset: Path,
    tmp_path: Path,
    proxy: tuple[int, Path],
) -> None:
    """Also: a distinct secret in every channel (the API key variable, the webhook's path and
    query, the proxy's password, a header value, a header from the environment) reaches
    neither a file (run folder, report, JUnit, Markdown) nor the console."""
    mock = mock_factory(
        PROFILES,
        "--api-key",
        API_KEY,
        "--require-header",
        f"X-Team: {HEADER_VALUE}",
        "--require-header",
        f"X-Gateway-Key: {HEADER_ENV_VALUE}",
    )
    proxy_url = f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{proxy[0]}"
    (tmp_path / "run.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "slo.toml").write_text(SLO, encoding="utf-8")
    out = tmp_path / "run"
    with Receiver() as hook:
        secret_url = f"{hook.url}/services/{PATH_TOKEN}?token={QUERY_TOKEN}"
        done = run_cli(
            [
                "run",
                "--host",
                mock.url,
                "--model",
                "current=80",
                "--model",
                "candidate=20",
                "--canary",
                "candidate",
                "--baseline",
                "current",
                "--config",
                "run.toml",
                "--slo",
                "slo.toml",
                "--dataset",
                str(dataset),
                "-u",
                "10",
                "-r",
                "50",
                "-t",
                "5s",
                "--think-time",
                "0-0.1",
                "--retries",
                "2",
                "--retry-backoff",
                "20ms:50ms",
                "--retry-on",
                "http_5xx,stream_incomplete",
                "--junit",
                "junit.xml",
                "--markdown",
                "gate.md",
                "--on-fail-webhook",
                secret_url,
                "--webhook-body",
                '{"canary_pct": 0}',
                "--out",
                str(out),
                "--api-key-env",
                "CANARY_KEY",
                "--header",
                f"X-Team: {HEADER_VALUE}",
                "--header-env",
                "X-Gateway-Key=GATEWAY_KEY",
                "--proxy",
                proxy_url,
            ],
            cwd=tmp_path,
            CANARY_KEY=API_KEY,
            GATEWAY_KEY=HEADER_ENV_VALUE,
        )
        assert done.returncode == 1, done.stderr  # the canary is 5x slower: the gate fails
        # exactly once, to the real URL
        path = f"/rollback/services/{PATH_TOKEN}?token={QUERY_TOKEN}"
        assert hook.calls == [(path, {"canary_pct": 0})]
    assert "Traceback" not in done.stderr
    # No secret is in a file (run folder, report, JUnit, Markdown) or on the console, and
    # every request went through the proxy with the key and both headers.
    secrets = (PATH_TOKEN, QUERY_TOKEN, API_KEY, HEADER_VALUE, HEADER_ENV_VALUE, PROXY_PASSWORD)
    assert (out / "report.html").exists() and (tmp_path / "junit.xml").exists()
    assert _files_holding(tmp_path, secrets) == []
    for secret in secrets:
        assert secret not in done.stdout + done.stderr, secret
    assert "POST 127.0.0.1:" in proxy[1].read_text()
    assert f"webhook: POST {redact_url(secret_url)} -> HTTP 200" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1].startswith("report: ")
    assert "FAIL  candidate  ttft_ms.p99 <= 1.2 * baseline.ttft_ms.p99" in done.stdout

    # The verdicts: the relative latency bound failed significantly; the others held.
    gate = json.loads((out / "gate.json").read_text())
    verdicts = {(v["model"], v["bound"]): v for v in gate["verdicts"]}
    slow = verdicts[("candidate", "ttft_ms.p99 <= 1.2 * baseline.ttft_ms.p99")]
    assert not slow["passed"] and slow["significant"] is True
    assert verdicts[("current", "ttft_ms.p50 <= 5000")]["passed"]
    assert gate["canary"] == {"candidate": "candidate", "baseline": "current"}
    recorded = json.loads((out / "webhook.json").read_text())
    assert recorded["status"] == 200 and recorded["url"] == redact_url(secret_url)
    assert gate["webhook"]["url"] == redact_url(secret_url)
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("4", "1")
    assert "**loadprofile gate: FAILED**" in (tmp_path / "gate.md").read_text()
    report = (out / "report.html").read_text()
    assert 'id="gate-banner"' in report and 'id="table-cost"' in report
    assert 'id="table-retries"' in report

    # Split traffic: 80/20 of the users.
    run = json.loads((out / "run.json").read_text())
    assert redact_url(secret_url) in run["command"]  # the command line, redacted
    assert run["canary"] == {"candidate": "candidate", "baseline": "current"}
    summary = json.loads((out / "summary.json").read_text())
    users = Counter(row["model"] for row in read_request_rows(out))
    assert users["current"] > users["candidate"] > 0

    # Every attempt is accounted for: the server saw exactly the attempts the rows count.
    rows = read_request_rows(out)
    records = [
        r for r in get_json(f"{mock.url}/mock/requests") if r["max_tokens"] != 1
    ]  # not the preflight's "Say OK." probes
    for model in ("current", "candidate"):
        mine = [r for r in rows if r["model"] == model]
        served = [r for r in records if r["model"] == model]
        assert sum(int(r["attempts"]) for r in mine) == len(served)
    cand = summary["models"]["candidate"]
    retries = cand["retries"]
    assert retries["retried_requests"] > 0 and retries["recovered"] > 0
    # First attempts fail at the injected rate (0.3); after two retries far fewer fail.
    assert 0.1 <= retries["first_attempt_error_rate"] <= 0.5
    assert cand["error_rate"] < retries["first_attempt_error_rate"] / 2
    assert set(retries["attempt_errors"]) <= {"http_5xx", "stream_incomplete"}
    assert (
        cand["ttft_first_attempt_ms"]["count"]
        == cand["requests"] - retries["first_attempt_failures"]
    )
    assert summary["models"]["current"]["retries"]["retried_requests"] == 0

    # Cost: each clean single-attempt row is its tokens times the prices; totals add up.
    for row in rows:
        if row["model"] == "current" and row["attempts"] == "1" and not row["error_class"]:
            assert float(row["cost_usd"]) == pytest.approx(_price(row, 2.0, 8.0, 0.0), rel=1e-6)
    cost = summary["cost"]
    for model in ("current", "candidate"):
        total = sum(float(r["cost_usd"]) for r in rows if r["model"] == model)
        assert cost[model]["total_usd"] == pytest.approx(total, rel=1e-4)
        ended = [
            r["transaction"] for r in rows if r["model"] == model and r["transaction_end"] == "1"
        ]
        assert len(ended) == len(set(ended)) == cost[model]["transactions"] > 0
    retried = [
        r for r in rows if r["model"] == "candidate" and "stream_incomplete" in r["attempt_errors"]
    ]
    assert retried and all(float(r["retry_cost_usd"]) > 0 for r in retried)
    assert cost["candidate"]["failed_attempt_share"] > 0

    # Gated again offline, against a bound it meets: exit 0, and the webhook is not called.
    passing = tmp_path / "pass.toml"
    passing.write_text(
        '[canary]\nbounds = ["ttft_ms.p99 <= 10 * baseline.ttft_ms.p99"]\n', encoding="utf-8"
    )
    with Receiver() as hook:
        again = run_cli(
            ["gate", str(out), "--slo", str(passing), "--on-fail-webhook", hook.url], cwd=tmp_path
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert hook.calls == []
    assert "gate PASSED" in again.stdout
    # The report, built before this gate, is rebuilt to show its verdicts.
    assert (
        again.stdout.rstrip().splitlines()[-1]
        == f"report: {out / 'report.html'} (with the verdicts)"
    )
    report = (out / "report.html").read_text()
    assert "<code>ttft_ms.p99 &lt;= 10 * baseline.ttft_ms.p99</code>" in report
    assert "Gate passed" in report
