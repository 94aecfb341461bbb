"""Secrets kept off disk and screen: URLs and recorded command lines (config/redaction.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from loadprofile.config.redaction import redact_argv, redact_header, redact_url

SLACK = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"


def _fp(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:8]


@pytest.mark.parametrize(
    "url",
    [
        SLACK,
        "https://router.internal:8443/rollback?token=SECRET",
        "http://user:SECRET@hooks.example.com/",
        "http://hooks.example.com#SECRET",
        "http://[::1]:9000/hook/SECRET",
    ],
)
def test_a_secret_url_keeps_its_origin_and_shows_a_fingerprint(url: str) -> None:
    redacted = redact_url(url)
    assert "SECRET" not in redacted and "user" not in redacted
    origin = url.split("://")[1].split("/")[0].split("#")[0].rpartition("@")[2]
    assert redacted == f"{url.split('://')[0]}://{origin}/...#{_fp(url)}"
    assert redact_url(redacted) == redacted  # idempotent: a reader may redact again


def test_the_fingerprint_tells_secrets_apart_and_is_stable() -> None:
    other = SLACK.replace("XXXX", "YYYY")
    assert redact_url(SLACK) == redact_url(SLACK) == "https://hooks.slack.com/...#" + _fp(SLACK)
    assert redact_url(SLACK) != redact_url(other)


@pytest.mark.parametrize("url", ["https://hooks.example.com", "http://127.0.0.1:8080/"])
def test_a_bare_origin_stays_as_is(url: str) -> None:
    assert redact_url(url) == url


@pytest.mark.parametrize("text", ["", "not a url", "/relative/SECRET", "http://h:99999/x"])
def test_text_that_is_no_url_is_redacted_whole(text: str) -> None:
    assert redact_url(text) == "<redacted>"


def test_webhook_and_proxy_values_are_redacted_in_both_forms() -> None:
    proxy = "http://me:SECRET@proxy.corp:3128"
    argv = ["loadprofile", "run", "--on-fail-webhook", SLACK, f"--proxy={proxy}", "-u", "5"]
    assert redact_argv(argv) == [
        "loadprofile",
        "run",
        "--on-fail-webhook",
        f"https://hooks.slack.com/...#{_fp(SLACK)}",
        f"--proxy=http://proxy.corp:3128/...#{_fp(proxy)}",
        "-u",
        "5",
    ]
    assert redact_argv([f"--on-fail-webhook={SLACK}"]) == [
        f"--on-fail-webhook=https://hooks.slack.com/...#{_fp(SLACK)}"
    ]


def test_header_values_are_hidden_and_their_names_kept() -> None:
    argv = ["--header", "X-Team: SECRET", "--header=Authorization: Bearer SECRET", "--header"]
    assert redact_argv(argv) == [
        "--header",
        "X-Team: ***",
        "--header=Authorization: ***",
        "--header",
    ]
    assert redact_header("no colon SECRET") == "***"
    assert redact_header(": SECRET") == "***"


def test_any_url_argument_loses_its_userinfo_and_query_values_but_api_version() -> None:
    argv = [
        "--host",
        "https://user:SECRET@gw.example.com/openai?api-version=2024-06-01&key=SECRET&flag",
        "--server-metrics=http://h:9090/metrics?token=SECRET#SECRET",
    ]
    assert redact_argv(argv) == [
        "--host",
        "https://gw.example.com/openai?api-version=2024-06-01&key=***&***",
        "--server-metrics=http://h:9090/metrics?token=***#***",
    ]
    assert redact_argv(redact_argv(argv)) == redact_argv(argv)  # idempotent


def test_everything_else_is_unchanged() -> None:
    argv = [
        "locust",
        "-f",
        "locustfiles/chat.py",
        "-H",
        "http://127.0.0.1:8000/v1",
        "--header-env",
        "X-Key=GATEWAY_KEY",
        "--model",
        "a=80",
        "--extra-body",
        '{"url": "https://x/?q=1"}',
        "--unknown=thing",
        "--on-fail-webhook",  # a flag without its value: nothing to redact
    ]
    assert redact_argv(argv) == argv


def test_a_url_argument_that_cannot_be_read_is_redacted_whole() -> None:
    assert redact_argv(["--host", "http://[SECRET@h/"]) == ["--host", "<redacted>"]


def test_the_report_redacts_what_an_older_loadprofile_wrote_verbatim(tmp_path: Path) -> None:
    from loadprofile.contract.run_meta import RunMeta
    from loadprofile.report.decision import gate_section
    from loadprofile.report.meta import environment

    (tmp_path / "gate.json").write_text(json.dumps({"passed": False, "verdicts": []}))
    (tmp_path / "webhook.json").write_text(json.dumps({"url": SLACK, "status": 200}))
    section = gate_section(tmp_path)
    assert section is not None and section["webhook"]["url"] == redact_url(SLACK)
    rows = dict(environment(RunMeta(command=["loadprofile", "run", "--on-fail-webhook", SLACK])))
    assert rows["command"] == f"loadprofile run --on-fail-webhook '{redact_url(SLACK)}'"
