"""Host URLs and typed values from the command line and the TOML file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loadprofile.client.http.client import HttpClient
from loadprofile.config.run_config import (
    CliValues,
    ConfigError,
    normalize_host,
    parse_duration,
    resolve,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000"),
        ("https://gateway.example/openai/v1/", "https://gateway.example/openai/v1"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_normalize_host(url: str, expected: str) -> None:
    assert normalize_host(url, "--host") == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://x", "http(s) URL"),
        ("127.0.0.1:8000", "http(s) URL"),
        ("http://127.0.0.1:abc", "bad host URL"),
        ("http://127.0.0.1:99999", "bad host URL"),
        ("http://[::1", "bad host URL"),
        ("http://user:secret@127.0.0.1:8000", "no credentials"),
        ("http://127.0.0.1:8000/é", "plain ASCII"),
        ("http://127.0.0.1:8000/?key=1", "plain ASCII"),
        (5, "http(s) URL"),
    ],
)
def test_bad_hosts_are_config_errors(url: object, reason: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(reason)) as info:
        normalize_host(url, "--host")
    assert "secret" not in str(info.value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [1], True, None])
def test_durations_must_be_finite_numbers_or_strings(value: object) -> None:
    with pytest.raises(ConfigError):
        parse_duration(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "toml",
    [
        "[load]\ndataset = 5\n",
        "[load]\nrun_time = [1]\n",
        "[load]\ntimeout = nan\n",
        "[load]\nusers = 1.5\n",
        "[[targets]]\nmodel = 'm'\nhost = 5\n",
        "[[targets]]\nmodel = 'm'\napi_key_env = 3\n",
    ],
)
def test_badly_typed_toml_values_are_config_errors(tmp_path: Path, toml: str) -> None:
    path = tmp_path / "run.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError):
        resolve(CliValues(config=path))


def test_toml_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_bytes(b"[load]\nhistory = '\xff'\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        resolve(CliValues(config=path))


def test_client_redacts_its_key_from_error_text() -> None:
    client = HttpClient("http://127.0.0.1:1", 1.0, {"Authorization": "Bearer sk-live-123456"})
    text = client.redact("HTTP 401: Incorrect API key provided: sk-live-123456.")
    assert text == "HTTP 401: Incorrect API key provided: ***."
