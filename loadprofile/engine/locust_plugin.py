"""Event hooks that let plain ``locust -f locustfiles/chat.py`` runs write a run folder.

``loadprofile run`` creates its session itself; a plain Locust run gets one here, from
Locust's parsed options plus the options added below. Both then drive the session through
the same events: test_start opens the folder, test_stopping lets requests in flight finish,
test_stop writes the summary, quitting builds the report in a separate process (the report
imports matplotlib, which has no business in the load generator).

Distributed (``--master`` / ``--worker`` / ``--processes``): the master's session is a
``MasterSession`` and writes the one run folder; each worker links to it and runs what the
master sends (``fleet_worker``), whatever loadprofile flags the worker itself was given.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from locust import events
from locust.runners import MasterRunner, WorkerRunner

from loadprofile.client.server_scrape import server_scraper
from loadprofile.config.flags import add_load_flags, load_flag_values
from loadprofile.config.run_config import CliValues, ConfigError, resolve
from loadprofile.dataset.conversations import DatasetError, default_dataset_path
from loadprofile.dataset.conversations import load_conversations as _load_conversations
from loadprofile.dataset.prompt_fit import limit_prompts
from loadprofile.dataset.stats import dataset_stats
from loadprofile.engine.fleet.master import MasterSession
from loadprofile.engine.fleet.worker import WorkerLink
from loadprofile.engine.session import RunSession, active, set_active
from loadprofile.rundir.meta import build_meta, new_run_id
from loadprofile.rundir.recorder import RunRecorder
from loadprofile.rundir.writer import REQUESTS, SUMMARY

log = logging.getLogger("loadprofile")
_LINKS: list[WorkerLink] = []  # a worker process's link to its master (kept alive here)


@events.init_command_line_parser.add_listener
def _add_options(parser: Any, **_: Any) -> None:
    group = parser.add_argument_group("loadprofile")
    group.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME[=WEIGHT]",
        help="model to load (repeatable); weight sets its traffic share",
    )
    group.add_argument("--dataset", help="conversations (OpenAI chat JSONL or ShareGPT)")
    group.add_argument("--think-time", help="seconds between turns, MIN-MAX (default 1-3)")
    group.add_argument("--history", choices=("recorded", "live"), help="history replies")
    group.add_argument("--timeout", help="per-request timeout (default 300s)")
    group.add_argument("--max-tokens", type=int, help="max_tokens per request (default 256)")
    group.add_argument("--out", help="run folder (default reports/<run-id>)")
    group.add_argument("--loadprofile-config", help="loadprofile TOML config (targets, load)")
    group.add_argument("--api-key-env", help="environment variable holding the API key")
    add_load_flags(parser)


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    if active() is not None or environment.parsed_options is None:
        return  # `loadprofile run` made its own session, or Locust is used as a library
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        # A worker takes the run from its master (its own loadprofile flags are not used).
        _LINKS.append(WorkerLink(runner))
        _LINKS[-1].hello()
        return
    try:
        set_active(_session_from_options(environment, master=isinstance(runner, MasterRunner)))
    except (ConfigError, DatasetError) as exc:
        print(f"loadprofile: error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def _warn(text: str) -> None:
    print(f"loadprofile: warning: {text}", file=sys.stderr, flush=True)


def _session_from_options(environment: Any, *, master: bool) -> RunSession | MasterSession:
    opts = environment.parsed_options
    cfg_path = getattr(opts, "loadprofile_config", None)
    models = tuple(opts.model or ()) or _default_models(environment)
    config = resolve(
        CliValues(
            host=environment.host,
            models=models,
            config=Path(cfg_path) if cfg_path else None,
            dataset=opts.dataset,
            out=opts.out,
            think_time=opts.think_time,
            history=opts.history,
            timeout=opts.timeout,
            max_tokens=opts.max_tokens,
            api_key_env=opts.api_key_env,
            users=opts.num_users,
            spawn_rate=opts.spawn_rate,
            run_time=str(opts.run_time) if opts.run_time else None,
            **load_flag_values(opts),
        )
    )
    if not config.targets or any(t.host is None for t in config.targets):
        raise ConfigError("plain Locust runs need --host and at least one --model")
    dataset = config.dataset or default_dataset_path()
    conversations, skipped = limit_prompts(
        _load_conversations(dataset), config.load.max_prompt_tokens
    )
    if skipped is not None:
        print(f"loadprofile: {skipped.describe()}", file=sys.stderr, flush=True)
    run_id = new_run_id()
    run_dir = config.out_dir or Path("reports") / run_id
    if (run_dir / SUMMARY).exists() or (run_dir / REQUESTS).exists():
        raise ConfigError(f"--out {run_dir}: already holds a run; choose another folder")
    described: dict[str, Any] = {"path": str(dataset), "stats": dataset_stats(conversations)}
    if skipped is not None:
        described["max_prompt_tokens"] = skipped.to_json()
    meta = build_meta(
        config,
        run_id=run_id,
        command=list(sys.argv),
        target_kind="host",
        dataset=described,
        warnings=[],
    )
    if not opts.run_time and config.load.shape == "steady":
        meta["load"]["run_time_s"] = None  # no -t: Locust runs until stopped
    # Users a ramp-down stops finish the request they are in (Locust's default kills them).
    environment.stop_timeout = max(environment.stop_timeout or 0.0, config.load.stop_timeout_s)
    recorder = RunRecorder(run_dir, meta, scraper=server_scraper(config.server_metrics, _warn))
    if master:
        session = MasterSession(config, conversations, meta, recorder, warn=_warn)
        session.attach(environment.runner)
        return session
    return RunSession(config, conversations, meta, recorder=recorder)


def _default_models(environment: Any) -> tuple[str, ...]:
    """Models named by the locustfile's user classes, for runs without --model."""
    names: list[str] = []
    for user_class in environment.user_classes:
        names += [m for m in getattr(user_class, "default_models", ()) if m not in names]
    return tuple(names)


@events.test_start.add_listener
def _on_test_start(**_: Any) -> None:
    session = active()
    if session is not None:
        session.start()


@events.test_stopping.add_listener
def _on_test_stopping(environment: Any, **_: Any) -> None:
    session = active()
    if session is not None:
        session.drain(session.config.load.stop_timeout_s)
        # Requests still running are recorded as timeouts now: Locust need not wait again.
        environment.stop_timeout = 0.0


@events.test_stop.add_listener
def _on_test_stop(environment: Any, **_: Any) -> None:
    session = active()
    if session is None or session.finished or session.recorder is None:
        return  # none, done, or a worker's (its master writes the run folder)
    run_time = getattr(environment.parsed_options, "run_time", None)
    cut_short = run_time is not None and session.elapsed_s < 0.98 * float(run_time)
    session.finish(partial=cut_short)


@events.quitting.add_listener
def _on_quitting(environment: Any, **_: Any) -> None:
    session = active()
    if (
        session is None
        or not session.finished
        or session.recorder is None
        or environment.parsed_options is None
    ):
        return  # no session, a worker, or `loadprofile run` (it builds the report itself)
    done = subprocess.run(
        [sys.executable, "-m", "loadprofile", "report", str(session.run_dir)], check=False
    )
    if done.returncode == 0:
        print(f"loadprofile: run folder {session.run_dir}", file=sys.stderr, flush=True)
