"""The ``loadprofile`` command: parses flags and hands over; nothing else lives here.

Flags mean what Locust's flags of the same name mean (``--host``, ``-u``, ``-r``, ``-t``).
Every failure the user can cause ends in one line on stderr and exit code 2 (3 when the
target cannot be reached), never in a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from loadprofile import __version__
from loadprofile.commands.capacity.command import add_capacity_parser
from loadprofile.commands.compare.command import add_compare_parser, run_compare
from loadprofile.commands.gate.command import (
    add_gate_parser,
    apply_gate,
    check_before_run,
    gate_options,
    run_gate,
)
from loadprofile.commands.snapshot.command import (
    add_diff_parser,
    add_snapshot_parser,
    run_diff,
    run_snapshot,
)
from loadprofile.commands.trend.add import add_after_run, run_options
from loadprofile.commands.trend.command import add_trend_parser, run_trend
from loadprofile.config.cli_values import CliValues
from loadprofile.config.flags import add_flags, cli_values
from loadprofile.config.fleet_options import resolve_fleet
from loadprofile.config.run_config import ConfigError, resolve
from loadprofile.contract.summary import GeneratorHealth
from loadprofile.core.generator_health import bound_banner
from loadprofile.errors import LoadprofileError, UsageError
from loadprofile.launch.mock import DEFAULT_MOCK_MODELS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"loadprofile: error: {message} (see {self.prog} --help)\n")


def _add_run(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser(
        "run",
        help="run a headless load test and write a run folder + report",
        description="Replay recorded conversations against one or more models. "
        "Without --host, the embedded mock models are started and used.",
    )
    add_flags(p, "run")


def build_parser() -> _Parser:
    parser = _Parser(
        prog="loadprofile",
        description="Load tester and tail-latency profiler for LLM inference endpoints.",
    )
    parser.add_argument("--version", action="version", version=f"loadprofile {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_run(sub)
    rep = sub.add_parser("report", help="rebuild report.html from a run folder alone")
    rep.add_argument("run_dir", type=Path)
    add_snapshot_parser(sub)
    add_diff_parser(sub)
    add_gate_parser(sub)
    add_compare_parser(sub)
    add_trend_parser(sub)
    add_capacity_parser(sub)
    sub.add_parser(
        "mock", help="serve the embedded mock models (see loadprofile mock --help)", add_help=False
    )
    return parser


def _is_openai(host: str | None) -> bool:
    hostname = (urlsplit(host).hostname or "") if host else ""
    return hostname == "api.openai.com"


def _cli_values(args: argparse.Namespace) -> CliValues:
    api_key_env = args.api_key_env
    if api_key_env is None and _is_openai(args.host) and os.environ.get("OPENAI_API_KEY"):
        api_key_env = "OPENAI_API_KEY"  # only to OpenAI itself: never leak it to other hosts
    return cli_values(args, "run", api_key_env=api_key_env)


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    try:
        fleet = resolve_fleet(args)
        if fleet is not None and fleet.role == "worker":
            from loadprofile.console import Console
            from loadprofile.engine.fleet import (
                runner as fleet_runner,  # imports Locust (gevent patches from here on)
            )
            from loadprofile.engine.run_control import quiet_locust

            quiet_locust()
            return fleet_runner.run_worker(fleet, Console())
        config = resolve(_cli_values(args))
        gate = gate_options(args, canary=config.canary is not None)
        names = [t.name for t in config.targets] or (
            [] if config.host else list(DEFAULT_MOCK_MODELS)
        )
        if gate is not None and names:  # else the host names its model: checked at the end
            check_before_run(gate, names, [name for name, _ in config.prices], config.canary)
        trend = run_options(args.trend_db, args.trend_label)  # checked before any load
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    from loadprofile.console import Console, stop_timeout_note
    from loadprofile.engine import (
        runner,  # imports Locust: gevent patches this process from here on
    )

    console = Console()
    outcome = runner.run(config, console, ["loadprofile", *argv], fleet, pin=not args.no_pin)
    console.summary_table(outcome.summary)
    summary = outcome.summary
    requests = sum(m.requests for m in summary.models.values())
    stopped = stop_timeout_note(outcome.unfinished_at_stop, requests, config.load)
    if stopped is not None and outcome.interrupted_by is None:  # a signal cut the drain short
        console.warn(stopped)
    for name, model in summary.models.items():
        if not model.successes:
            console.warn(f"{name}: no successful request in this run")
    if summary.generator:
        _warn_about_generator(console, summary.generator)
    lost = summary.workers.partial if summary.workers else []
    if lost:
        console.warn(
            f"{len(lost)} worker(s) did not finish ({', '.join(lost)}); the run is "
            f"partial and {outcome.run_dir} holds what they sent"
        )
    elif outcome.partial:
        console.warn(f"the run was cut short; {outcome.run_dir} holds what was measured")
    # Interrupted runs exit like the signal that stopped them (130 SIGINT, 143 SIGTERM), so a
    # pipeline never mistakes a partial run for a complete one.
    code = {"SIGINT": 130, "SIGTERM": 143}.get(outcome.interrupted_by or "", 0)
    gate_code, gate_error = 0, None
    if gate is not None:  # before the report, which shows the verdicts (gate.json)
        try:
            gate_code = apply_gate(
                outcome.run_dir, gate, print, config.canary, rollback=outcome.interrupted_by is None
            )
        except ValueError as exc:  # a bound naming a model the host turned out not to have
            gate_error = f"gate: {exc}"
    if args.no_report:
        console.info(f"run folder: {outcome.run_dir}")
    else:
        from loadprofile.report import build_report

        console.info(f"report: {build_report(outcome.run_dir)}")
    if trend is not None:  # a partial run too (marked so); a store that fails only warns
        add_after_run(outcome.run_dir, trend, console.info, console.warn)
    if gate_error is not None:
        raise UsageError(gate_error)
    # An interrupted run exits as its signal says, whatever the gate found.
    code = code or gate_code
    return code


def _warn_about_generator(console: Any, generator: GeneratorHealth) -> None:
    """The end-of-run reminder when our own client, not the server, set the pace."""
    banner = bound_banner(generator)
    if banner is not None:
        console.warn(banner)
    if generator.arrivals_not_sent:
        console.warn(
            f"{generator.arrivals_not_sent} arrival(s) due before the end were never "
            "sent: every user was busy; raise -u"
        )


def _report(run_dir: Path) -> int:
    from loadprofile.report import ReportError, build_report

    try:
        path = build_report(run_dir)
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    print(f"report: {path}")
    return 0


def _negative_values_attached(argv: list[str]) -> list[str]:
    """``-t -5s`` as ``-t=-5s``: argparse takes a value that starts with ``-`` and a digit
    for a flag and fails with its own message; given the value, our checks say what is wrong
    with it in one line. No flag of ours starts with a digit."""
    out: list[str] = []
    for token in argv:
        if out and out[-1].startswith("-") and "=" not in out[-1] and _NEGATIVE.match(token):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


_NEGATIVE = re.compile(r"-\.?\d")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["mock"]:
        from loadprofile.mock.server import main as mock_main

        return mock_main(argv[1:])
    args = build_parser().parse_args(_negative_values_attached(argv))
    try:
        if args.command == "run":
            return _run(args, argv)
        if args.command == "snapshot":
            return run_snapshot(args)
        if args.command == "diff":
            return run_diff(args)
        if args.command == "gate":
            return run_gate(args)
        if args.command == "compare":
            return run_compare(args)
        if args.command == "trend":
            return run_trend(args)
        if args.command == "capacity":
            from loadprofile.commands.capacity.command import run_capacity

            return run_capacity(args)
        return _report(args.run_dir)
    except LoadprofileError as exc:
        print(f"loadprofile: error: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    except KeyboardInterrupt:
        print("loadprofile: interrupted", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
