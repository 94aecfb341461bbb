"""The --config TOML file: read it, and check its [load] section's keys (pure).

``[[targets]]`` tables become ``Target``s in ``config``; everything here needs nothing of it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from loadprofile.errors import ConfigError


def load_toml(path: Path, what: str = "config file") -> dict[str, Any]:
    """A TOML file's tables; every way it cannot be read is one line (ConfigError)."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a {what}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror}") from None


#: Load options that CliValues (and the flags) carry under the same name as the [load] key.
LOAD_OPTION_FIELDS = (
    "shape",
    "base_users",
    "steps",
    "step_time",
    "spike_users",
    "spike_at",
    "spike_for",
    "rate",
    "arrival",
    "rate_unit",
    "pace",
    "slo_ttft_ms",
    "slo_tpot_ms",
    "slo_ttft_p99_ms",
)
_LOAD_KEYS = {
    "users",
    "spawn_rate",
    "run_time",
    "think_time",
    "history",
    "timeout",
    "max_tokens",
    "interval",
    "stop_timeout",
    "seed",
    "dataset",
    "out",
    "stages",
    "retries",
    "retry_backoff",
    "retry_on",
    "unique_prefix",
    "max_prompt_tokens",
    "max_requests",
    "extra_body",
    "warm_cache",
    "until_stable",
    "stable_metrics",
    "stable_ci",
    "warmup",
    "min_time",
    *LOAD_OPTION_FIELDS,
}


def load_section(data: dict[str, Any], source: Path) -> dict[str, Any]:
    section = data.get("load", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: [load] must be a table")
    unknown = set(section) - _LOAD_KEYS
    if unknown:
        raise ConfigError(f"{source}: [load]: unknown key(s) {', '.join(sorted(unknown))}")
    unknown_top = set(data) - {"load", "targets", "prices"}
    if unknown_top:
        raise ConfigError(f"{source}: unknown section(s) {', '.join(sorted(unknown_top))}")
    return section
