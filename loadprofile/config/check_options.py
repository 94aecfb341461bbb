"""What a run checks in the replies besides timing: the content schema, and the sampled
replies held against calm snapshots (pure; resolved from the flags into RunConfig)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadprofile.errors import ConfigError
from loadprofile.quality.content_check import EXTRACT_MODES, load_schema
from loadprofile.quality.snapshot_format import read_meta

#: Without --sample-outputs, a --baseline compares this many sampled replies per model.
DEFAULT_SAMPLES = 100


@dataclass(frozen=True)
class ContentContract:
    """--content-schema: the JSON Schema every reply's content must meet (None: no check)."""

    schema: dict[str, Any] | None = None
    source: str | None = None  # the schema file, for run.json and the report
    extract: str = "auto"  # content_check.EXTRACT_MODES


@dataclass(frozen=True)
class OutputSampling:
    """--sample-outputs / --baseline: replies kept per model, and the calm snapshots (by
    target name) they are held against."""

    per_model: int = 0
    baselines: tuple[tuple[str, str], ...] = ()


def resolve_content(schema_file: str | None, extract: str | None) -> ContentContract:
    if extract is not None and extract not in EXTRACT_MODES:
        raise ConfigError(f"--content-extract {extract}: choose one of {', '.join(EXTRACT_MODES)}")
    if not schema_file:
        if extract is not None:
            raise ConfigError("--content-extract goes with --content-schema")
        return ContentContract()
    return ContentContract(load_schema(Path(schema_file)), schema_file, extract or "auto")


def resolve_samples(
    n: int | None, baseline: Sequence[str] | None, target_names: list[str]
) -> OutputSampling:
    """``target_names`` may be empty (models come later, from the mock or the host)."""
    if n is not None and not 0 <= n <= 10_000:
        raise ConfigError(f"--sample-outputs {n}: give 0 to 10000 replies per model")
    baselines: list[tuple[str, str]] = []
    for spec in baseline or ():
        name, sep, folder = spec.rpartition("=")
        if not sep:
            if len(target_names) != 1:
                raise ConfigError(
                    f"--baseline {spec}: name the model (MODEL=SNAPSHOT) when the run has several"
                )
            name, folder = target_names[0], spec
        if target_names and name not in target_names:
            raise ConfigError(f"--baseline {spec}: no model {name} in this run")
        try:
            read_meta(Path(folder))
        except ValueError as exc:
            raise ConfigError(f"--baseline {spec}: {exc}") from None
        baselines.append((name, folder))
    per_model = n if n is not None else (DEFAULT_SAMPLES if baselines else 0)
    if baselines and per_model == 0:
        raise ConfigError("--baseline needs sampled replies (--sample-outputs > 0)")
    return OutputSampling(per_model, tuple(baselines))
