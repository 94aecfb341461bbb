"""Hands open-loop arrivals to idle users at their due times (gevent glue, no Locust).

One dispatcher per target walks the target's arrival schedule. At each due time it wakes
the most recently idle user (a stack, as k6's pool of VUs does): a steady run then keeps
only as many users, and connections, busy as the load needs, instead of rotating through
the whole pool and opening a new connection per request. When no user is idle the arrival
waits in a backlog for the next user to come free; it is still timed from its due time.
"""

from __future__ import annotations

import time
from collections import deque

import gevent
from gevent.event import AsyncResult

from loadprofile.core.arrivals import ArrivalSchedule


class ArrivalDispatcher:
    def __init__(self, schedule: ArrivalSchedule) -> None:
        self.schedule = schedule
        self._idle: list[AsyncResult] = []
        self.backlog: deque[int] = deque()
        self.over = False
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        """No more arrivals: idle users are told so; the backlog stays for the count."""
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None
        self._close()

    def _run(self) -> None:
        while (due_ns := self.schedule.take()) is not None:
            gevent.sleep(max(0.0, (due_ns - time.perf_counter_ns()) / 1e9))
            if self._idle:
                self._idle.pop().set(due_ns)
            else:
                self.backlog.append(due_ns)
        self._close()

    def _close(self) -> None:
        self.over = True
        while self._idle:
            self._idle.pop().set(None)

    def wait(self) -> tuple[int | None, bool]:
        """Block until this user gets an arrival: (due time, whether it waited in the
        backlog for want of an idle user); (None, False) once the schedule is over."""
        if self.backlog:
            return self.backlog.popleft(), True
        if self.over:
            return None, False
        slot = AsyncResult()
        self._idle.append(slot)
        due_ns: int | None = slot.get()
        return due_ns, False

    def unsent_before(self, end_ns: int) -> int:
        """Arrivals due before ``end_ns`` that no user took: the backlog and the rest of the
        schedule (which this consumes)."""
        count = sum(1 for due in self.backlog if due < end_ns)
        self.backlog.clear()
        while (due := self.schedule.take()) is not None and due < end_ns:
            count += 1
        return count
