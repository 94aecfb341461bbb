"""``loadprofile gate RUN_DIR --slo FILE`` and the gate at the end of ``loadprofile run``.

Everything the user can get wrong (the SLO file, the webhook URL and body, output paths) is
checked before a run starts, so a one-hour run never ends in a typo. Exit codes: 0 every
bound met, 1 a bound failed (docs/architecture.md), 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from loadprofile.commands.trend.store_api import DEFAULT_DB
from loadprofile.config.flags import add_flags
from loadprofile.config.slo import SloFile, default_canary_slo, load_slo
from loadprofile.errors import ConfigError, UsageError

GATE_FILE = "gate.json"


@dataclass(frozen=True)
class GateOptions:
    slo: SloFile
    significance: float | None = None  # overrides the SLO file's
    against: Path | None = None  # the run "before." names in limits
    junit: Path | None = None
    markdown: Path | None = None
    webhook: str | None = None
    webhook_body: Any = None  # None: the default body
    against_trend: str | None = None  # --against trend:NAME, found in the store at the end
    trend_db: str = DEFAULT_DB  # the store it is found in


def _run_folder(path: Path | None) -> Path | None:
    if path is not None and not path.is_dir():
        raise ConfigError(f"--against {path}: no such run folder")
    return path


def _against(args: argparse.Namespace) -> tuple[Path | None, str | None]:
    """(--against's folder, or the trend:NAME it gives instead), checked."""
    from loadprofile.commands.trend.last_good import check_ref, is_trend_ref

    if args.against is not None and is_trend_ref(args.against):
        return None, check_ref(args.against)
    return _run_folder(args.against), None


def add_gate_parser(sub: Any) -> None:
    p = sub.add_parser(
        "gate",
        help="hold a run folder against an SLO file: exit 0 or 1",
        description="Judge a run folder (made here or anywhere) against SLO "
        "bounds; prints a pass/fail table and exits 0 (all met) or 1.",
    )
    p.add_argument("run_dir", type=Path)
    add_flags(p, "gate")


def gate_options(args: argparse.Namespace, *, canary: bool = False) -> GateOptions | None:
    """The checked gate flags (None: no gate asked for); ConfigError on bad input."""
    from loadprofile.commands.gate.webhook import check_url, parse_body

    if args.slo is None and not canary:
        given = [
            flag
            for flag, value in (
                ("--junit", args.junit),
                ("--markdown", args.markdown),
                ("--against", args.against),
                ("--on-fail-webhook", args.on_fail_webhook),
                ("--webhook-body", args.webhook_body),
                ("--significance", args.significance),
            )
            if value is not None
        ]
        if given:
            raise ConfigError(f"{', '.join(given)}: only with --slo (or --canary)")
        return None
    if args.webhook_body is not None and args.on_fail_webhook is None:
        raise ConfigError("--webhook-body goes with --on-fail-webhook")
    if args.significance is not None and not 0 <= args.significance < 1:
        raise ConfigError(f"--significance {args.significance}: give a level in [0, 1)")
    for path in (args.junit, args.markdown):
        if path is not None and path.is_dir():
            raise ConfigError(f"{path}: is a directory; give a file name")
    against, against_trend = _against(args)
    return GateOptions(
        slo=load_slo(args.slo) if args.slo is not None else default_canary_slo(),
        significance=args.significance,
        against=against,
        junit=args.junit,
        markdown=args.markdown,
        webhook=check_url(args.on_fail_webhook) if args.on_fail_webhook else None,
        webhook_body=parse_body(args.webhook_body),
        against_trend=against_trend,
        trend_db=getattr(args, "trend_db", None) or DEFAULT_DB,
    )


def check_before_run(
    options: GateOptions, names: list[str], priced: list[str], canary: tuple[str, str] | None
) -> None:
    """Every bound names a model of the run and a figure its summary will have (checked
    against a summary of empty totals), before an hour of load is spent; ConfigError if not."""
    from loadprofile.commands.gate.verdicts import check_bounds
    from loadprofile.config.pricing import Price
    from loadprofile.contract.summary import TargetInfo
    from loadprofile.core.collector import ModelTotals
    from loadprofile.core.cost import cost_summary
    from loadprofile.core.summary import build_summary

    empty = build_summary(
        run_id="",
        started_at="",
        duration_s=1.0,
        target=TargetInfo(),
        load=None,
        models={name: ModelTotals() for name in names},
        partial=False,
        cost=cost_summary([], {n: Price(0, 0) for n in priced}, "conversation"),
    )
    check_bounds(
        options.slo, empty, canary, options.against, same_models=options.against_trend is not None
    )


def apply_gate(
    run_dir: Path,
    options: GateOptions,
    say: Any = print,
    canary: tuple[str, str] | None = None,
    *,
    rollback: bool = True,
) -> int:
    """Judge the run, write and print the verdicts, call the webhook when a bound failed
    (not when the run was only partial, nor with ``rollback`` False: an interrupted run
    is no verdict on the canary): 0 or 1."""
    from loadprofile.commands.gate import output as gate_output
    from loadprofile.commands.gate.verdicts import evaluate
    from loadprofile.commands.gate.webhook import WEBHOOK_FILE, default_body, post
    from loadprofile.config.redaction import redact_url
    from loadprofile.rundir.writer import write_json

    if options.against_trend is not None:  # the store's run, now that this run's series is known
        from loadprofile.commands.trend.last_good import resolve

        gated = [bound.left for bound in options.slo.bounds]
        found = resolve(run_dir, options.against_trend, options.trend_db, say, gated)
        options = replace(options, against=found, against_trend=None)
    result = evaluate(
        run_dir,
        options.slo,
        significance_level=options.significance,
        canary=canary,
        against=options.against,
    )
    record = result.to_json()
    write_json(run_dir / GATE_FILE, record)
    say(gate_output.table(result))
    if result.failed and rollback and options.webhook is not None:
        body = options.webhook_body if options.webhook_body is not None else default_body(record)
        answer = post(options.webhook, body)
        write_json(run_dir / WEBHOOK_FILE, answer)
        record["webhook"] = {k: answer[k] for k in ("url", "status", "ok", "error")}
        write_json(run_dir / GATE_FILE, record)
        say(
            f"webhook: POST {redact_url(options.webhook)} -> "
            + (f"HTTP {answer['status']}" if answer["status"] else str(answer["error"]))
            + f" (recorded in {run_dir / WEBHOOK_FILE})"
        )
    for path, text in (
        (options.junit, gate_output.junit),
        (options.markdown, gate_output.markdown),
    ):
        if path is not None:
            try:
                gate_output.write(path, text(result))
            except OSError as exc:
                raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return 0 if result.passed else 1


def run_gate(args: argparse.Namespace) -> int:
    try:
        if args.slo is None:
            raise ConfigError("gate needs --slo FILE (the bounds to hold the run against)")
        options = gate_options(args)
        assert options is not None
        code = apply_gate(args.run_dir, options)
    except ValueError as exc:  # ConfigError, and run files that are not what loadprofile writes
        raise UsageError(str(exc)) from None
    refresh_report(args.run_dir)
    return code


def refresh_report(run_dir: Path, say: Any = print) -> Path | None:
    """Rebuild the run's report.html (as ``loadprofile report`` does), so that it shows the
    verdicts just written to gate.json. A folder the report cannot be built from (no
    requests.csv, say) gets one line on stderr saying how to rebuild it, never a changed
    exit code: the verdict stands whatever becomes of the page."""
    from loadprofile.report import build_report

    try:
        path = build_report(run_dir)
    except Exception as exc:  # ReportError, OSError, and whatever else a page may trip on
        why = " ".join(str(exc).split()) or type(exc).__name__  # one line, whatever it said
        print(
            f"report: not rebuilt ({why}); rebuild it with: loadprofile report {run_dir}",
            file=sys.stderr,
        )
        return None
    say(f"report: {path} (with the verdicts)")
    return path
