"""Extra headers for gateways (``--header``, ``--header-env``, ``[[targets]]`` ``headers`` and
``header_env``) and ``--api azure``'s settings: parsed, merged, sent, and never recorded as
values."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from loadprofile import cli
from loadprofile.client.preflight import check_variables, list_models
from loadprofile.client.target_client import request_headers
from loadprofile.config.cli_values import CliValues
from loadprofile.config.headers import parse_header, parse_header_env
from loadprofile.config.run_config import resolve
from loadprofile.config.targets import AZURE_API_VERSION, Target, target_from_wire
from loadprofile.contract.run_meta import TargetSpec
from loadprofile.engine.fleet.wire import config_from_wire, config_to_wire
from loadprofile.errors import ConfigError, UsageError
from loadprofile.rundir.meta import build_meta

LITERAL = "literal-team-value"
SECRET = "gateway-secret-value-42"


@pytest.mark.parametrize(
    ("spec", "pair"),
    [
        ("X-Team: perf", ("X-Team", "perf")),
        ("X-Team:perf", ("X-Team", "perf")),
        ("  X-Trace :  a b\tc  ", ("X-Trace", "a b\tc")),
        ("X-Url: http://h:1/x", ("X-Url", "http://h:1/x")),
        ("X-Empty:", ("X-Empty", "")),
        ("Authorization: Bearer t", ("Authorization", "Bearer t")),
    ],
)
def test_header_specs(spec: str, pair: tuple[str, str]) -> None:
    assert parse_header(spec) == pair


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("X-Team perf", "use 'Name: value'"),
        (": perf", "bad header name"),
        ("X Team: perf", "bad header name"),
        ("X-Te\nam: perf", "bad header name"),
        ("X-Team: a\r\nHost: evil", "printable ASCII"),
        ("X-Team: caf\u00e9", "printable ASCII"),
        ("Host: other", "loadprofile sets Host itself"),
        ("content-length: 3", "sets content-length itself"),
        ("Content-Type: text/plain", "itself"),
        ("Transfer-Encoding: chunked", "itself"),
        ("Connection: close", "itself"),
    ],
)
def test_bad_header_specs(spec: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as info:
        parse_header(spec)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("X-Key", "use NAME=VAR"),
        ("X-Key=", "not an environment variable name"),
        ("X-Key=1KEY", "not an environment variable name"),
        ("X-Key=MY-KEY", "not an environment variable name"),
        ("=KEY", "bad header name"),
        ("X Key=KEY", "bad header name"),
        ("Host=KEY", "itself"),
    ],
)
def test_bad_header_env_specs(spec: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        parse_header_env(spec)


def test_header_env_spec() -> None:
    assert parse_header_env("X-Gateway-Key=GATEWAY_KEY") == ("X-Gateway-Key", "GATEWAY_KEY")


def test_a_name_given_twice_is_refused() -> None:
    with pytest.raises(ConfigError, match="header x-a is given twice"):
        resolve(CliValues(host="http://h", models=("m",), header=("X-A: 1", "x-a: 2")))
    with pytest.raises(ConfigError, match="given twice"):
        resolve(
            CliValues(host="http://h", models=("m",), header=("X-A: 1",), header_env=("X-A=V",))
        )


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--header", "no colon"],
        ["run", "--header", "Host: x"],
        ["run", "--header-env", "X-Key=not-a-var"],
        ["run", "--api-version", "bad version"],
    ],
)
def test_bad_flags_are_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("loadprofile: error: ")


TOML = """
[[targets]]
name = "gw"
host = "https://gw.example/openai/v1"
model = "m"
headers = { "X-Team" = "override", "X-Own" = "own" }
header_env = { "X-Gateway-Key" = "LP_GATEWAY_KEY" }

[[targets]]
name = "az"
host = "https://res.openai.azure.com"
model = "my-deployment"
api = "azure"
api_version = "2025-01-01-preview"

[[targets]]
name = "plain"
host = "http://127.0.0.1:8000/v1"
model = "m"
"""


def _config(tmp_path: Path, toml: str = TOML) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(toml)
    return path


def test_targets_add_to_and_override_the_run_wide_headers(tmp_path: Path) -> None:
    config = resolve(
        CliValues(
            config=_config(tmp_path),
            header=(f"X-Team: {LITERAL}", "X-Run: r"),
            header_env=("X-Own=LP_RUN_OWN",),
            api_version="2024-06-01",
        )
    )
    gw, az, plain = config.targets
    assert dict(gw.headers) == {"X-Team": "override", "X-Run": "r", "X-Own": "own"}
    assert dict(gw.header_env) == {"X-Gateway-Key": "LP_GATEWAY_KEY"}  # own wins over run's
    assert dict(plain.headers) == {"X-Team": LITERAL, "X-Run": "r"}
    assert dict(plain.header_env) == {"X-Own": "LP_RUN_OWN"}
    assert (gw.host, plain.host) == ("https://gw.example/openai/v1", "http://127.0.0.1:8000")
    assert (az.api_version, plain.api_version) == ("2025-01-01-preview", None)


def test_azure_takes_the_run_s_version_or_the_ga_one() -> None:
    given = resolve(
        CliValues(host="https://r", models=("d",), api="azure", api_version="2024-06-01")
    )
    assert given.targets[0].api_version == "2024-06-01"
    default = resolve(CliValues(host="https://r", models=("d",), api="azure"))
    assert default.targets[0].api_version == AZURE_API_VERSION


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ('headers = { "X A" = "v" }', "bad header name"),
        ('headers = { "X-A" = 5 }', "table of strings"),
        ('headers = "X-A: v"', "table of strings"),
        ('header_env = { "X-A" = "not a var" }', "not an environment variable name"),
        ('headers = { "Content-Length" = "5" }', "itself"),
        ('api_version = "2024-10-21"', 'for api = "azure" only'),
        ("api_version = 2024", "bad api version"),
    ],
)
def test_bad_target_tables(tmp_path: Path, extra: str, reason: str) -> None:
    toml = f'[[targets]]\nmodel = "m"\nhost = "http://h"\n{extra}\n'
    with pytest.raises(ConfigError, match=reason):
        resolve(CliValues(config=_config(tmp_path, toml)))


def test_run_json_records_header_names_never_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LP_GATEWAY_KEY", SECRET)
    config = resolve(CliValues(config=_config(tmp_path), header=(f"X-Literal: {LITERAL}",)))
    meta = build_meta(
        config,
        run_id="r",
        command=["loadprofile", "run"],
        target_kind="host",
        dataset={},
        warnings=[],
    )
    text = json.dumps(meta)
    assert LITERAL not in text and SECRET not in text and "override" not in text
    gw, az, _plain = meta["targets"]
    assert gw["headers"] == ["X-Literal", "X-Team", "X-Own"]  # the run's, then its own
    assert gw["header_env"] == {"X-Gateway-Key": "LP_GATEWAY_KEY"}
    assert az["api_version"] == "2025-01-01-preview" and "headers" in az
    decoded = msgspec.convert(gw, TargetSpec)
    assert decoded.header_env == {"X-Gateway-Key": "LP_GATEWAY_KEY"}


def test_a_target_without_extras_records_what_it_always_did() -> None:
    config = resolve(CliValues(host="http://127.0.0.1:8000/v1", models=("m",)))
    (record,) = config.to_json()["targets"]
    assert record == {
        "name": "m",
        "model": "m",
        "host": "http://127.0.0.1:8000",
        "api_key_env": None,
        "weight": 1.0,
        "api": "chat",
        "extra_body": "",
    }


def test_workers_get_the_headers_from_the_master() -> None:
    config = resolve(
        CliValues(host="http://h", models=("m",), header=("X-A: 1",), header_env=("X-B=LP_B",))
    )
    back = config_from_wire(json.loads(json.dumps(config_to_wire(config))))
    assert back.targets == config.targets and hash(back.targets[0])
    assert target_from_wire({"name": "m", "model": "m"}) == Target("m", "m")


def test_headers_sent_read_the_environment_when_the_client_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = Target(
        "m",
        "m",
        "http://h",
        "LP_KEY",
        headers=(("X-Team", "perf"),),
        header_env=(("X-Gateway-Key", "LP_GATEWAY_KEY"),),
    )
    monkeypatch.setenv("LP_KEY", "sk-1")
    monkeypatch.delenv("LP_GATEWAY_KEY", raising=False)
    assert request_headers(target) == {"Authorization": "Bearer sk-1", "X-Team": "perf"}
    monkeypatch.setenv("LP_GATEWAY_KEY", SECRET)
    assert request_headers(target)["X-Gateway-Key"] == SECRET
    own_auth = Target("m", "m", "http://h", "LP_KEY", headers=(("authorization", "Basic x"),))
    assert request_headers(own_auth) == {"authorization": "Basic x"}  # replaces the key's


def test_an_unset_or_unsendable_header_variable_stops_the_preflight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = Target("gw", "m", "http://h", header_env=(("X-Gateway-Key", "LP_GATEWAY_KEY"),))
    monkeypatch.delenv("LP_GATEWAY_KEY", raising=False)
    with pytest.raises(UsageError, match=r"header X-Gateway-Key: variable \$LP_GATEWAY_KEY is not"):
        check_variables(target, "target gw")
    monkeypatch.setenv("LP_GATEWAY_KEY", "line\nbreak-secret")
    with pytest.raises(UsageError, match="not a header value") as info:
        check_variables(target, "target gw")
    assert "break-secret" not in str(info.value)
    monkeypatch.setenv("LP_GATEWAY_KEY", SECRET)
    check_variables(target, "target gw")


def test_azure_without_a_model_is_told_to_name_its_deployment() -> None:
    with pytest.raises(UsageError, match="--model DEPLOYMENT"):
        list_models(Target("?", "?", "https://r.openai.azure.com", api="azure"))
