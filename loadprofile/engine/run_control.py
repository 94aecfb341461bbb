"""Starting, timing and stopping a run's load in Locust (glue shared by local and master runs).

Ctrl-C or SIGTERM stops the run and writes what was measured; a second one stops waiting
for requests in flight.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import TracebackType
from typing import Any

import gevent
import gevent.event
from locust.runners import Runner

from loadprofile.console import Console
from loadprofile.engine.session_api import Session


def quiet_locust() -> None:
    """Locust's info lines would bury ours; its warnings stay (but one, below)."""
    logging.getLogger("locust").setLevel(logging.WARNING)
    logging.getLogger("locust.runners").addFilter(_fast_spawn_is_deliberate)


def _fast_spawn_is_deliberate(record: logging.LogRecord) -> bool:
    """Bursts and open-loop pools spawn fast on purpose (a slow ramp would hide a spike):
    Locust's warning about spawn rates above 100/s is noise here."""
    return not str(record.msg).startswith("Your selected spawn rate is very high")


class StopSignals:
    def __init__(self, session: Session, console: Console) -> None:
        self.session = session
        self.console = console
        self.done = gevent.event.Event()
        self._handlers: list[Any] = []

    def __enter__(self) -> StopSignals:
        self._handlers = [
            gevent.signal_handler(signal.SIGINT, self._on_signal, "SIGINT"),
            gevent.signal_handler(signal.SIGTERM, self._on_signal, "SIGTERM"),
        ]
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for handler in self._handlers:
            handler.cancel()

    def _on_signal(self, name: str) -> None:
        if self.session.interrupted_by is not None:
            self.session.force_stop = True  # a second Ctrl-C: stop waiting for requests in flight
            return
        self.session.interrupted_by = name
        self.console.warn(f"{name}: stopping; writing what was measured (Ctrl-C again to hurry)")
        self.done.set()

    def wait_until(self, run_time_s: float, give_up: Callable[[], bool] | None = None) -> None:
        """Until the run time is over on the session's clock (it starts when Locust fires
        test_start, a moment after the start call: an arrival due just before the end is
        still sent), a signal, or ``give_up()``."""
        while not self.done.is_set() and (remaining := run_time_s - self.session.elapsed_s) > 0:
            self.done.wait(timeout=min(remaining, 0.5) if give_up else remaining)
            if give_up is not None and give_up():
                return


def start_load(runner: Runner, session: Session) -> None:
    load = session.config.load
    if runner.environment.shape_class is not None:
        runner.start_shape()
    else:
        runner.start(load.users, load.spawn_rate)


def end_load(runner: Runner, session: Session, console: Console) -> None:
    """Let requests in flight finish (bounded), then stop Locust."""
    load = session.config.load
    if session.in_flight and session.interrupted_by is None:
        why = (
            f"{load.max_requests} requests sent (-n)"
            if session.budget_spent
            else "stable (--until-stable)"
            if session.stable
            else "run time over"
        )
        console.info(
            f"{why}: letting {session.in_flight} request(s) in flight "
            f"finish (at most {load.stop_timeout_s:g}s, --stop-timeout)"
        )
    # Drain before Locust's stop: its stop() walks the whole stack (inspect.stack, for a
    # debug line), a pause that would land on the last streams' timestamps.
    session.drain(load.stop_timeout_s)
    runner.quit()
