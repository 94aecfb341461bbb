"""Targets: the models a run loads, from ``--model NAME[=WEIGHT]`` or ``[[targets]]`` tables,
and their checked base URLs (pure)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from loadprofile.config.extra_body import check_extra_body
from loadprofile.errors import ConfigError

#: The wire formats a target may speak (``--api``): OpenAI chat completions (default), OpenAI
#: legacy completions, Anthropic Messages. Each has its request, stream and TTFT rule in apis/.
API_FLAVOURS: tuple[str, ...] = ("chat", "completions", "anthropic")
DEFAULT_API = "chat"


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


_TARGET_KEYS = {"name", "model", "host", "api_key_env", "weight", "api", "extra_body"}


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
            )
        )
    return targets


def check_targets(targets: list[Target]) -> None:
    names = [t.name for t in targets]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"target names must be unique; repeated: {', '.join(dupes)}")


def normalize_host(url: Any, what: str) -> str:
    """A checked base URL without a trailing '/' or '/v1' (the OpenAI SDKs' habit: our
    paths already start with /v1). Credentials in URLs are refused: they would end up in
    run.json; keys belong in environment variables."""
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
    return base[: -len("/v1")] if base.endswith("/v1") else base


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
