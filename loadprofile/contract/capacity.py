"""``capacity.json`` as typed models: what ``loadprofile capacity`` found (docs/capacity.md).

Field order is the file's key order. A model's answer is ``max_users`` (concurrency mode) or
``max_rate`` (rate mode), never both.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, Struct, UnsetType

SCHEMA = 1


class Probe(Struct, frozen=True, kw_only=True):
    """One probe: a real run folder at one load."""

    load: float
    dir: str
    verdict: str  # "pass", "fail", "uncertain", "over-saturated", "failed"
    p99s: dict[str, float | None]  # each SLO metric's estimate (ms)
    ci: dict[str, list[float] | None]  # its 95 % interval [low, high] when it was gated
    seconds: float
    stopped_because: str


class ModelCapacity(Struct, frozen=True, kw_only=True):
    """One model's answer, its interval and how the search got there."""

    max_users: int | UnsetType = UNSET
    max_rate: float | UnsetType = UNSET
    interval: list[float]
    limited_by: str  # an SLO metric, "error_rate", "no successes", "max_users"/"max_rate", "budget"
    probes: list[Probe] = []


class Capacity(Struct, frozen=True, kw_only=True):
    """capacity.json."""

    schema: int = SCHEMA
    slo: dict[str, float]
    mode: str
    models: dict[str, ModelCapacity] = {}


def encode_capacity(capacity: Capacity) -> bytes:
    return msgspec.json.format(msgspec.json.encode(capacity), indent=2) + b"\n"


def decode_capacity(data: bytes | str) -> Capacity:
    return msgspec.json.decode(data, type=Capacity)
