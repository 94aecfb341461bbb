"""Blocking (gevent-cooperative when patched) HTTP/1.1 client with exact receive times.

One ``HttpClient`` per simulated user keeps one connection alive across requests, the way a
real client would, and reconnects when the server closes it. Servers close idle keep-alive
connections at any time: llama.cpp's server after every reply while announcing keep-alive,
others after their keep-alive timeout (``Keep-Alive: timeout=N``), proxies whenever they
like. So a pooled connection is checked before it is reused (a closed one is seen at once,
without a send), is not reused past the timeout the server announced, and a request that
fails on a reused connection before any byte of the answer arrived is re-sent once on a new
one. ``last_connection`` says how the last request's connection came about (new, reused,
stale when a pooled one was found dead, expired when it was near the announced timeout),
also when it failed, so the counts show what the server did. The response and its body
reading are in ``response.py``.
Every failure leaves as a ``TransportError`` carrying its error class; nothing else escapes.
"""

from __future__ import annotations

import math
import re
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from loadprofile import __version__
from loadprofile.client.http.connect import close_quietly, open_connection, still_open
from loadprofile.client.http.response import BodyDriver, Response, TransportError, recv
from loadprofile.core.results import ErrorClass

__all__ = ["HttpClient", "Origin", "Response", "TransportError"]

_MAX_HEAD = 65536
_USER_AGENT = f"loadprofile/{__version__}"
_INTERIM = re.compile(rb"HTTP/1\.[01] 1(?!01)\d\d")
#: An idle connection is not reused this close to the server's announced keep-alive timeout:
#: the server may close it while the request is on its way.
KEEP_ALIVE_MARGIN_S = 1.0
#: How a request's connection came about (``HttpClient.last_connection``): opened for it,
#: reused from the pool, opened because the pooled one was dead (closed by the server), or
#: opened because the pooled one was near the keep-alive timeout the server announced.
NEW, REUSED, STALE, EXPIRED = "new", "reused", "stale", "expired"


class _StaleConnection(Exception):
    """The reused connection was dead before the server answered: safe to re-send."""


@dataclass(frozen=True)
class Origin:
    """Where requests go: scheme, host and port, plus the URL's path prefix."""

    scheme: str
    host: str
    port: int
    base_path: str

    @classmethod
    def from_url(cls, url: str) -> Origin:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


class HttpClient:
    """One keep-alive connection to one origin; not shared between greenlets.

    ``timeout_s`` bounds every request. With ``read_timeouts=False`` the sockets block
    without a timeout after connecting and the caller must bound the request itself (the
    Locust glue wraps each request in one ``gevent.Timeout``): under gevent, a socket
    timeout costs a timer on every single read, about a fifth of the per-chunk CPU.
    ``body_driver`` reads streamed bodies (``Response.deliver``): the load generator's
    reads them from its event loop's callbacks.
    """

    def __init__(
        self,
        base_url: str,
        timeout_s: float,
        headers: dict[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        read_timeouts: bool = True,
        connect_timeout_s: float | None = None,
        body_driver: BodyDriver | None = None,
    ) -> None:
        self.origin = Origin.from_url(base_url)
        self.body_driver = body_driver  # how bodies are read (None: blocking reads)
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.read_timeouts = read_timeouts
        self.headers = dict(headers or {})
        self._ssl = ssl_context
        self._idle: socket.socket | None = None
        self._idle_until = 0.0  # monotonic: reuse the idle connection only before this
        self.connections_opened = 0
        self.last_connection = NEW  # how the last request's connection came about

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send a request and return once the status line and headers arrived."""
        now_ns = time.perf_counter_ns()
        deadline_ns = now_ns + int(self.timeout_s * 1e9)
        connect_deadline_ns = now_ns + int((self.connect_timeout_s or self.timeout_s) * 1e9)
        if not self.read_timeouts:
            deadline_ns = 0  # the caller bounds the request
        payload = self._encode(method, path, body, headers)
        sock, dropped = self._take_idle()
        if sock is not None:
            self.last_connection = REUSED
            try:
                return self._exchange(sock, payload, deadline_ns, None)
            except _StaleConnection:
                close_quietly(sock)
                dropped = STALE
        # Set before connecting: a request that fails from here on still says how it went.
        self.last_connection = dropped or NEW
        connect_start = time.perf_counter_ns()
        sock = self._connect(connect_deadline_ns)
        connect_ms = (time.perf_counter_ns() - connect_start) / 1e6
        try:
            response = self._exchange(sock, payload, deadline_ns, connect_ms)
        except _StaleConnection:
            close_quietly(sock)
            raise TransportError(
                ErrorClass.STREAM_INCOMPLETE, "server closed the connection without answering"
            ) from None
        return response

    def _take_idle(self) -> tuple[socket.socket | None, str | None]:
        """The pooled connection if it is still good; else (None, why it was dropped):
        STALE when the server has closed it, EXPIRED when it is too near the keep-alive
        timeout the server announced to be trusted (None: there was none)."""
        sock, self._idle = self._idle, None
        if sock is None:
            return None, None
        if time.monotonic() >= self._idle_until:
            close_quietly(sock)
            return None, EXPIRED
        if not still_open(sock):
            close_quietly(sock)
            return None, STALE
        return sock, None

    def close(self) -> None:
        if self._idle is not None:
            close_quietly(self._idle)
            self._idle = None

    def redact(self, text: str) -> str:
        """``text`` without the credentials this client sends (servers echo them in errors)."""
        for name, value in self.headers.items():
            if name.lower() in ("authorization", "x-api-key", "api-key"):
                secret = value.split(" ", 1)[-1]
                if len(secret) >= 4:
                    text = text.replace(secret, "***")
        return text

    def _release(self, sock: socket.socket, keep_alive_s: float | None) -> None:
        if self._idle is not None:
            close_quietly(self._idle)
        self._idle = sock
        limit = math.inf if keep_alive_s is None else keep_alive_s - KEEP_ALIVE_MARGIN_S
        self._idle_until = time.monotonic() + limit

    def _encode(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str] | None
    ) -> bytes:
        lines = [
            f"{method} {self.origin.base_path}{path} HTTP/1.1",
            f"Host: {self.origin.host_header}",
            f"User-Agent: {_USER_AGENT}",
            "Accept-Encoding: identity",
        ]
        merged = {**self.headers, **(headers or {})}
        if body is not None:
            merged.setdefault("Content-Type", "application/json")
            merged["Content-Length"] = str(len(body))
        lines.extend(f"{k}: {v}" for k, v in merged.items())
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + body if body else head

    def _connect(self, deadline_ns: int) -> socket.socket:
        timeout = max(0.001, (deadline_ns - time.perf_counter_ns()) / 1e9)
        try:
            sock = open_connection(
                self.origin.host,
                self.origin.port,
                timeout,
                self._ssl,
                tls=self.origin.scheme == "https",
            )
        except TimeoutError:
            raise TransportError(
                ErrorClass.TIMEOUT, f"connect to {self.origin.host_header} timed out"
            ) from None
        except (OSError, ssl.SSLError) as exc:
            raise TransportError(
                ErrorClass.CONNECT, f"cannot connect to {self.origin.host_header}: {exc}"
            ) from None
        self.connections_opened += 1
        return sock

    def _exchange(
        self, sock: socket.socket, payload: bytes, deadline_ns: int, connect_ms: float | None
    ) -> Response:
        reused = connect_ms is None
        try:
            timeout_s = (deadline_ns - time.perf_counter_ns()) / 1e9
            sock.settimeout(max(0.001, timeout_s) if deadline_ns else None)
            sock.sendall(payload)
            head, rest, t_ns = _read_head(sock, deadline_ns, reused)
        except TransportError:
            close_quietly(sock)
            raise
        except (BrokenPipeError, ConnectionResetError) as exc:
            if reused:
                raise _StaleConnection() from None
            close_quietly(sock)
            raise TransportError(ErrorClass.STREAM_INCOMPLETE, f"connection lost: {exc}") from None
        except OSError as exc:
            close_quietly(sock)
            raise TransportError(ErrorClass.CONNECT, f"send failed: {exc}") from None
        try:
            response = Response(self._release, sock, head, rest, t_ns, deadline_ns)
        except TransportError:
            close_quietly(sock)
            raise
        response.connect_ms = connect_ms
        return response


def _read_head(sock: socket.socket, deadline_ns: int, reused: bool) -> tuple[bytes, bytes, int]:
    buf = b""
    while True:
        try:
            data, t_ns = recv(sock, deadline_ns)
        except TransportError as exc:
            if reused and not buf and exc.error_class is ErrorClass.STREAM_INCOMPLETE:
                raise _StaleConnection() from None
            raise
        if not data:
            if reused and not buf:
                raise _StaleConnection()
            raise TransportError(
                ErrorClass.STREAM_INCOMPLETE, "connection closed before the response headers"
            )
        buf += data
        while (end := buf.find(b"\r\n\r\n")) >= 0:
            head, buf = buf[:end], buf[end + 4 :]
            if not _INTERIM.match(head):
                return head, buf, t_ns
            # 100 Continue, 102, 103 Early Hints: informational, the real answer follows.
        if len(buf) > _MAX_HEAD:
            raise TransportError(ErrorClass.STREAM_MALFORMED, "response headers too large")
