"""Prices per model, and what one attempt costs (pure).

Prices come from the config file, per target name, in currency units per million tokens:

    [prices.mock-small]
    input_per_1m = 0.15
    output_per_1m = 0.60
    cached_input_per_1m = 0.075   # optional; default: the input price
    per_request = 0.0             # optional fee per billed attempt

Billing rule (written down because providers differ): an attempt is billed when the model
ran, i.e. the server answered 2xx (a stream cut off or timed out mid-way is billed for the
tokens it produced). Attempts refused with an HTTP error (429, 5xx, 4xx) or never connected
cost nothing. Prompt tokens are the server's usage count, else the local estimate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loadprofile.core.results import RequestResult
from loadprofile.errors import ConfigError

PRICE_KEYS = ("input_per_1m", "output_per_1m", "cached_input_per_1m", "per_request")
CURRENCY = "USD"


@dataclass(frozen=True)
class Price:
    """One model's price list (currency units; token prices per million tokens)."""

    input_per_1m: float
    output_per_1m: float
    cached_input_per_1m: float | None = None
    per_request: float = 0.0

    def usd(self, prompt_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float:
        """The price of one billed attempt; cached prompt tokens at the cached price."""
        cached = min(max(cached_tokens, 0), prompt_tokens)
        cached_price = (
            self.input_per_1m if self.cached_input_per_1m is None else self.cached_input_per_1m
        )
        return (
            (prompt_tokens - cached) * self.input_per_1m
            + cached * cached_price
            + output_tokens * self.output_per_1m
        ) / 1e6 + self.per_request

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def billed(attempt: RequestResult) -> bool:
    """Whether the model ran for this attempt (see the module's billing rule)."""
    return 200 <= attempt.status < 300


def attempt_cost(price: Price, attempt: RequestResult) -> float:
    if not billed(attempt):
        return 0.0
    return price.usd(attempt.prompt_tokens or 0, attempt.output_tokens, attempt.cached_tokens or 0)


def request_cost(price: Price, result: RequestResult) -> tuple[float, float]:
    """(total, of which failed earlier attempts) for one request and its retries."""
    earlier = sum(attempt_cost(price, a) for a in result.earlier)
    return earlier + attempt_cost(price, result), earlier


def prices_from_toml(data: dict[str, Any], source: Path) -> dict[str, Price]:
    """The ``[prices.NAME]`` tables of the config file, checked."""
    raw = data.get("prices", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: [prices] must hold one table per model ([prices.NAME])")
    return {str(name): _price(table, f"{source}: [prices.{name}]") for name, table in raw.items()}


def _price(table: Any, where: str) -> Price:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table with input_per_1m and output_per_1m")
    unknown = set(table) - set(PRICE_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(PRICE_KEYS)})"
        )
    for key in ("input_per_1m", "output_per_1m"):
        if key not in table:
            raise ConfigError(f"{where}: {key} is required")
    values: dict[str, float] = {}
    for key, value in table.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise ConfigError(f"{where}: {key} must be a non-negative number, got {value!r}")
        values[key] = float(value)
    return Price(**values)


def check_priced_targets(prices: dict[str, Price], target_names: list[str]) -> None:
    """A price for a model the run does not load is a typo worth an error."""
    if not target_names:
        return  # models come later (from the mock or the host)
    stray = sorted(set(prices) - set(target_names))
    if stray:
        raise ConfigError(
            f"[prices] names model(s) not in this run: {', '.join(stray)} "
            f"(models: {', '.join(target_names)})"
        )
