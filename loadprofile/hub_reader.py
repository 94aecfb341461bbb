"""Reading response bodies from the gevent hub's own callbacks (gevent glue, no Locust).

A greenlet blocked in ``recv`` costs, per read: a failed non-blocking read, a watcher
started and stopped, and two greenlet switches (measured on this machine: 15 µs a read
against 9 µs from a callback, at 100 streams of 8 ms tokens). A streamed reply is one
read per token, tens of thousands a second at 100x load, so ``HubDriver`` keeps one read
watcher open for the whole body and handles every read inside the hub's callback: read,
timestamp, parse (the sink), and wake the request's greenlet once, at the end.

The timestamp is taken the moment the callback runs, as early as a blocked greenlet would
take it. Everything the sink does still runs on the one loop, so it stays as cheap as it
was (a few µs a chunk); an exception in it, or a closed or failing socket, ends the body
and is raised in the request's greenlet. A request's ``gevent.Timeout`` (or Locust killing
the user) interrupts the wait the same way it interrupted a blocked read. TLS sockets are
read the blocking way (decrypted bytes may wait in the TLS layer with nothing to poll).
"""

from __future__ import annotations

import os
import ssl
import time
from socket import socket

import gevent
from gevent.hub import Waiter

from loadprofile.http.response import RECV_BYTES, BlockingDriver, OnBytes, TransportError
from loadprofile.results import ErrorClass


class HubDriver:
    """A ``BodyDriver`` for greenlets under gevent (see the module docstring)."""

    def __init__(self) -> None:
        self._blocking = BlockingDriver()

    def run(self, sock: socket, deadline_ns: int, on_bytes: OnBytes) -> None:
        if isinstance(sock, ssl.SSLSocket):
            self._blocking.run(sock, deadline_ns, on_bytes)
            return
        _Body(sock.fileno(), on_bytes).wait()


class _Body:
    __slots__ = ("_fd", "_on_bytes", "_outcome", "_waiter", "_watcher")

    def __init__(self, fd: int, on_bytes: OnBytes) -> None:
        self._fd = fd
        self._on_bytes = on_bytes
        self._outcome: BaseException | None = None
        self._waiter = Waiter()
        self._watcher = gevent.get_hub().loop.io(fd, 1)

    def wait(self) -> None:
        """Block this greenlet until the body is over; raise what ended it badly."""
        self._watcher.start(self._readable)
        try:
            self._waiter.get()
        finally:
            self._watcher.stop()
            self._watcher.close()
        if self._outcome is not None:
            raise self._outcome

    def _readable(self) -> None:
        """In the hub: one read, stamped, through the sink."""
        try:
            data = os.read(self._fd, RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return  # woken for nothing: wait for the next readiness
        except (ConnectionResetError, BrokenPipeError) as exc:
            self._end(TransportError(ErrorClass.STREAM_INCOMPLETE, f"connection lost: {exc}"))
            return
        except OSError as exc:
            self._end(TransportError(ErrorClass.STREAM_INCOMPLETE, f"receive failed: {exc}"))
            return
        t_ns = time.perf_counter_ns()
        try:
            over = self._on_bytes(data, t_ns)
        except BaseException as exc:  # handed to the request's greenlet, never the hub's
            self._end(exc)
            return
        if over or not data:
            self._end(None)

    def _end(self, outcome: BaseException | None) -> None:
        self._outcome = outcome
        self._watcher.stop()
        self._waiter.switch(None)
