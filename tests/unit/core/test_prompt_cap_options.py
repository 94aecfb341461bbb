"""--max-prompt-tokens: from the flag or [load], checked, carried to run.json and to workers;
and the end summary's word on requests still running at the stop."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from loadprofile.config.flags import add_flags, cli_values
from loadprofile.config.run_config import CliValues, ConfigError, LoadConfig, resolve
from loadprofile.console import stop_timeout_note
from loadprofile.engine.fleet.wire import config_from_wire, config_to_wire


def _toml(tmp_path: Path, load: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(f'[load]\n{load}\n[[targets]]\nmodel = "a"\n')
    return path


def test_off_by_default_and_set_by_the_flag() -> None:
    assert resolve(CliValues(models=("a",))).load.max_prompt_tokens is None
    config = resolve(CliValues(models=("a",), max_prompt_tokens=768))
    assert config.load.max_prompt_tokens == 768
    assert config.to_json()["load"]["max_prompt_tokens"] == 768  # run.json's "load"


def test_the_flag_parses_into_cli_values() -> None:
    for command in ("run", "locust"):
        parser = argparse.ArgumentParser()
        add_flags(parser, command)
        values = cli_values(parser.parse_args(["--max-prompt-tokens", "768"]), command)
        assert values.max_prompt_tokens == 768
        assert cli_values(parser.parse_args([]), command).max_prompt_tokens is None


def test_config_file_sets_it_and_the_flag_wins(tmp_path: Path) -> None:
    path = _toml(tmp_path, "max_prompt_tokens = 1000")
    assert resolve(CliValues(config=path)).load.max_prompt_tokens == 1000
    assert resolve(CliValues(config=path, max_prompt_tokens=500)).load.max_prompt_tokens == 500


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (0, "max prompt tokens must be at least 1, got 0"),
        (-5, "max prompt tokens must be at least 1, got -5"),
        ("abc", "max prompt tokens must be a whole number, got 'abc'"),
        (1.5, "max prompt tokens must be a whole number, got 1.5"),
        (True, "max prompt tokens must be a whole number, got True"),
    ],
)
def test_bad_values_are_one_line_errors(tmp_path: Path, value: object, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        resolve(CliValues(models=("a",), max_prompt_tokens=value))  # type: ignore[arg-type]
    toml_value = f'"{value}"' if isinstance(value, str) else str(value).lower()
    with pytest.raises(ConfigError, match=fragment):
        resolve(CliValues(config=_toml(tmp_path, f"max_prompt_tokens = {toml_value}")))


def test_workers_get_it_from_the_master() -> None:
    config = resolve(CliValues(models=("a",), host="http://127.0.0.1:1", max_prompt_tokens=64))
    assert config_from_wire(config_to_wire(config)).load.max_prompt_tokens == 64


# --- the end summary's note on stop timeouts ------------------------------------------------


def test_stop_timeouts_are_explained_with_what_to_change() -> None:
    note = stop_timeout_note(17, 46, LoadConfig(stop_timeout_s=30.0))
    assert note == (
        "17 of 46 requests were still running at the stop (30s after the run time) "
        "and count as timeout errors: raise --stop-timeout or lower -u"
    )


@pytest.mark.parametrize(
    ("load", "lever"), [(LoadConfig(rate=2.0), "--rate"), (LoadConfig(shape="spike"), "the users")]
)
def test_the_lever_follows_the_kind_of_load(load: LoadConfig, lever: str) -> None:
    assert str(stop_timeout_note(5, 50, load)).endswith(f"lower {lever}")


@pytest.mark.parametrize(("unfinished", "requests"), [(0, 100), (0, 0), (1, 101), (9, 1000)])
def test_no_note_when_they_are_not_a_notable_share(unfinished: int, requests: int) -> None:
    assert stop_timeout_note(unfinished, requests, LoadConfig()) is None


def test_one_in_a_hundred_is_notable() -> None:
    assert stop_timeout_note(1, 100, LoadConfig()) is not None
    assert stop_timeout_note(1, 1, LoadConfig()) is not None
