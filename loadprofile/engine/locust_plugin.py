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

import argparse
import logging
import subprocess
import sys
from typing import Any

from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadprofile.config.flags import add_flags, cli_values
from loadprofile.config.run_config import ConfigError, resolve
from loadprofile.engine.active import active, set_active
from loadprofile.engine.fleet.master import MasterSession
from loadprofile.engine.fleet.worker import WorkerLink
from loadprofile.engine.run_builder import build_run
from loadprofile.engine.session import RunSession
from loadprofile.engine.session_api import Session
from loadprofile.errors import LoadprofileError

log = logging.getLogger("loadprofile")
_LINKS: list[WorkerLink] = []  # a worker process's link to its master (kept alive here)


@events.init_command_line_parser.add_listener
def _add_options(parser: argparse.ArgumentParser, **_: Any) -> None:
    add_flags(parser, "locust")


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
        set_active(_session_from_options(environment))
    except (ConfigError, LoadprofileError) as exc:  # bad input 2, unreachable target 3
        print(f"loadprofile: error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(getattr(exc, "exit_code", 2)) from None


class _Stderr:
    """The builder's notes under plain Locust: stderr, beside Locust's own log."""

    def info(self, text: str) -> None:
        print(f"loadprofile: {text}", file=sys.stderr, flush=True)

    def warn(self, text: str) -> None:
        print(f"loadprofile: warning: {text}", file=sys.stderr, flush=True)


_STDERR = _Stderr()


def _session_from_options(environment: Environment) -> Session:
    opts = environment.parsed_options
    assert opts is not None  # _on_init returns early without parsed options
    config = resolve(
        cli_values(
            opts,
            "locust",
            host=environment.host,
            models=tuple(opts.model or ()) or _default_models(environment),
            users=opts.num_users,
            spawn_rate=opts.spawn_rate,
            run_time=str(opts.run_time) if opts.run_time else None,
            # Locust's -s: when given, the drain waits that long (else loadprofile's 30s)
            stop_timeout=f"{opts.stop_timeout:g}s" if opts.stop_timeout else None,
        )
    )
    if not config.targets or any(t.host is None for t in config.targets):
        raise ConfigError("plain Locust runs need --host and at least one --model")
    built = build_run(
        config,
        _STDERR,
        command=list(sys.argv),
        target_kind="host",
        open_ended=not opts.run_time and config.load.shape == "steady",  # no -t: until stopped
    )
    # Users a ramp-down stops finish the request they are in (Locust's default kills them).
    environment.stop_timeout = max(environment.stop_timeout or 0.0, config.load.stop_timeout_s)
    if isinstance(environment.runner, MasterRunner):
        session = MasterSession(
            config, built.conversations, built.meta, built.recorder, warn=_STDERR.warn
        )
        session.attach(environment.runner)
        return session
    return RunSession(config, built.conversations, built.meta, recorder=built.recorder)


def _default_models(environment: Environment) -> tuple[str, ...]:
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
