"""The SLO file: bounds on a run's figures, parsed and checked (pure; no run folder here).

    significance = 0.05            # relative bounds fail only on a significant violation
    allow_partial = false          # a partial run fails the gate unless this is true

    [all]                          # every model of the run
    bounds = ["ttft_ms.p99 <= 800", "error_rate <= 0.01"]

    [model.candidate]              # one model, by its label
    bounds = ["ttft_ms.p99 <= 1.2 * current.ttft_ms.p99",
              "cost.per_transaction.mean <= current.cost.per_transaction.mean + 0.001"]

    [canary]                       # with --canary/--baseline: the canary, judged against
    bounds = ["e2e_ms.p99 <= 1.2 * baseline.e2e_ms.p99"]     # 'baseline'

A bound is ``METRIC OP LIMIT``: METRIC a dotted path into the model's figures in
summary.json (``ttft_ms.p99``, ``error_rate``, ``goodput_per_s``, ``correctness.<key>``,
``cost.<key>``), optionally prefixed by a model (``current.ttft_ms.p99``); OP one of
<= < >= > ==; LIMIT a number, or ``[K *] MODEL.METRIC [+|- C]``: a *relative* bound.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadprofile.config.toml_file import load_toml
from loadprofile.errors import ConfigError

OPERATORS = ("<=", ">=", "==", "<", ">")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
#: [MODEL.]METRIC: a model label may hold - : / and dots. In a limit the shortest reading
#: wins, so "baseline.error_rate-0.01" is a subtraction, not a model named "error_rate-0".
_REF = r"[A-Za-z0-9_](?:[A-Za-z0-9_.:/\-]*[A-Za-z0-9_])?"
_REF_SHORTEST = r"[A-Za-z0-9_](?:[A-Za-z0-9_.:/\-]*?[A-Za-z0-9_])??"
_BOUND = re.compile(rf"^\s*(?P<left>{_REF})\s*(?P<op><=|>=|==|<|>)\s*(?P<right>.+?)\s*$")
_RELATIVE = re.compile(
    rf"^(?:(?P<k1>{_NUMBER})\s*\*\s*)?(?P<ref>{_REF_SHORTEST})(?:\s*\*\s*(?P<k2>{_NUMBER}))?"
    rf"(?:\s*(?P<sign>[-+])\s*(?P<c>{_NUMBER}))?$"
)
#: Scopes: every model, one model, the canary of a canary run.
ALL, CANARY = "*", "canary"
#: Bounds used for a canary run given no SLO file (documented in docs/gates.md, 'Canary').
DEFAULT_CANARY_BOUNDS = (
    "error_rate <= baseline.error_rate + 0.01",
    "ttft_ms.p99 <= 1.2 * baseline.ttft_ms.p99",
    "e2e_ms.p99 <= 1.2 * baseline.e2e_ms.p99",
    "correctness.contract_violation_rate <= baseline.correctness.contract_violation_rate + 0.005",
)


class SloError(ConfigError):
    """A bad SLO file or bound (exit code 2)."""


@dataclass(frozen=True)
class Bound:
    """``left OP factor * right + offset`` (``right`` None: ``left OP offset``)."""

    text: str
    scope: str  # ALL, CANARY or a model label
    left: str
    op: str
    offset: float = 0.0
    factor: float = 1.0
    right: str | None = None

    @property
    def relative(self) -> bool:
        return self.right is not None

    def holds(self, actual: float, limit: float) -> bool:
        return {
            "<=": actual <= limit,
            "<": actual < limit,
            ">=": actual >= limit,
            ">": actual > limit,
            "==": math.isclose(actual, limit, rel_tol=1e-9, abs_tol=1e-12),
        }[self.op]

    @property
    def lower_is_better(self) -> bool:
        return self.op in ("<=", "<")


@dataclass(frozen=True)
class SloFile:
    bounds: tuple[Bound, ...]
    significance: float = 0.05
    allow_partial: bool = False
    source: str = "<builtin>"
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def parse_bound(text: str, scope: str, where: str) -> Bound:
    if not isinstance(text, str):
        raise SloError(f'{where}: a bound must be a string like "ttft_ms.p99 <= 800"')
    match = _BOUND.match(text)
    if not match:
        raise SloError(
            f"{where}: cannot read bound {text!r} (use METRIC OP LIMIT, e.g. "
            '"ttft_ms.p99 <= 800" or "ttft_ms.p99 <= 1.2 * current.ttft_ms.p99")'
        )
    left, op, right = match["left"], match["op"], match["right"].strip()
    if re.fullmatch(_NUMBER, right):
        return Bound(text.strip(), scope, left, op, offset=float(right))
    rel = _RELATIVE.match(right)
    if not rel or (rel["k1"] and rel["k2"]):
        raise SloError(
            f"{where}: cannot read the limit {right!r} of {text!r} (use a number, "
            "or K * MODEL.METRIC [+ C])"
        )
    factor = float(rel["k1"] or rel["k2"] or 1.0)
    offset = float(rel["c"] or 0.0) * (-1.0 if rel["sign"] == "-" else 1.0)
    if not all(map(math.isfinite, (factor, offset))):
        raise SloError(f"{where}: {text!r}: numbers must be finite")
    return Bound(text.strip(), scope, left, op, offset, factor, rel["ref"])


def parse_slo(data: dict[str, Any], source: str) -> SloFile:
    known = {"significance", "allow_partial", "all", "model", "canary"}
    unknown = set(data) - known
    if unknown:
        raise SloError(
            f"{source}: unknown key(s) {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(known))})"
        )
    significance = data.get("significance", 0.05)
    if (
        isinstance(significance, bool)
        or not isinstance(significance, int | float)
        or not 0 <= significance < 1
    ):
        raise SloError(f"{source}: significance must be a number in [0, 1), got {significance!r}")
    allow_partial = data.get("allow_partial", False)
    if not isinstance(allow_partial, bool):
        raise SloError(f"{source}: allow_partial must be true or false")
    bounds: list[Bound] = []
    scoped: list[tuple[str, Any, str]] = []
    if "all" in data:
        scoped.append((ALL, data["all"], "[all]"))
    if "canary" in data:
        scoped.append((CANARY, data["canary"], "[canary]"))
    models = data.get("model", {})
    if not isinstance(models, dict):
        raise SloError(f"{source}: [model.NAME] tables expected")
    scoped += [(str(name), table, f"[model.{name}]") for name, table in models.items()]
    for scope, table, label in scoped:
        if not isinstance(table, dict) or set(table) - {"bounds"}:
            raise SloError(f'{source}: {label} takes one key, bounds = ["...", ...]')
        items = table.get("bounds", [])
        if not isinstance(items, list):
            raise SloError(f"{source}: {label}: bounds must be a list of strings")
        bounds += [parse_bound(t, scope, f"{source}: {label}") for t in items]
    if not bounds:
        raise SloError(f'{source}: no bounds (add e.g. [all] bounds = ["ttft_ms.p99 <= 800"])')
    return SloFile(tuple(bounds), float(significance), allow_partial, source, data)


def load_slo(path: Path) -> SloFile:
    try:
        data = load_toml(path, "SLO file")
    except ConfigError as exc:
        raise SloError(str(exc)) from None
    return parse_slo(data, str(path))


def default_canary_slo() -> SloFile:
    bounds = tuple(parse_bound(t, CANARY, "default canary bounds") for t in DEFAULT_CANARY_BOUNDS)
    return SloFile(bounds, source="<default canary bounds>")
