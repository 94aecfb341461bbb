"""``loadprofile trend add|report|check``: the command line; the work is in add.py,
report_cmd.py and check.py."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from loadprofile.commands.trend.store_api import DEFAULT_DB

_DB_HELP = (
    f"the store: a SQLite file path (default {DEFAULT_DB}) or postgresql://USER@HOST/DB "
    "(password from $PGPASSWORD or ~/.pgpass, never the URL)"
)


def add_trend_parser(sub: Any) -> None:
    p = sub.add_parser(
        "trend",
        help="a results store across runs: add runs, trends and change points, a trend gate",
        description="Nightly memory: record finished runs in a store, find the change points "
        "of each series (E-divisive means) and gate on recent regressions.",
    )
    verbs = p.add_subparsers(dest="trend_command", required=True)

    add = verbs.add_parser("add", help="record a finished run folder in the store")
    add.add_argument("run_dir", type=Path)
    add.add_argument("--db", default=DEFAULT_DB, metavar="URL", help=_DB_HELP)
    add.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a label of the run (repeatable): build, git sha, deployment...",
    )
    add.add_argument(
        "--series", metavar="NAME", help="the series to add it to (default: from what it ran)"
    )

    report = verbs.add_parser("report", help="trend.json and trend.html with change points")
    report.add_argument("--db", default=DEFAULT_DB, metavar="URL", help=_DB_HELP)
    report.add_argument("--series", metavar="S", help="only this series (default: every one)")
    report.add_argument("--out", required=True, type=Path, metavar="DIR")
    report.add_argument(
        "--include-partial", action="store_true", help="count runs that were cut short too"
    )
    report.add_argument(
        "--min-change",
        type=float,
        default=5.0,
        metavar="PCT",
        help="a change point worse by more than this is marked a regression (default 5 %%)",
    )
    report.add_argument(
        "--metrics",
        metavar="M,M",
        help="the figures to search (names or patterns like 'phases.*.ttft_ms.p99'; 'all': "
        "every figure; default: latency percentiles, error and throughput rates, contract "
        "violations, JSON validity and costs)",
    )

    check = verbs.add_parser(
        "check", help="exit 1 when a recent run brought a regression (a change point)"
    )
    check.add_argument("--db", default=DEFAULT_DB, metavar="URL", help=_DB_HELP)
    check.add_argument("--series", metavar="S", help="only this series (default: every one)")
    check.add_argument(
        "--metrics",
        metavar="M,M",
        help="metrics to check (default: ttft_ms.p99,e2e_ms.p99,tpot_ms.p99,error_rate)",
    )
    check.add_argument(
        "--min-change",
        type=float,
        default=5.0,
        metavar="PCT",
        help="a regression is worse by more than this (default 5 %%)",
    )
    check.add_argument(
        "--recent",
        type=int,
        default=3,
        metavar="N",
        help="fail on a regression that arrived within the last N runs (default 3)",
    )
    check.add_argument("--junit", type=Path, metavar="FILE", help="JUnit XML of the checks")
    check.add_argument("--markdown", type=Path, metavar="FILE", help="Markdown of the checks")


def run_trend(args: argparse.Namespace) -> int:
    if args.trend_command == "add":
        from loadprofile.commands.trend.add import run_add

        return run_add(args)
    if args.trend_command == "report":
        from loadprofile.commands.trend.report_cmd import run_report

        return run_report(args)
    from loadprofile.commands.trend.check import run_check

    return run_check(args)
