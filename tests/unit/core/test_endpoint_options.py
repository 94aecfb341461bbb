"""--api, --unique-prefix and --server-metrics: resolved from the CLI and the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadprofile.config.run_config import CliValues, ConfigError, resolve


def test_api_defaults_to_chat_and_cli_sets_it_for_every_model() -> None:
    assert [t.api for t in resolve(CliValues(models=("a", "b"))).targets] == ["chat", "chat"]
    config = resolve(CliValues(models=("a",), api="anthropic"))
    assert config.api == "anthropic" and config.targets[0].api == "anthropic"


def test_a_target_table_keeps_its_own_api_over_the_flag(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('[[targets]]\nmodel = "a"\napi = "completions"\n\n[[targets]]\nmodel = "b"\n')
    targets = resolve(CliValues(config=toml, api="anthropic")).targets
    assert [(t.name, t.api) for t in targets] == [("a", "completions"), ("b", "anthropic")]


def test_unknown_api_is_a_one_line_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown API 'grpc'"):
        resolve(CliValues(models=("a",), api="grpc"))
    toml = tmp_path / "c.toml"
    toml.write_text('[[targets]]\nmodel = "a"\napi = "gemini"\n')
    with pytest.raises(ConfigError, match="targets #1: unknown API 'gemini'"):
        resolve(CliValues(config=toml))


def test_unique_prefix_from_flag_or_load_section(tmp_path: Path) -> None:
    assert resolve(CliValues(models=("a",))).load.unique_prefix is False
    assert resolve(CliValues(models=("a",), unique_prefix=True)).load.unique_prefix is True
    toml = tmp_path / "c.toml"
    toml.write_text('[load]\nunique_prefix = true\n[[targets]]\nmodel = "a"\n')
    assert resolve(CliValues(config=toml)).load.unique_prefix is True
    toml.write_text('[load]\nunique_prefix = "yes"\n[[targets]]\nmodel = "a"\n')
    with pytest.raises(ConfigError, match="unique_prefix must be true or false"):
        resolve(CliValues(config=toml))


def test_server_metrics_urls_are_checked_and_default_to_the_metrics_path() -> None:
    config = resolve(
        CliValues(
            models=("a",),
            server_metrics=[
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8000/metrics",
                "http://[::1]:9/prom/",
            ],
        )
    )
    assert config.server_metrics == (
        "http://127.0.0.1:8080/metrics",
        "http://127.0.0.1:8000/metrics",
        "http://[::1]:9/prom/",
    )
    assert config.to_json()["server_metrics"] == list(config.server_metrics)
    with pytest.raises(ConfigError, match="--server-metrics: host must be an http"):
        resolve(CliValues(models=("a",), server_metrics=["127.0.0.1:8080"]))
    with pytest.raises(ConfigError, match="no credentials"):
        resolve(CliValues(models=("a",), server_metrics=["http://u:p@127.0.0.1:8080/metrics"]))
