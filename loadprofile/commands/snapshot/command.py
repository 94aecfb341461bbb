"""The ``snapshot`` and ``diff`` commands: flags in, one folder out (no Locust here)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from loadprofile.client.http.reach import use_reach
from loadprofile.config.flags import add_flags
from loadprofile.config.headers import cli_headers
from loadprofile.config.reach import ReachOptions, proxy_options, tls_options
from loadprofile.config.run_config import ConfigError, Target, normalize_host, parse_duration
from loadprofile.config.targets import (
    API_FLAVOURS,
    AZURE_API_VERSION,
    DEFAULT_API,
    check_api_version,
    fill_target,
)
from loadprofile.dataset.conversations import DatasetError, default_dataset_path, load_conversations
from loadprofile.dataset.turns import Conversation, every_turn
from loadprofile.errors import UsageError

DEFAULT_MOCK_MODEL = "mock-small"


def add_snapshot_parser(sub: Any) -> None:
    p = sub.add_parser(
        "snapshot",
        help="record one model's answers to a dataset's prompts",
        description="Send every prompt of the dataset once (temperature 0, a "
        "fixed seed) and keep the answers in a folder, for `loadprofile diff`. "
        "Resumes an interrupted snapshot in the same --out folder.",
    )
    p.add_argument(
        "--host", help="base URL of an OpenAI-compatible server (default: the embedded mock)"
    )
    p.add_argument("--model", help=f"model (default with the mock: {DEFAULT_MOCK_MODEL})")
    p.add_argument("--dataset", help="conversations (default: the packaged sample)")
    p.add_argument("-n", type=int, help="only the first N prompts (turns)")
    p.add_argument(
        "--repeat-to-n",
        action="store_true",
        help="a dataset with fewer prompts than -n: ask them again, each further pass "
        "opened with a nonce (a prompt of its own to the model and its cache), until N",
    )
    p.add_argument("--concurrency", type=int, default=8, help="requests at once (default 8)")
    p.add_argument("--max-tokens", type=int, default=256, help="max_tokens (default 256)")
    p.add_argument("--seed", type=int, default=0, help="the request's seed (default 0)")
    p.add_argument("--timeout", default="300s", help="per request (default 300s)")
    p.add_argument("--api-key-env", help="environment variable holding the API key")
    p.add_argument(
        "--api",
        choices=API_FLAVOURS,
        default=DEFAULT_API,
        help="wire format: OpenAI chat (default), OpenAI legacy completions, Anthropic "
        "Messages, or Azure OpenAI (--model names the deployment)",
    )
    p.add_argument(
        "--api-version",
        help=f"--api azure: the api-version query parameter (default {AZURE_API_VERSION})",
    )
    p.add_argument(
        "--header",
        action="append",
        metavar="NAME:VALUE",
        help="send this header with every request, e.g. 'X-Team: perf' (repeatable)",
    )
    p.add_argument(
        "--header-env",
        action="append",
        metavar="NAME=VAR",
        help="send header NAME with the value of environment variable VAR (repeatable)",
    )
    p.add_argument("--out", required=True, type=Path, help="snapshot folder")
    add_flags(p, "snapshot")  # --ca-cert, --client-cert, --proxy, ...: as for a run


def add_diff_parser(sub: Any) -> None:
    p = sub.add_parser(
        "diff",
        help="compare two snapshots prompt by prompt",
        description="Exact matches, edit distance, length and token ratios, "
        "empty/refusal/JSON-valid rates; writes diff.json and diff.html.",
    )
    p.add_argument("canonical", type=Path, help="the snapshot of the current model")
    p.add_argument("candidate", type=Path, help="the snapshot of the candidate")
    p.add_argument("--out", required=True, type=Path, help="folder for diff.json and diff.html")
    p.add_argument("--content-schema", help="JSON Schema the replies should meet (JSON-valid rate)")
    p.add_argument("--content-extract", help="auto (default), fenced or raw")
    p.add_argument("--worst", type=int, default=20, help="prompts shown side by side (default 20)")


def _target(args: argparse.Namespace) -> tuple[Target, bool]:
    """The target, and whether the embedded mock must be started for it."""
    version = check_api_version(args.api_version, "--api-version") if args.api_version else None
    host = normalize_host(args.host, "--host") if args.host is not None else None
    model = args.model or (DEFAULT_MOCK_MODEL if host is None else "?")
    target = fill_target(
        Target(model, model, api=args.api),
        host=host,
        api_key_env=args.api_key_env if host is not None else None,
        api_version=version,
        headers=cli_headers(args.header, args.header_env),
    )
    if host is None:
        return target, True
    if not args.model:
        from loadprofile.client.preflight import list_models

        models = list_models(target)
        if len(models) != 1:
            raise UsageError(f"{host} serves {len(models)} models; name one with --model")
        return replace(target, name=models[0], model=models[0]), False
    return target, False


def run_snapshot(args: argparse.Namespace) -> int:
    from loadprofile.commands.snapshot.take import ProgressBar, SnapshotPlan, take_snapshot

    try:
        if args.n is not None and args.n < 1:
            raise ConfigError(f"-n {args.n}: give a number of prompts >= 1")
        if not 1 <= args.concurrency <= 256:
            raise ConfigError(f"--concurrency {args.concurrency}: give 1 to 256")
        timeout_s = parse_duration(args.timeout, "--timeout")
        reach = ReachOptions(
            tls_options(args.ca_cert, args.client_cert, args.client_key, bool(args.insecure)),
            proxy_options(args.proxy, bool(args.no_proxy)),
        )
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    use_reach(reach)  # before any request (the model list is one); UsageError on bad files
    if reach.tls.insecure:
        print("warning: --insecure: certificates are not verified", file=sys.stderr, flush=True)
    try:
        target, needs_mock = _target(args)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    dataset = Path(args.dataset) if args.dataset else default_dataset_path()
    try:
        conversations = load_conversations(dataset)
    except DatasetError as exc:
        raise UsageError(str(exc)) from None
    mock = None
    if needs_mock:
        from loadprofile.launch.mock import start_mock

        mock = start_mock(seed=args.seed)
        target = replace(target, host=mock.url)
    try:
        from loadprofile.client.preflight import check_target

        warning = check_target(target)
        if warning:
            print(f"warning: {warning}", file=sys.stderr, flush=True)
        label = f"embedded mock (seed {args.seed})" if mock is not None else None
        plan = SnapshotPlan(
            target,
            conversations,
            str(dataset),
            args.out,
            args.n,
            args.concurrency,
            args.max_tokens,
            args.seed,
            timeout_s,
            label,
            args.repeat_to_n,
        )
        short = short_of_n_warning(conversations, args.n, args.repeat_to_n)
        if short:
            print(f"warning: {short}", file=sys.stderr, flush=True)
        stop = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            if stop.is_set():
                raise KeyboardInterrupt
            stop.set()
            print(
                "\ninterrupted: finishing the requests in flight (Ctrl-C again to quit "
                "now); run the same command again to resume",
                file=sys.stderr,
                flush=True,
            )

        previous = signal.signal(signal.SIGINT, on_signal)
        bar = ProgressBar(sys.stderr, sys.stderr.isatty())
        try:
            answered, failed, missing = take_snapshot(plan, bar, stop)
        finally:
            bar.end()
            signal.signal(signal.SIGINT, previous)
    finally:
        if mock is not None:
            mock.stop()
    print(f"snapshot {args.out}: {answered} answered now, {failed} failed, {missing} missing")
    if stop.is_set():
        return 130
    return 0


def short_of_n_warning(
    conversations: list[Conversation], n: int | None, repeat_to_n: bool
) -> str | None:
    """-n beyond the dataset's prompts, said before a long snapshot rather than found after."""
    turns = len(every_turn(conversations))
    if n is None or n <= turns or repeat_to_n:
        return None
    return (
        f"-n {n}: the dataset has {turns} prompts (turns); the snapshot asks those {turns} "
        f"(--repeat-to-n asks them again, each pass opened with a nonce, until {n})"
    )


def run_diff(args: argparse.Namespace) -> int:
    from loadprofile.quality.content_check import ContentCheck
    from loadprofile.report.drift_report import run_diff as write_diff

    check = None
    try:
        if args.content_schema or args.content_extract:
            from loadprofile.config.cli_values import CliValues
            from loadprofile.config.run_config import resolve

            content = resolve(
                CliValues(content_schema=args.content_schema, content_extract=args.content_extract)
            ).content
            if content.schema is not None:
                check = ContentCheck(content.schema, content.extract)
        if args.worst < 0:
            raise ConfigError(f"--worst {args.worst}: give a number >= 0")
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    try:
        path = write_diff(args.canonical, args.candidate, args.out, check=check, worst=args.worst)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(f"diff: {path}")
    return 0
