"""Reading response bodies from the gevent hub's own callbacks (gevent glue, no Locust).

A greenlet blocked in ``recv`` costs, per read: a failed non-blocking read, a watcher
started and stopped, and two greenlet switches (measured on this machine: 15 µs a read
against 9 µs from a callback, at 100 streams of 8 ms tokens). A streamed reply is one
read per token, tens of thousands a second at 100x load, so ``HubDriver`` keeps one read
watcher open for the whole body and handles every read inside the hub's callback: read,
timestamp, parse (the sink), and wake the request's greenlet once, at the end.

Each read is stamped with the moment its bytes reached this host: on Linux the kernel
stamps every received segment (``SO_TIMESTAMPNS``, read with ``recvmsg``), and the stamp is
carried over to the ``perf_counter`` clock by the delay between it and now. A callback run
late (the loop busy with other streams at 300 of them) then no longer delays a token's time;
without a kernel stamp (other systems, a stamp that makes no sense after a clock step) the
read is stamped when the callback runs, as early as a blocked greenlet would stamp it.
Everything the sink does still runs on the one loop, so it stays as cheap as it was (a few
µs a chunk); an exception in it, or a closed or failing socket, ends the body
and is raised in the request's greenlet. A request's ``gevent.Timeout`` (or Locust killing
the user) interrupts the wait the same way it interrupted a blocked read. TLS bodies are read
in the hub too, each wake-up draining what the TLS layer has decrypted (bytes may wait there
with nothing left to poll on the socket), stamped when the callback runs.
"""

from __future__ import annotations

import _socket
import socket as stdlib_socket
import ssl
import struct
import sys
import time
from typing import Protocol

import gevent
from gevent.hub import Waiter

from loadprofile.client.http.response import RECV_BYTES, BlockingDriver, OnBytes, TransportError
from loadprofile.client.http.tls import tls_failure
from loadprofile.client.http.transport import Connection
from loadprofile.core.results import ErrorClass

#: Linux's ``SO_TIMESTAMPNS`` (also its ``SCM_TIMESTAMPNS``); Python names neither.
SO_TIMESTAMPNS = 35
KERNEL_STAMPS = sys.platform.startswith("linux")
_TIMESPEC = struct.Struct("@qq")
_ANCILLARY_BYTES = stdlib_socket.CMSG_SPACE(_TIMESPEC.size) if KERNEL_STAMPS else 0
#: A kernel stamp further back than this is not believed (a clock step in between).
_MAX_KERNEL_LAG_NS = 10_000_000_000


def enable_kernel_stamps(sock: _socket.socket) -> bool:
    """Ask the kernel to stamp this socket's received data; False where it cannot."""
    if not KERNEL_STAMPS:
        return False
    try:
        sock.setsockopt(stdlib_socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def arrival_ns(ancillary: list[tuple[int, int, bytes]], now_ns: int) -> int:
    """``now_ns`` (perf_counter) moved back to the kernel's stamp of the data, if one came."""
    for level, kind, raw in ancillary:
        if (
            level == stdlib_socket.SOL_SOCKET
            and kind == SO_TIMESTAMPNS
            and len(raw) >= _TIMESPEC.size
        ):
            seconds, nanoseconds = _TIMESPEC.unpack_from(raw)
            lag_ns = time.time_ns() - (seconds * 1_000_000_000 + nanoseconds)
            if 0 <= lag_ns < _MAX_KERNEL_LAG_NS:
                return now_ns - lag_ns
    return now_ns


class _TlsReader(Protocol):
    """The TLS state of an ``ssl.SSLSocket`` (``_sslobj``): reads without blocking."""

    def read(self, size: int, /) -> bytes: ...


class HubDriver:
    """A ``BodyDriver`` for greenlets under gevent (see the module docstring)."""

    def __init__(self) -> None:
        self._blocking = BlockingDriver()

    def run(self, sock: Connection, deadline_ns: int, on_bytes: OnBytes) -> None:
        raw = getattr(sock, "_sock", sock)  # gevent's socket wraps a non-blocking one
        if not isinstance(raw, _socket.socket):
            self._blocking.run(sock, deadline_ns, on_bytes)  # not a socket at all (tests)
            return
        if isinstance(sock, ssl.SSLSocket):
            tls = getattr(sock, "_sslobj", None)  # the TLS state over the raw socket
            if tls is None:
                self._blocking.run(sock, deadline_ns, on_bytes)
                return
            _TlsBody(raw, tls, on_bytes).wait()
            return
        enable_kernel_stamps(raw)
        _Body(raw, on_bytes).wait()


class _Body:
    __slots__ = ("_on_bytes", "_outcome", "_sock", "_waiter", "_watcher")

    def __init__(self, sock: _socket.socket, on_bytes: OnBytes) -> None:
        self._sock = sock
        self._on_bytes = on_bytes
        self._outcome: BaseException | None = None
        self._waiter = Waiter()
        self._watcher = gevent.get_hub().loop.io(sock.fileno(), 1)

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
            data, ancillary, _, _ = self._sock.recvmsg(RECV_BYTES, _ANCILLARY_BYTES)
        except (BlockingIOError, InterruptedError):
            return  # woken for nothing: wait for the next readiness
        except (ConnectionResetError, BrokenPipeError) as exc:
            self._end(TransportError(ErrorClass.STREAM_INCOMPLETE, f"connection lost: {exc}"))
            return
        except OSError as exc:
            self._end(TransportError(ErrorClass.STREAM_INCOMPLETE, f"receive failed: {exc}"))
            return
        t_ns = time.perf_counter_ns()
        if ancillary:
            t_ns = arrival_ns(ancillary, t_ns)
        # _take's lines, inline: this runs once per streamed chunk, a call is ~0.3 % of it
        try:
            over = self._on_bytes(data, t_ns)
        except BaseException as exc:  # handed to the request's greenlet, never the hub's
            self._end(exc)
            return
        if over or not data:
            self._end(None)

    def _take(self, data: bytes, t_ns: int) -> bool:
        """One read through the sink; True when the body ended (done, closed or failed)."""
        try:
            over = self._on_bytes(data, t_ns)
        except BaseException as exc:  # handed to the request's greenlet, never the hub's
            self._end(exc)
            return True
        if over or not data:
            self._end(None)
            return True
        return False

    def _end(self, outcome: BaseException | None) -> None:
        self._outcome = outcome
        self._watcher.stop()
        self._waiter.switch(None)


class _TlsBody(_Body):
    """A TLS body, read in the hub the same way: the raw socket's readiness wakes it, and it
    takes every decrypted byte the TLS layer holds (a record may bring several chunks, or
    half of one: until it asks for more). Stamped when the callback runs: the kernel's stamp
    is of encrypted bytes, which need not be the same read's."""

    __slots__ = ("_tls",)

    def __init__(self, sock: _socket.socket, tls: _TlsReader, on_bytes: OnBytes) -> None:
        super().__init__(sock, on_bytes)
        self._tls = tls

    def _readable(self) -> None:
        t_ns = time.perf_counter_ns()
        while True:
            try:
                data = self._tls.read(RECV_BYTES)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return  # nothing more decrypted: wait for the next readiness
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                data = b""  # the server closed the connection
            except ssl.SSLError as exc:
                self._end(TransportError(*tls_failure(exc)))
                return
            except OSError as exc:
                self._end(TransportError(ErrorClass.STREAM_INCOMPLETE, f"receive failed: {exc}"))
                return
            if self._take(data, t_ns):
                return
