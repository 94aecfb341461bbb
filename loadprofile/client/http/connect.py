"""The socket transport: address lookup once per host, TCP_NODELAY, a proxy's CONNECT tunnel,
TLS with the run's one context, each step timed.

Lookups and TLS contexts are made once because doing either per connection stalls the
gevent hub that times every other stream (a lookup goes through a thread pool; a TLS
context costs ~17 ms).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from typing import Any

from loadprofile.client.http.errors import TransportError
from loadprofile.client.http.proxy import TunnelRefused, authorization, open_tunnel, proxy_for
from loadprofile.client.http.tls import tls_failure
from loadprofile.client.http.transport import Connection, Opened, Origin, Route
from loadprofile.config.reach import ProxyOptions, ProxyUrl
from loadprofile.core.results import ErrorClass

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
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError(f"no address for {host}")


class SocketTransport:
    """Connections over TCP, through the target's proxy when there is one, with TLS for
    https origins (``context``: the run's, built once by ``reach.transport_for``)."""

    def __init__(self, context: ssl.SSLContext, proxies: ProxyOptions) -> None:
        self.context = context
        self.proxies = proxies
        self._proxy: dict[Origin, ProxyUrl | None] = {}

    def proxy(self, origin: Origin) -> ProxyUrl | None:
        """The proxy for ``origin``, decided once (the environment does not change)."""
        if origin not in self._proxy:
            self._proxy[origin] = proxy_for(origin, self.proxies)
        return self._proxy[origin]

    def route(self, origin: Origin) -> Route:
        proxy = self.proxy(origin)
        if proxy is None or origin.tls:  # direct, or a tunnel: requests as usual
            return Route()
        return Route(absolute_form=True, headers=authorization(proxy))

    def open(self, origin: Origin, timeout_s: float) -> Opened:
        proxy = self.proxy(origin)
        host, port = (proxy.host, proxy.port) if proxy else (origin.host, origin.port)
        start_ns = time.perf_counter_ns()
        where = f"{origin.host_header} via proxy {proxy.display}" if proxy else origin.host_header
        try:
            sock: socket.socket = _open_socket(host, port, timeout_s)
        except TimeoutError:
            raise TransportError(ErrorClass.TIMEOUT, f"connect to {where} timed out") from None
        except OSError as exc:
            raise TransportError(ErrorClass.CONNECT, f"cannot connect to {where}: {exc}") from None
        try:
            if proxy is not None and origin.tls:
                open_tunnel(sock, origin, proxy)
            tls_ms = None
            if origin.tls:
                tls_start_ns = time.perf_counter_ns()
                sock = self.context.wrap_socket(sock, server_hostname=origin.host)
                tls_ms = (time.perf_counter_ns() - tls_start_ns) / 1e6
        except TunnelRefused as exc:
            close_quietly(sock)
            raise TransportError(ErrorClass.CONNECT, f"{where}: {exc}") from None
        except (ssl.SSLError, ssl.CertificateError) as exc:
            close_quietly(sock)
            raise TransportError(*tls_failure(exc, origin.host_header)) from None
        except TimeoutError:
            close_quietly(sock)
            raise TransportError(ErrorClass.TIMEOUT, f"connect to {where} timed out") from None
        except OSError as exc:
            close_quietly(sock)
            raise TransportError(ErrorClass.CONNECT, f"cannot connect to {where}: {exc}") from None
        return Opened(sock, (time.perf_counter_ns() - start_ns) / 1e6, tls_ms)

    def usable(self, connection: Connection) -> bool:
        return still_open(connection)


def still_open(connection: Connection) -> bool:
    """An idle connection with nothing to read is alive; EOF (the server closed it) or bytes
    nobody asked for (it is out of step) make it unusable. One non-blocking peek: no send and
    no wait (timeout 0: gevent's socket too raises at once instead of waiting to read).
    TLS sockets cannot peek; for them the re-send on a dead connection has to do."""
    if isinstance(connection, ssl.SSLSocket) or not isinstance(connection, socket.socket):
        return True
    try:
        connection.settimeout(0.0)
        connection.recv(1, socket.MSG_PEEK)  # b"" (EOF) or a byte: either way unusable
    except (BlockingIOError, InterruptedError):
        return True
    except (OSError, ValueError):
        return False
    return False


def close_quietly(connection: Connection) -> None:
    with contextlib.suppress(OSError):
        connection.close()
