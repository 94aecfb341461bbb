"""summary.json and run.json as the readers take them (contract models), from the plain
dicts tests write by hand, and back."""

from __future__ import annotations

from typing import Any

import msgspec

from loadprofile.contract.run_meta import RunMeta
from loadprofile.contract.summary import GeneratorHealth, LoadSettings, PhaseFigures, Summary


def summary_of(raw: dict[str, Any]) -> Summary:
    return msgspec.convert(raw, Summary)


def run_of(raw: dict[str, Any]) -> RunMeta:
    return msgspec.convert(raw, RunMeta)


def load_of(raw: dict[str, Any] | None) -> LoadSettings | None:
    return None if raw is None else msgspec.convert(raw, LoadSettings)


def phases_of(raw: list[dict[str, Any]]) -> list[PhaseFigures]:
    return msgspec.convert(raw, list[PhaseFigures])


def generator_of(raw: dict[str, Any] | None) -> GeneratorHealth | None:
    return None if raw is None else msgspec.convert(raw, GeneratorHealth)


def plain(model: object) -> Any:
    """A model as the JSON file holds it (dicts, lists, numbers: a JSON round trip)."""
    return msgspec.json.decode(msgspec.json.encode(model))
