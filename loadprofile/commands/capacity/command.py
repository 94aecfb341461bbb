"""``loadprofile capacity``: the highest load each model serves within an SLO, found by
probing real runs (core.capacity_search decides which, probe.py runs and judges each)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from loadprofile.commands.capacity.probe import ProbeOutcome, ProbePlan, run_probe
from loadprofile.config.run_config import ConfigError, parse_duration
from loadprofile.contract.capacity import Capacity, ModelCapacity, Probe, encode_capacity
from loadprofile.core.capacity_search import Mode, SearchResult, SearchSpace, search
from loadprofile.errors import UsageError
from loadprofile.report.capacity_page import write_capacity_page
from loadprofile.rundir.writer import model_slug

#: Without --host: the embedded mock's model whose capacity is known (docs/capacity.md).
DEFAULT_MOCK_MODEL = "mock-slots"
_SLO_FLAGS: tuple[tuple[str, str], ...] = (
    ("slo_ttft_p99_ms", "ttft_ms.p99"),
    ("slo_tpot_p99_ms", "tpot_ms.p99"),
    ("slo_e2e_p99_ms", "e2e_ms.p99"),
)


def add_capacity_parser(sub: Any) -> None:
    p = sub.add_parser(
        "capacity",
        help="the highest load each model serves within an SLO (probes real runs)",
        description="Probe growing loads until the SLO breaks, then narrow down; each probe "
        "is a `loadprofile run --until-stable` folder under --out. Without --host, the "
        f"embedded mock's {DEFAULT_MOCK_MODEL} (8 slots) is probed. Run flags not listed "
        "here go after `--`.",
    )
    p.add_argument("--host", help="the base URL (default: the embedded mock)")
    p.add_argument("--model", action="append", default=[], metavar="NAME", help="repeatable")
    for flag, metric in _SLO_FLAGS:
        p.add_argument(
            "--" + flag.replace("_", "-"), type=float, metavar="MS", help=f"SLO: {metric} <= MS"
        )
    p.add_argument("--max-error-rate", type=float, metavar="R", help="SLO: error rate <= R")
    p.add_argument("--mode", choices=("concurrency", "rate"), default="concurrency")
    p.add_argument("--max-users", type=int, default=256, metavar="N", help="(default 256)")
    p.add_argument("--max-rate", type=float, default=1000.0, metavar="R", help="req/s bound")
    p.add_argument("--start-rate", type=float, default=1.0, metavar="R", help="(default 1)")
    p.add_argument("--precision", type=float, default=5.0, metavar="PCT", help="rate mode")
    p.add_argument("--budget", default="1h", metavar="T", help="the whole search (default 1h)")
    p.add_argument("--probe-time", default="2m", metavar="T", help="one probe at most (-t)")
    p.add_argument("--warmup", default="10s", metavar="T", help="each probe's warm-up")
    p.add_argument("--min-time", default="30s", metavar="T", help="each probe's least time")
    p.add_argument("--stable-metrics", metavar="M,M", help="default: the SLO's percentiles")
    p.add_argument("--stable-ci", metavar="PCT", help="passed to each probe")
    p.add_argument("--dataset", metavar="FILE")
    p.add_argument("--think-time", metavar="S")
    p.add_argument("--max-tokens", metavar="N")
    p.add_argument("--seed", metavar="N")
    p.add_argument("--expect-at-least", type=float, metavar="N", help="exit 1 below this")
    p.add_argument("--out", required=True, type=Path, metavar="DIR")
    p.add_argument("run_args", nargs="*", metavar="-- RUN FLAGS", help=argparse.SUPPRESS)


def run_capacity(args: argparse.Namespace) -> int:
    slo = _slo(args)
    mode: Mode = args.mode
    space = _space(args, mode)
    budget_s, cap_s, warmup_s, min_s = (
        _duration(args.budget, "--budget"),
        _duration(args.probe_time, "--probe-time"),
        _duration(args.warmup, "--warmup"),
        _duration(args.min_time, "--min-time"),
    )
    if args.dataset and not Path(args.dataset).is_file():
        raise UsageError(f"--dataset {args.dataset}: no such file")
    models = args.model or ([DEFAULT_MOCK_MODEL] if args.host is None else [])
    if not models:
        raise UsageError("--host needs at least one --model")
    run_args = _run_args(args, slo, warmup_s, min_s)
    host, mock = args.host, None
    if host is None:
        from loadprofile.launch.mock import start_mock

        mock = start_mock()
        host = mock.url
    began = time.monotonic()
    answers: dict[str, ModelCapacity] = {}
    try:
        for index, model in enumerate(models):
            left_s = budget_s - (time.monotonic() - began)
            plan = ProbePlan(
                host, model, mode, args.out / model_slug(model), run_args, warmup_s, slo,
                args.max_error_rate,
            )  # fmt: skip
            answers[model] = _search_model(
                plan, space, left_s / (len(models) - index), cap_s, warmup_s + min_s
            )
            print(f"loadprofile: capacity: {_sentence(model, answers[model], mode)}", flush=True)
    finally:
        if mock is not None:
            mock.stop()
    capacity = Capacity(slo=_slo_record(slo, args.max_error_rate), mode=mode, models=answers)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "capacity.json").write_bytes(encode_capacity(capacity))
    print(f"loadprofile: capacity.json: {args.out / 'capacity.json'}", flush=True)
    print(f"loadprofile: capacity report: {write_capacity_page(capacity, args.out)}", flush=True)
    return _exit_code(answers, args.expect_at_least)


def _search_model(
    plan: ProbePlan, space: SearchSpace, budget_s: float, cap_s: float, min_probe_s: float
) -> ModelCapacity:
    began = time.monotonic()
    outcomes: dict[float, ProbeOutcome] = {}

    def probe(load: float) -> bool:
        left_s = budget_s - (time.monotonic() - began)
        outcome = run_probe(plan, load, max(min_probe_s, min(cap_s, left_s)))
        outcomes[load] = outcome
        print(
            f"loadprofile: capacity: {plan.model} at {_load_text(space.mode, load)}: "
            f"{outcome.verdict} ({outcome.record.stopped_because}, {outcome.record.seconds:g}s)",
            flush=True,
        )
        return outcome.passed

    result = search(space, probe, clock=time.monotonic, budget_s=budget_s, min_probe_s=min_probe_s)
    return _model_capacity(
        space, result, [outcomes[load].record for load in result.probed], outcomes
    )


def _model_capacity(
    space: SearchSpace,
    result: SearchResult,
    probes: list[Probe],
    outcomes: dict[float, ProbeOutcome],
) -> ModelCapacity:
    low, high = result.interval(space.mode)
    if result.ending == "budget":
        limited_by = "budget"
    elif result.ending == "bound":
        limited_by = "max_users" if space.mode == "concurrency" else "max_rate"
    else:
        failed = outcomes.get(result.failed) if result.failed is not None else None
        limited_by = (failed.limited_by if failed else None) or "slo"
    if space.mode == "concurrency":
        return ModelCapacity(
            max_users=int(result.passed),
            interval=[int(low), int(high)],
            limited_by=limited_by,
            probes=probes,
        )
    return ModelCapacity(
        max_rate=result.passed, interval=[low, high], limited_by=limited_by, probes=probes
    )


def _slo(args: argparse.Namespace) -> dict[str, float]:
    slo = {metric: getattr(args, flag) for flag, metric in _SLO_FLAGS}
    slo = {metric: bound for metric, bound in slo.items() if bound is not None}
    for metric, bound in slo.items():
        if bound <= 0:
            raise UsageError(f"the SLO bound of {metric} must be positive: {bound:g}")
    if args.max_error_rate is not None and not 0 <= args.max_error_rate < 1:
        raise UsageError(f"--max-error-rate must be within [0, 1): {args.max_error_rate:g}")
    if not slo:
        raise UsageError("give an SLO: --slo-ttft-p99-ms, --slo-tpot-p99-ms or --slo-e2e-p99-ms")
    return slo


def _slo_record(slo: dict[str, float], max_error_rate: float | None) -> dict[str, float]:
    return slo if max_error_rate is None else {**slo, "error_rate": max_error_rate}


def _space(args: argparse.Namespace, mode: Mode) -> SearchSpace:
    if mode == "concurrency":
        if args.max_users < 1:
            raise UsageError(f"--max-users must be at least 1: {args.max_users}")
        return SearchSpace(mode, float(args.max_users))
    if args.max_rate <= 0 or args.start_rate <= 0 or not 0 < args.precision < 100:
        raise UsageError("--max-rate and --start-rate must be positive, --precision in (0, 100)")
    return SearchSpace(mode, args.max_rate, args.start_rate, args.precision / 100)


def _duration(text: str, flag: str) -> float:
    try:
        value = parse_duration(text, flag)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if value <= 0 and flag in ("--budget", "--probe-time"):
        raise UsageError(f"{flag} must be positive: {text}")
    return value


def _run_args(
    args: argparse.Namespace, slo: dict[str, float], warmup_s: float, min_s: float
) -> list[str]:
    """The flags every probe's run gets (its load, -t and --out are the probe's own)."""
    out = ["--warmup", f"{warmup_s:g}s", "--min-time", f"{min_s:g}s"]
    out += ["--stable-metrics", args.stable_metrics or ",".join(slo)]
    for flag in ("stable_ci", "dataset", "think_time", "max_tokens", "seed"):
        value = getattr(args, flag)
        if value is not None:
            out += ["--" + flag.replace("_", "-"), str(value)]
    return out + list(args.run_args)


def _load_text(mode: Mode, load: float) -> str:
    return f"{int(load)} users" if mode == "concurrency" else f"{load:g} req/s"


def _sentence(model: str, answer: ModelCapacity, mode: Mode) -> str:
    low, high = answer.interval  # the answer is the interval's low end
    what = "concurrent users" if mode == "concurrency" else "requests/s"
    return (
        f"{model} serves {low:g} {what} within the SLO (between {low:g} and {high:g}; "
        f"limited by {answer.limited_by})"
    )


def _exit_code(answers: dict[str, ModelCapacity], expect_at_least: float | None) -> int:
    if expect_at_least is None:
        return 0
    short = [m for m, a in answers.items() if (a.interval[0]) < expect_at_least]
    return 1 if short else 0
