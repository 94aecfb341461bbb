"""Opening a connection: address lookup once per host, TCP_NODELAY, TLS with a shared context.

Each of these is done here once because doing it per connection stalls the gevent hub that
times every other stream (a lookup goes through a thread pool; a TLS context costs ~17 ms).
"""

from __future__ import annotations

import contextlib
import functools
import socket
import ssl
from typing import Any

_ADDRESSES: dict[tuple[str, int], list[tuple[Any, ...]]] = {}


def _addresses(host: str, port: int) -> list[tuple[Any, ...]]:
    """getaddrinfo once per host and port for the whole run. Under gevent every lookup goes
    through a thread pool (even for 127.0.0.1), and handing the GIL back and forth stalls the
    event loop by up to the 5 ms switch interval, on every new connection."""
    key = (host, port)
    if key not in _ADDRESSES:
        _ADDRESSES[key] = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    return _ADDRESSES[key]


def _open_socket(host: str, port: int, timeout: float) -> socket.socket:
    """socket.create_connection without the per-call lookup: try each address in turn."""
    last: OSError | None = None
    for family, kind, proto, _, address in _addresses(host, port):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError(f"no address for {host}")


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """One context for all connections: building one costs ~17 ms of CPU, which would
    stall every other stream's timing on each new connection."""
    return ssl.create_default_context()


def open_connection(
    host: str, port: int, timeout: float, context: ssl.SSLContext | None, *, tls: bool
) -> socket.socket:
    """A connected socket (TLS-wrapped when ``tls``, with ``context`` or the shared default).
    Raises TimeoutError or OSError/ssl.SSLError; the caller classifies them."""
    sock = _open_socket(host, port, timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        sock = (context or default_ssl_context()).wrap_socket(sock, server_hostname=host)
    return sock


def still_open(sock: socket.socket) -> bool:
    """An idle connection with nothing to read is alive; EOF (the server closed it) or bytes
    nobody asked for (it is out of step) make it unusable. One non-blocking peek: no send and
    no wait (timeout 0: gevent's socket too raises at once instead of waiting to read).
    TLS sockets cannot peek; for them the re-send on a dead connection has to do."""
    if isinstance(sock, ssl.SSLSocket):
        return True
    try:
        sock.settimeout(0.0)
        sock.recv(1, socket.MSG_PEEK)  # b"" (EOF) or a byte: either way unusable
    except (BlockingIOError, InterruptedError):
        return True
    except (OSError, ValueError):
        return False
    return False


def close_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
