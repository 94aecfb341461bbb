"""The ``compare`` command: two run folders (or two models of one) in, one folder out.

Reads only run folders, so it never imports Locust: a nightly job compares last night's
run with tonight's on any machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from loadprofile.errors import UsageError


def add_compare_parser(sub: Any) -> None:
    p = sub.add_parser(
        "compare",
        help="compare two runs (or two models of one run) with confidence intervals",
        description="Both sides' figures side by side, with per-metric deltas and a block-"
        "bootstrap confidence interval for each: writes compare.json and compare.html. "
        "Two runs: the models both have are paired by name (or the only model of each). "
        "One run: name the two models with --models BASELINE,CANDIDATE.",
    )
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="BASELINE_RUN [CANDIDATE_RUN]")
    p.add_argument("--out", required=True, type=Path, help="folder for compare.json/.html")
    p.add_argument("--models", help="BASELINE,CANDIDATE: the two models to compare")
    p.add_argument(
        "--significance",
        type=float,
        default=0.05,
        help="a change is significant when its (1 - level) interval excludes no change "
        "(default 0.05)",
    )
    p.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (default 2000)")


def run_compare(args: argparse.Namespace) -> int:
    from loadprofile.commands.compare.figures import parse_models
    from loadprofile.commands.compare.report import write_compare

    runs: list[Path] = args.runs
    if len(runs) > 2:
        raise UsageError(f"compare takes one or two run folders, got {len(runs)}")
    try:
        models = parse_models(args.models) if args.models is not None else None
        _, line = write_compare(
            runs[0],
            runs[1] if len(runs) == 2 else None,
            args.out,
            models=models,
            alpha=args.significance,
            resamples=args.resamples,
        )
    except ValueError as exc:  # SideError, and files that are not what loadprofile writes
        raise UsageError(str(exc)) from None
    except OSError as exc:  # --out is a file, or not writable
        raise UsageError(f"--out {args.out}: {exc.strerror or exc}") from None
    print(line)
    return 0
