"""``loadprofile run`` as the master of workers, or as a worker (Locust glue).

The master is Locust's ``MasterRunner`` with a ``MasterSession`` on it; ``--processes N``
also starts N worker processes on this machine. A worker is Locust's ``WorkerRunner`` with
a ``WorkerLink``: it needs only the master's address.
"""

from __future__ import annotations

import math
import signal
from typing import Any

import gevent
from locust import events
from locust.env import Environment

from loadprofile.config.fleet_options import FleetOptions
from loadprofile.console import Console
from loadprofile.contract.summary import Summary
from loadprofile.engine.fleet.master import MasterSession
from loadprofile.engine.fleet.worker import WorkerLink
from loadprofile.engine.run_control import StopSignals, end_load, start_load
from loadprofile.engine.shapes import PlanShape
from loadprofile.engine.users import RunChatUser
from loadprofile.errors import UsageError
from loadprofile.launch.workers import (
    free_port,
    start_local_workers,
    stop_local_workers,
    wait_local_workers,
)


def drive_master(session: MasterSession, fleet: FleetOptions, console: Console) -> Summary:
    load, plan = session.config.load, session.plan
    shape = PlanShape(plan, hold_at_end=True) if plan.shape != "steady" else None
    env = Environment(
        user_classes=[RunChatUser],
        events=events,
        shape_class=shape,
        stop_timeout=load.stop_timeout_s,
    )
    host, port = fleet.bind_host, fleet.bind_port
    if fleet.local_processes:
        host, port = "127.0.0.1", free_port()
    try:
        runner = env.create_master_runner(host, port)
    except SystemExit:  # Locust logs "port busy" and exits: a usage error here
        raise UsageError(
            f"cannot listen on {host}:{port} (in use?); choose --master-bind-port"
        ) from None
    session.attach(runner)
    procs = start_local_workers(fleet.processes, host, port) if fleet.local_processes else []
    try:
        with StopSignals(session, console) as signals:
            if not fleet.local_processes:
                console.info(
                    f"master listening on {host}:{port}: waiting for "
                    f"{fleet.expect_workers} worker(s) (`loadprofile run --worker "
                    f"--master-host THIS_HOST --master-port {port}`)"
                )
            wait_s = fleet.expect_workers_max_wait_s or math.inf
            got = session.wait_for_workers(fleet.expect_workers, wait_s)
            if signals.done.is_set() or got < fleet.expect_workers:
                runner.quit()
                if signals.done.is_set():
                    raise UsageError("interrupted while waiting for workers")
                raise UsageError(
                    f"only {got} of {fleet.expect_workers} worker(s) connected "
                    f"within {wait_s:g}s (--expect-workers-max-wait)"
                )
            start_load(runner, session)
            signals.wait_until(
                plan.run_time_s, give_up=lambda: _all_lost(session) or session.budget_spent
            )
            end_load(runner, session, console)
            return session.finish()
    finally:
        stop_local_workers(procs)


def _all_lost(session: MasterSession) -> bool:
    accepted = session.accepted()
    return bool(accepted) and not any(w.active for w in accepted)


def run_worker(fleet: FleetOptions, console: Console) -> int:
    """Serve one run of the master (or start ``--processes`` workers that do); the exit
    code: 0, 2 if refused, 130/143 if stopped by a signal."""
    if fleet.processes:
        procs = start_local_workers(
            fleet.processes, fleet.master_host, fleet.master_port, own_group=False
        )
        ignore = [
            gevent.signal_handler(sig, lambda: None) for sig in (signal.SIGINT, signal.SIGTERM)
        ]
        try:
            return wait_local_workers(procs)
        finally:
            for handler in ignore:
                handler.cancel()
    env = Environment(user_classes=[RunChatUser], events=events)
    try:
        runner = env.create_worker_runner(fleet.master_host, fleet.master_port)
    except ConnectionError:
        raise UsageError(f"no master answered at {fleet.master_host}:{fleet.master_port}") from None
    link = WorkerLink(runner)
    link.hello()
    console.info(f"worker connected to the master at {fleet.master_host}:{fleet.master_port}")
    stopped_by: list[str] = []

    def on_signal(name: str) -> None:
        session = link.session
        if stopped_by:
            if session is not None:
                session.force_stop = True
            return
        stopped_by.append(name)
        if session is not None:
            session.interrupted_by = name
        gevent.spawn(_leave, link, runner)

    handlers = [
        gevent.signal_handler(signal.SIGINT, on_signal, "SIGINT"),
        gevent.signal_handler(signal.SIGTERM, on_signal, "SIGTERM"),
    ]
    try:
        runner.greenlet.join()
    finally:
        for handler in handlers:
            handler.cancel()
    return {"SIGINT": 130, "SIGTERM": 143}.get(stopped_by[0], 0) if stopped_by else 0


def _leave(link: WorkerLink, runner: Any) -> None:
    """A worker stopped by a signal: send what it measured, then leave the master."""
    link.finish(5.0)
    runner.environment.events.quitting.fire(environment=runner.environment, reverse=True)
    runner.quit()
