"""Targets: the models a run loads, from ``--model NAME[=WEIGHT]`` or ``[[targets]]`` tables,
and their checked base URLs (pure)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from loadprofile.config.extra_body import check_extra_body
from loadprofile.config.headers import ExtraHeaders, HeaderPairs, header_record, toml_headers
from loadprofile.errors import ConfigError

#: The wire formats a target may speak (``--api``): OpenAI chat completions (default), OpenAI
#: legacy completions, Anthropic Messages, Azure OpenAI (chat under a deployment's path).
#: Each has its request, stream and TTFT rule in apis/.
API_FLAVOURS: tuple[str, ...] = ("chat", "completions", "anthropic", "azure")
DEFAULT_API = "chat"
#: ``--api-version`` of Azure OpenAI when none is given: the current GA version.
AZURE_API_VERSION = "2024-10-21"
_API_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]*")


@dataclass(frozen=True)
class Target:
    """One model behind one endpoint; ``name`` labels it in every output."""

    name: str
    model: str
    host: str | None = None
    api_key_env: str | None = None
    weight: float = 1.0
    api: str = DEFAULT_API  # one of API_FLAVOURS
    extra_body: str = ""  # fields merged into its request bodies, JSON text (extra_body.py)
    api_version: str | None = None  # Azure's api-version (None for the other APIs)
    headers: HeaderPairs = ()  # extra headers sent as they are: (name, value)
    header_env: HeaderPairs = ()  # extra headers from the environment: (name, variable)


def parse_model_spec(spec: str, api: str = DEFAULT_API) -> Target:
    """'NAME' or 'NAME=WEIGHT'."""
    name, sep, weight_text = spec.partition("=")
    name = name.strip()
    if not name:
        raise ConfigError(f"bad --model {spec!r}")
    weight = 1.0
    if sep:
        try:
            weight = float(weight_text)
        except ValueError:
            raise ConfigError(f"bad weight in --model {spec!r} (use NAME=WEIGHT)") from None
        if not weight > 0 or not math.isfinite(weight):
            raise ConfigError(f"weight must be a positive number in --model {spec!r}")
    return Target(name=name, model=name, weight=weight, api=api)


_TARGET_KEYS = {
    "name",
    "model",
    "host",
    "api_key_env",
    "weight",
    "api",
    "extra_body",
    "api_version",
    "headers",
    "header_env",
}


def check_api(api: Any, what: str) -> str:
    """A known API flavour, or a one-line ConfigError naming the choices."""
    if api not in API_FLAVOURS:
        raise ConfigError(f"{what}: unknown API {api!r} (use {', '.join(API_FLAVOURS)})")
    return str(api)


def targets_from_toml(data: dict[str, Any], source: Path, api: str = DEFAULT_API) -> list[Target]:
    """``[[targets]]`` tables; ``api`` (the run's --api) for those that name none."""
    raw = data.get("targets", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{source}: 'targets' must be an array of tables ([[targets]])")
    targets = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise ConfigError(f"{source}: targets #{i} is not a table")
        unknown = set(item) - _TARGET_KEYS
        if unknown:
            keys = ", ".join(sorted(unknown))
            raise ConfigError(f"{source}: targets #{i}: unknown key(s) {keys}")
        if not isinstance(item.get("model"), str) or not item["model"]:
            raise ConfigError(f"{source}: targets #{i} needs a 'model' string")
        weight = item.get("weight", 1.0)
        if not isinstance(weight, int | float) or not weight > 0 or not math.isfinite(weight):
            raise ConfigError(f"{source}: targets #{i}: weight must be a positive number")
        key_env = item.get("api_key_env")
        if key_env is not None and not (isinstance(key_env, str) and key_env):
            raise ConfigError(f"{source}: targets #{i}: api_key_env must be a variable name")
        host = item.get("host")
        own_api = item.get("api")
        version = item.get("api_version")
        extra = toml_headers(item, f"{source}: targets #{i}")
        targets.append(
            Target(
                name=str(item.get("name") or item["model"]),
                model=item["model"],
                host=None if host is None else normalize_host(host, f"{source}: targets #{i}"),
                api_key_env=key_env,
                weight=float(weight),
                api=api if own_api is None else check_api(own_api, f"{source}: targets #{i}"),
                extra_body=check_extra_body(
                    item.get("extra_body"), f"{source}: targets #{i}: extra_body"
                ),
                api_version=None
                if version is None
                else check_api_version(version, f"{source}: targets #{i}: api_version"),
                headers=extra.literal,
                header_env=extra.from_env,
            )
        )
    return targets


def fill_target(
    target: Target,
    *,
    host: str | None,
    api_key_env: str | None,
    api_version: str | None,
    headers: ExtraHeaders,
) -> Target:
    """The target with what the command line gives every target that does not say: the
    host, the key's variable, Azure's API version; the run-wide headers under its own."""
    if target.api_version is not None and target.api != "azure":
        raise ConfigError(f'target {target.name}: api_version is for api = "azure" only')
    version = target.api_version or api_version or AZURE_API_VERSION
    merged = headers.under(ExtraHeaders(target.headers, target.header_env))
    return replace(
        target,
        host=target.host or host,
        api_key_env=target.api_key_env or api_key_env,
        api_version=version if target.api == "azure" else None,
        headers=merged.literal,
        header_env=merged.from_env,
    )


def check_api_version(version: Any, what: str) -> str:
    """Azure's ``api-version``, e.g. 2024-10-21 or 2025-01-01-preview."""
    if not isinstance(version, str) or not _API_VERSION.fullmatch(version):
        raise ConfigError(f"{what}: bad api version {version!r} (e.g. {AZURE_API_VERSION})")
    return version


def target_record(target: Target) -> dict[str, Any]:
    """What run.json keeps of a target: its key's and its headers' names, never a value."""
    out: dict[str, Any] = {
        "name": target.name,
        "model": target.model,
        "host": target.host,
        "api_key_env": target.api_key_env,
        "weight": target.weight,
        "api": target.api,
        "extra_body": target.extra_body,
    }
    if target.api_version is not None:
        out["api_version"] = target.api_version
    return {**out, **header_record(target.headers, target.header_env)}


def target_from_wire(fields: dict[str, Any]) -> Target:
    """A Target from its fields as JSON carried them (a distributed run's master to its
    workers): the header pairs come back as lists."""
    pairs = {
        key: tuple((str(name), str(value)) for name, value in fields.get(key) or ())
        for key in ("headers", "header_env")
    }
    return Target(**{**fields, **pairs})


def check_targets(targets: list[Target]) -> None:
    names = [t.name for t in targets]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"target names must be unique; repeated: {', '.join(dupes)}")


def normalize_host(url: Any, what: str) -> str:
    """A checked base URL without a trailing '/'. Its path is the API base, as the OpenAI
    SDKs take it (``https://openrouter.ai/api/v1``, Gemini's ``.../v1beta/openai``); a bare
    host means /v1 (client/apis/endpoints.py), so a path of ``/v1`` alone is dropped: both
    spellings are one base, recorded as they always were. Credentials in URLs are refused:
    they would end up in run.json; keys belong in environment variables."""
    if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"{what}: host must be an http(s) URL, got {url!r}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{what}: bad host URL {url!r}: {exc}") from None
    if not parts.hostname or (port is not None and not 0 < port < 65536):
        raise ConfigError(f"{what}: bad host URL {url!r}")
    if parts.username or parts.password:
        raise ConfigError(
            f"{what}: no credentials in host URLs; put the key in an environment "
            "variable and name it with --api-key-env / api_key_env"
        )
    if not url.isascii() or parts.query or parts.fragment:
        raise ConfigError(f"{what}: host URL must be plain ASCII without ?query or #fragment")
    base = url.rstrip("/")
    return base[: -len("/v1")] if urlsplit(base).path == "/v1" else base


def split_canary(
    canary: str | None, baselines: Sequence[str] | None, names: list[str]
) -> tuple[tuple[str, str] | None, list[str]]:
    """``--canary C --baseline B``: (C, B), and the other --baseline values (snapshots).

    --baseline also names calm snapshots (``MODEL=SNAPSHOT``); with --canary, the one value
    that is a model of the run (or, models not known yet, not a folder) is the model the
    canary is judged against."""
    given = list(baselines or ())
    if canary is None:
        return None, given
    models = [b for b in given if "=" not in b and (b in names if names else not Path(b).is_dir())]
    if len(models) != 1:
        raise ConfigError(
            "--canary needs one --baseline MODEL: the model it is judged against "
            "(e.g. --canary candidate --baseline current)"
        )
    if names and canary not in names:
        raise ConfigError(
            f"--canary {canary}: no such model in this run (models: {', '.join(names)})"
        )
    if models[0] == canary:
        raise ConfigError("--canary and --baseline name the same model")
    rest = list(given)
    rest.remove(models[0])
    return (canary, models[0]), rest
