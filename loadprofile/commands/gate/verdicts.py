"""The gate: an SLO file held against a run folder, one verdict per bound and model.

Reads only the run folder (summary.json, or the summary rebuilt from the files of a run that
died, and for relative bounds the interval logs and request rows). A relative bound compares
two models under the same load (a canary with its baseline, a candidate with the current
model); with a significance level it fails only when the violation is significant under a
block bootstrap over the run's intervals (``significance.py``), so a nightly gate does not
flap on noise. Absolute bounds are judged on the figure itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from loadprofile.commands import significance
from loadprofile.commands.cache_warmth import CacheSide, CacheWarmth, cache_warmth
from loadprofile.config.slo import ALL, CANARY, Bound, SloError, SloFile
from loadprofile.contract.run_meta import RunMeta
from loadprofile.contract.summary import Summary
from loadprofile.report.money import fmt_usd, is_cost_bound
from loadprofile.rundir import view as run_view
from loadprofile.rundir.view import figure

#: Bootstrap draws per relative bound (seeded: the same run gives the same verdict).
RESAMPLES = 2000
#: The prefix naming the --against run's figures in a limit ("before.ttft_ms.p99").
BEFORE = "before"


@dataclass(frozen=True)
class Verdict:
    bound: str  # the bound as written
    model: str  # the model it judged
    passed: bool
    actual: float | None
    limit: float | None
    detail: str  # why, in a few words (no data, CI of the violation, ...)
    relative: bool = False
    significant: bool | None = None  # relative bounds judged with a significance level


@dataclass(frozen=True)
class GateResult:
    run_dir: str
    run_id: str
    slo_source: str
    verdicts: tuple[Verdict, ...]
    partial: bool
    allow_partial: bool
    significance: float
    canary: dict[str, str] | None = None
    against: str | None = None  # --against: the run that "before." refers to
    #: how warm each side's prefix cache was, per pair judged against each other
    cache: tuple[CacheWarmth, ...] = ()

    @property
    def cache_lines(self) -> list[str]:
        return [line for c in self.cache if (line := c.line()) is not None]

    @property
    def passed(self) -> bool:
        complete_enough = self.allow_partial or not self.partial
        return complete_enough and all(v.passed for v in self.verdicts)

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.passed]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["passed"] = self.passed
        out["verdicts"] = [asdict(v) for v in self.verdicts]
        out["cache"] = [
            {"baseline": c.baseline, "candidate": c.candidate, **c.to_json(), "note": c.line()}
            for c in self.cache
        ]
        return out


class _Run:
    """One run folder as the gate sees it: figures by model, aliases, bootstrap sides."""

    def __init__(
        self,
        run_dir: Path,
        canary: tuple[str, str] | None,
        read: tuple[Summary, RunMeta, bool] | None = None,
    ) -> None:
        """``read``: (summary, run.json, rebuilt) already at hand (default: the folder's)."""
        self.run_dir = run_dir
        try:
            self.summary, self.run, self.rebuilt = read or run_view.read_summary(run_dir)
        except run_view.SideError as exc:
            raise SloError(str(exc)) from None
        self.models = sorted(self.summary.models)
        recorded = self.run.canary
        if canary is None and recorded is not None and recorded.candidate and recorded.baseline:
            canary = (recorded.candidate, recorded.baseline)
        self.canary = canary
        self.aliases: dict[str, str] = {}
        if canary is not None:
            for role, name in zip(("canary", "baseline"), canary, strict=True):
                if name not in self.models:
                    raise SloError(
                        f"--{role if role == 'canary' else 'baseline'} {name}: no such "
                        f"model in {run_dir} (models: {', '.join(self.models)})"
                    )
                self.aliases[role] = name
        self._sides: dict[str, significance.Side] = {}  # loaded when a bound needs draws
        self.before: _Run | None = None  # --against: last night's run, say

    def resolve(self, ref: str, default: str) -> tuple[_Run, str, str]:
        """(run, model, path) a reference names: this run's, or with "before." the
        --against run's (the same model unless another is named)."""
        if not ref.startswith(BEFORE + "."):
            return self, *self.split(ref, default)
        if self.before is None:
            raise SloError(f"{ref!r}: 'before.' names the run given with --against RUN_DIR")
        model, path = self.before.split(ref[len(BEFORE) + 1 :], default)
        if model not in self.before.models:
            raise SloError(
                f"{ref!r}: no model {model} in the --against run "
                f"{self.before.run_dir} (models: {', '.join(self.before.models)})"
            )
        return self.before, model, path

    def split(self, ref: str, default: str) -> tuple[str, str]:
        """'current.ttft_ms.p99' -> ('current', 'ttft_ms.p99'); unqualified: the default."""
        for name in sorted([*self.models, *self.aliases], key=len, reverse=True):
            if ref.startswith(name + "."):
                return self.aliases.get(name, name), ref[len(name) + 1 :]
        return default, ref

    def value(self, model: str, path: str) -> float | None:
        """None (no data) also for every figure of a model that got no request: its error
        rate of 0 says nothing."""
        view = run_view.model_view(self.summary, model)
        found = figure(view, path, model)
        return found if view.requests else None

    def draws(self, model: str, path: str) -> np.ndarray | None:
        if model not in self._sides:
            try:
                self._sides[model] = significance.side_of(
                    self.run_dir, model, self.summary, self.run, self.rebuilt
                )
            except significance.SideError as exc:
                raise SloError(str(exc)) from None
        return significance.bootstrap(self._sides[model], path, resamples=RESAMPLES, seed=0)

    def subjects(self, bound: Bound) -> list[str]:
        if bound.scope == ALL:
            return self.models
        if bound.scope == CANARY:
            if self.canary is None:
                raise SloError("[canary] bounds need a canary run (--canary NAME --baseline NAME)")
            return [self.canary[0]]
        if bound.scope not in self.models:
            raise SloError(
                f"[model.{bound.scope}]: no such model in {self.run_dir} "
                f"(models: {', '.join(self.models)})"
            )
        return [bound.scope]


def evaluate(
    run_dir: Path,
    slo: SloFile,
    *,
    significance_level: float | None = None,
    canary: tuple[str, str] | None = None,
    against: Path | None = None,
) -> GateResult:
    """Every bound of ``slo`` against the run (and ``against``, the run "before." names);
    SloError for a bound naming nothing real."""
    run = _Run(run_dir, canary)
    if against is not None:
        run.before = _Run(against, None)
    alpha = slo.significance if significance_level is None else significance_level
    verdicts = [_judge(run, bound, model, path, alpha) for bound, model, path in _checks(run, slo)]
    if not verdicts:  # e.g. [all] bounds on a run that measured no model: nothing was shown
        verdicts.append(
            Verdict(
                "the run has a model to judge",
                "-",
                False,
                None,
                None,
                "no data: the run measured no model",
            )
        )
    return GateResult(
        run_dir=str(run_dir),
        run_id=run.summary.run_id or run_dir.name,
        slo_source=slo.source,
        verdicts=tuple(verdicts),
        partial=run.summary.partial,
        allow_partial=slo.allow_partial,
        significance=alpha,
        canary=dict(zip(("candidate", "baseline"), run.canary, strict=True))
        if run.canary
        else None,
        against=str(against) if against is not None else None,
        cache=_cache_warmth(run),
    )


def _cache_warmth(run: _Run) -> tuple[CacheWarmth, ...]:
    """The canary against its baseline, and each model against itself in --against's run."""
    pairs: list[CacheWarmth] = []
    if run.canary is not None:
        candidate, baseline = run.canary
        models = run.summary.models
        pairs.append(
            cache_warmth(
                CacheSide(baseline, baseline, models.get(baseline), run.run),
                CacheSide(candidate, candidate, models.get(candidate), run.run),
            )
        )
    if run.before is not None:
        for model in run.models:
            if model in run.before.summary.models:
                before = run.before.summary.models[model]
                pairs.append(
                    cache_warmth(
                        CacheSide(f"before.{model}", model, before, run.before.run),
                        CacheSide(model, model, run.summary.models[model], run.run),
                    )
                )
    return tuple(pairs)


def _checks(run: _Run, slo: SloFile) -> list[tuple[Bound, str, str]]:
    """(bound, model, metric path) for every bound and model it judges, once each."""
    out: list[tuple[Bound, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for bound in slo.bounds:
        for scope_model in run.subjects(bound):
            model, path = run.split(bound.left, scope_model)
            if (bound.text, model) not in seen:
                seen.add((bound.text, model))
                out.append((bound, model, path))
    return out


def check_bounds(
    slo: SloFile,
    summary: Summary,
    canary: tuple[str, str] | None,
    against: Path | None = None,
    *,
    same_models: bool = False,
) -> None:
    """Before a run: every bound names a model and a figure a summary of this run will have
    (``summary``: one built from empty totals, so every key is there); SloError if not.
    Figures that only some runs have (drift against a snapshot) are not checked.
    ``same_models``: "before." names a run found later (trend:LAST_GOOD, of this series)."""
    run = _Run(Path("<this run>"), canary, (summary, RunMeta(), False))
    if against is not None:
        run.before = _Run(against, None)
    elif same_models:
        run.before = run
    for bound, model, path in _checks(run, slo):
        refs = [(run, model, path)] + ([run.resolve(bound.right, model)] if bound.right else [])
        for where, ref_model, ref_path in refs:
            if not ref_path.startswith("correctness.drift"):
                figure(run_view.model_view(where.summary, ref_model), ref_path, ref_model)


def _judge(run: _Run, bound: Bound, model: str, path: str, alpha: float) -> Verdict:
    if bound.left.startswith(BEFORE + "."):
        raise SloError(f"{bound.text!r}: 'before.' goes in the limit, not on the left")
    actual = run.value(model, path)
    ref_run, ref_model, ref_path = run, None, None
    reference: float | None = 0.0
    if bound.right is not None:
        ref_run, ref_model, ref_path = run.resolve(bound.right, model)
        reference = ref_run.value(ref_model, ref_path)
    if actual is None or reference is None:
        where = "" if ref_run is run else f"{BEFORE}."
        missing = f"{model}.{path}" if actual is None else f"{where}{ref_model}.{ref_path}"
        return Verdict(
            bound.text,
            model,
            False,
            actual,
            None,
            f"no data: {missing} has no value in this run",
            bound.relative,
        )
    limit = bound.factor * reference + bound.offset
    if bound.holds(actual, limit):
        return Verdict(bound.text, model, True, actual, limit, "met", bound.relative)
    if not bound.relative or alpha <= 0 or bound.op == "==":
        return Verdict(bound.text, model, False, actual, limit, "violated", bound.relative)
    assert ref_model is not None and ref_path is not None
    mine, theirs = run.draws(model, path), ref_run.draws(ref_model, ref_path)
    if mine is None or theirs is None:
        return Verdict(
            bound.text,
            model,
            False,
            actual,
            limit,
            "violated (no confidence interval for this figure: judged on its value)",
            True,
            None,
        )
    excess = mine - (bound.factor * theirs + bound.offset)
    # One-sided test at level alpha: is the violation there in all but alpha of the draws?
    # (A strict bound is violated at an excess of exactly 0 too.)
    if bound.lower_is_better:
        edge = float(np.quantile(excess, alpha))
        significant = edge >= 0 if bound.op == "<" else edge > 0
    else:
        edge = float(np.quantile(excess, 1 - alpha))
        significant = edge <= 0 if bound.op == ">" else edge < 0
    side = "lower" if bound.lower_is_better else "upper"
    shown = _signed_figure(edge, bound.text)
    detail = (
        f"violated, significant at {alpha:g} (excess {side} bound {shown})"
        if significant
        else f"violated by the point values but not significant at {alpha:g} "
        f"(excess {side} bound {shown}): noise"
    )
    return Verdict(bound.text, model, not significant, actual, limit, detail, True, significant)


def _signed_figure(value: float, bound: str) -> str:
    """+0.0123 or, for a cost bound, +$0.000054: never in scientific notation."""
    if not is_cost_bound(bound):
        return f"{value:+.4g}"
    return ("-" if value < 0 else "+") + fmt_usd(abs(value))
