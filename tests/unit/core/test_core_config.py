"""Configuration: parsers as tables, CLI > TOML > defaults, errors naming what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadprofile.config.reach import CA_BUNDLE_VARIABLES
from loadprofile.config.run_config import (
    CliValues,
    ConfigError,
    LoadConfig,
    Target,
    parse_duration,
    parse_model_spec,
    parse_think_time,
    resolve,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("1h30m15s", 5415.0),
        ("250ms", 0.25),
        ("1.5m", 90.0),
        ("0.5s", 0.5),
        ("0", 0.0),
        ("2m30s", 150.0),
        (" 30S ", 30.0),
        ("1M", 60.0),
        (45, 45.0),
        (2.5, 2.5),
    ],
)
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "5x",
        "-1",
        "1m-",
        "m",
        "ms",
        "1.5.5",
        "5 m",
        "1h 30m",
        "1,5s",
        "s30",
        "1e3",
        -1,
        -0.5,
    ],
)
def test_parse_duration_errors(text: str | float) -> None:
    with pytest.raises(ConfigError, match="run time"):
        parse_duration(text, "run time")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1-3", (1.0, 3.0)),
        ("2", (2.0, 2.0)),
        ("0", (0.0, 0.0)),
        ("0.5-1.5", (0.5, 1.5)),
        ("0-0", (0.0, 0.0)),
        (" 1 - 2 ", (1.0, 2.0)),
    ],
)
def test_parse_think_time(text: str, expected: tuple[float, float]) -> None:
    assert parse_think_time(text) == expected


@pytest.mark.parametrize("text", ["3-1", "a-b", "-1", "1-2-3", "", "-", "1-", "x"])
def test_parse_think_time_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="think-time"):
        parse_think_time(text)


@pytest.mark.parametrize(
    ("spec", "name", "weight"),
    [("m", "m", 1.0), ("m=2", "m", 2.0), ("m=0.5", "m", 0.5), (" org/m:7b = 3 ", "org/m:7b", 3.0)],
)
def test_parse_model_spec(spec: str, name: str, weight: float) -> None:
    assert parse_model_spec(spec) == Target(name=name, model=name, weight=weight)


@pytest.mark.parametrize("spec", ["=1", "m=0", "m=x", "m=-1", "", " ", "m="])
def test_parse_model_spec_errors(spec: str) -> None:
    with pytest.raises(ConfigError, match="--model"):
        parse_model_spec(spec)


@pytest.mark.parametrize("spec", ["m=nan", "m=inf"])
def test_parse_model_spec_rejects_non_finite_weights(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_model_spec(spec)


# --------------------------------------------------------------------------- resolve


def _toml(tmp_path: Path, text: str, name: str = "run.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


FULL_TOML = """
[load]
users = 50
spawn_rate = 10
run_time = "5m"
think_time = "0.5-2"
history = "live"
timeout = "90s"
max_tokens = 512
interval = "2s"
stop_timeout = "10s"
seed = 7
dataset = "data/convs.jsonl"
out = "runs/a"

[[targets]]
name = "small"
model = "org/small:7b"
host = "http://gpu-1:8000/v1"
api_key_env = "SMALL_KEY"
weight = 3

[[targets]]
model = "org/large"
"""


def test_defaults_without_toml() -> None:
    config = resolve(CliValues(models=("m",)))
    assert config.load == LoadConfig()
    assert config.targets == (Target("m", "m"),)
    assert (config.dataset, config.out_dir, config.host) == (None, None, None)


def test_toml_over_defaults(tmp_path: Path) -> None:
    config = resolve(CliValues(config=_toml(tmp_path, FULL_TOML)))
    assert config.load == LoadConfig(
        users=50,
        spawn_rate=10.0,
        run_time_s=300.0,
        think_time_s=(0.5, 2.0),
        history="live",
        timeout_s=90.0,
        max_tokens=512,
        interval_s=2.0,
        stop_timeout_s=10.0,
        seed=7,
    )
    assert config.dataset == Path("data/convs.jsonl")
    assert config.out_dir == Path("runs/a")
    assert config.targets == (
        Target("small", "org/small:7b", "http://gpu-1:8000", "SMALL_KEY", 3.0),
        Target("org/large", "org/large", None, None, 1.0),
    )


def test_cli_over_toml(tmp_path: Path) -> None:
    cli = CliValues(
        config=_toml(tmp_path, FULL_TOML),
        users=5,
        spawn_rate=1.5,
        run_time="1h",
        think_time="0",
        history="recorded",
        timeout="10s",
        max_tokens=64,
        interval="500ms",
        stop_timeout="1s",
        seed=0,
        dataset="other.jsonl",
        out="runs/b",
    )
    config = resolve(cli)
    assert config.load == LoadConfig(
        users=5,
        spawn_rate=1.5,
        run_time_s=3600.0,
        think_time_s=(0.0, 0.0),
        history="recorded",
        timeout_s=10.0,
        max_tokens=64,
        interval_s=0.5,
        stop_timeout_s=1.0,
        seed=0,
    )
    assert config.dataset == Path("other.jsonl")
    assert config.out_dir == Path("runs/b")


def test_cli_models_replace_toml_targets(tmp_path: Path) -> None:
    config = resolve(
        CliValues(
            config=_toml(tmp_path, FULL_TOML), models=("a=2", "b"), host="http://cli-host:9000"
        )
    )
    assert config.targets == (
        Target("a", "a", "http://cli-host:9000", None, 2.0),
        Target("b", "b", "http://cli-host:9000", None, 1.0),
    )


def test_partial_toml_mixes_with_defaults_and_cli(tmp_path: Path) -> None:
    path = _toml(tmp_path, "[load]\nusers = 8\nrun_time = 120\n")
    config = resolve(CliValues(config=path, models=("m",), spawn_rate=2.0))
    assert config.load == LoadConfig(users=8, run_time_s=120.0, spawn_rate=2.0)


def test_host_fills_only_targets_without_one(tmp_path: Path) -> None:
    config = resolve(
        CliValues(
            config=_toml(tmp_path, FULL_TOML), host="http://fallback:1", api_key_env="FALLBACK_KEY"
        )
    )
    small, large = config.targets
    assert (small.host, small.api_key_env) == ("http://gpu-1:8000", "SMALL_KEY")
    assert (large.host, large.api_key_env) == ("http://fallback:1", "FALLBACK_KEY")
    assert config.host == "http://fallback:1"


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ("[load]\nuserz = 3\n", "userz"),
        ('[load]\nusers = 3\nrunt_time = "5m"\n', "runt_time"),
        ('[[targets]]\nmodel = "m"\nhots = "http://x"\n', "hots"),
        ("[loads]\nusers = 3\n", "loads"),
        ("[extra]\n", "extra"),
    ],
)
def test_unknown_toml_keys_are_named(tmp_path: Path, toml: str, fragment: str) -> None:
    path = _toml(tmp_path, toml)
    with pytest.raises(ConfigError, match=fragment) as info:
        resolve(CliValues(config=path))
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "text",
    ["[load\nusers = 1\n", "users = = 3\n", "[load]\nusers = 1\nusers = 2\n", "\x00"],
)
def test_invalid_toml_names_the_file(tmp_path: Path, text: str) -> None:
    path = _toml(tmp_path, text, "broken.toml")
    with pytest.raises(ConfigError, match="invalid TOML") as info:
        resolve(CliValues(config=path))
    assert str(path) in str(info.value)


def test_missing_or_directory_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        resolve(CliValues(config=tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="directory"):
        resolve(CliValues(config=tmp_path))


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ('targets = "m"\n', "array of tables"),
        ('targets = ["m"]\n', "not a table"),
        ('[[targets]]\nname = "x"\n', "needs a 'model'"),
        ('[[targets]]\nmodel = ""\n', "needs a 'model'"),
        ('[[targets]]\nmodel = "m"\nweight = 0\n', "weight"),
        ('[[targets]]\nmodel = "m"\nweight = "2"\n', "weight"),
        ("load = 3\n", "[load] must be a table"),
    ],
)
def test_bad_target_tables(tmp_path: Path, toml: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(CliValues(config=_toml(tmp_path, toml)))
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("cli", "toml"),
    [
        (CliValues(models=("m", "m=2")), None),
        (CliValues(), '[[targets]]\nmodel = "a"\n[[targets]]\nmodel = "a"\n'),
        (
            CliValues(),
            '[[targets]]\nname = "x"\nmodel = "a"\n[[targets]]\nname = "x"\nmodel = "b"\n',
        ),
    ],
)
def test_duplicate_target_names(tmp_path: Path, cli: CliValues, toml: str | None) -> None:
    if toml is not None:
        cli = CliValues(config=_toml(tmp_path, toml))
    with pytest.raises(ConfigError, match="unique"):
        resolve(cli)


@pytest.mark.parametrize("host", ["ftp://h", "localhost:8000", "http://", "h", "https:// x"])
def test_non_http_host(tmp_path: Path, host: str) -> None:
    with pytest.raises(ConfigError, match="http"):
        resolve(CliValues(models=("m",), host=host))
    toml = f'[[targets]]\nmodel = "m"\nhost = "{host}"\n'
    with pytest.raises(ConfigError, match="host must be an http"):
        resolve(CliValues(config=_toml(tmp_path, toml)))


@pytest.mark.parametrize(
    ("cli", "fragment"),
    [
        (CliValues(models=("m",), history="recent"), "history"),
        (CliValues(models=("m",), spawn_rate=0.0), "spawn rate"),
        (CliValues(models=("m",), run_time="0"), "run time"),
        (CliValues(models=("m",), run_time="abc"), "run time"),
        (CliValues(models=("m",), timeout="0s"), "timeout"),
        (CliValues(models=("m",), interval="50ms"), "interval"),
        (CliValues(models=("m",), max_tokens=0), "max tokens"),
        (CliValues(models=("m",), seed=-1), "seed"),
        (CliValues(models=("m",), users=-3), "users"),
        (CliValues(models=("m",), think_time="2-1"), "think-time"),
        (CliValues(models=("m",), stop_timeout="x"), "stop timeout"),
    ],
)
def test_bad_load_values(cli: CliValues, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        resolve(cli)


@pytest.mark.parametrize(
    ("cli_kwargs", "toml"),
    [
        ({"users": 0}, None),
        ({}, "[load]\nusers = 0\n"),
        ({}, "[load]\nrun_time = 0\n"),
        ({}, "[load]\ntimeout = 0\n"),
        ({}, "[load]\ninterval = 0\n"),
    ],
    ids=["cli-users-0", "toml-users-0", "toml-run_time-0", "toml-timeout-0", "toml-interval-0"],
)
def test_explicit_zero_is_rejected_not_defaulted(
    tmp_path: Path, cli_kwargs: dict[str, int], toml: str | None
) -> None:
    config = _toml(tmp_path, toml) if toml else None
    with pytest.raises(ConfigError):
        resolve(CliValues(models=("m",), config=config, **cli_kwargs))  # type: ignore[arg-type]


def test_to_json_holds_no_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = "sk-live-DO-NOT-LEAK-4f9a8b7c6d5e"
    monkeypatch.setenv("SMALL_KEY", secret)
    monkeypatch.setenv("FALLBACK_KEY", secret)
    for name in CA_BUNDLE_VARIABLES:  # else run.json says which CA bundle it trusted
        monkeypatch.delenv(name, raising=False)
    config = resolve(
        CliValues(
            config=_toml(tmp_path, FULL_TOML), api_key_env="FALLBACK_KEY", host="http://fallback:1"
        )
    )
    data = config.to_json()
    text = json.dumps(data)
    assert secret not in text
    assert "SMALL_KEY" in text and "FALLBACK_KEY" in text
    assert [t["api_key_env"] for t in data["targets"]] == ["SMALL_KEY", "FALLBACK_KEY"]
    assert set(data) == {"targets", "dataset", "load"}
    assert data["load"]["run_time_s"] == 300.0
    assert data["dataset"] == "data/convs.jsonl"
