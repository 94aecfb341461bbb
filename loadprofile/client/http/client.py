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
import time

from loadprofile import __version__
from loadprofile.client.http.connect import close_quietly
from loadprofile.client.http.errors import TransportError
from loadprofile.client.http.reach import default_transport
from loadprofile.client.http.response import BodyDriver, Response, recv
from loadprofile.client.http.transport import Connection, Opened, Origin, Transport
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
#: Headers whose values are no secret: everything else the client sends (keys, gateway
#: headers) is blanked out of the error texts that servers echo them in.
_NOT_SECRET = frozenset({"anthropic-version", "accept", "user-agent", "content-type"})


class _StaleConnection(Exception):
    """The reused connection was dead before the server answered: safe to re-send."""


class HttpClient:
    """One keep-alive connection to one origin; not shared between greenlets.

    ``timeout_s`` bounds every request. With ``read_timeouts=False`` the sockets block
    without a timeout after connecting and the caller must bound the request itself (the
    Locust glue wraps each request in one ``gevent.Timeout``): under gevent, a socket
    timeout costs a timer on every single read, about a fifth of the per-chunk CPU.
    ``body_driver`` reads streamed bodies (``Response.deliver``): the load generator's
    reads them from its event loop's callbacks. ``transport`` opens the connections (the
    process's own, with its TLS settings and proxies, unless given).
    """

    def __init__(
        self,
        base_url: str,
        timeout_s: float,
        headers: dict[str, str] | None = None,
        read_timeouts: bool = True,
        connect_timeout_s: float | None = None,
        body_driver: BodyDriver | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.origin = Origin.from_url(base_url)
        self.body_driver = body_driver  # how bodies are read (None: blocking reads)
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.read_timeouts = read_timeouts
        self.headers = dict(headers or {})
        self._transport = transport or default_transport()
        route = self._transport.route(self.origin)
        # Through a plain-HTTP proxy: absolute-form targets and the proxy's own headers.
        self._target_prefix = f"http://{self.origin.host_header}" if route.absolute_form else ""
        self._route_headers = route.headers
        self._idle: Connection | None = None
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
        opened = self._connect(connect_deadline_ns)
        try:
            response = self._exchange(opened.connection, payload, deadline_ns, opened)
        except _StaleConnection:
            close_quietly(opened.connection)
            raise TransportError(
                ErrorClass.STREAM_INCOMPLETE, "server closed the connection without answering"
            ) from None
        return response

    def _take_idle(self) -> tuple[Connection | None, str | None]:
        """The pooled connection if it is still good; else (None, why it was dropped):
        STALE when the server has closed it, EXPIRED when it is too near the keep-alive
        timeout the server announced to be trusted (None: there was none)."""
        sock, self._idle = self._idle, None
        if sock is None:
            return None, None
        if time.monotonic() >= self._idle_until:
            close_quietly(sock)
            return None, EXPIRED
        if not self._transport.usable(sock):
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
            if name.lower() in _NOT_SECRET:
                continue
            for secret in (value, value.split(" ", 1)[-1]):  # "Bearer KEY": the key too
                if len(secret) >= 4:
                    text = text.replace(secret, "***")
        return text

    def _release(self, sock: Connection, keep_alive_s: float | None) -> None:
        if self._idle is not None:
            close_quietly(self._idle)
        self._idle = sock
        limit = math.inf if keep_alive_s is None else keep_alive_s - KEEP_ALIVE_MARGIN_S
        self._idle_until = time.monotonic() + limit

    def _encode(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str] | None
    ) -> bytes:
        lines = [
            f"{method} {self._target_prefix}{self.origin.base_path}{path} HTTP/1.1",
            f"Host: {self.origin.host_header}",
            f"User-Agent: {_USER_AGENT}",
            "Accept-Encoding: identity",
        ]
        merged = {**self.headers, **self._route_headers, **(headers or {})}
        if body is not None:
            merged.setdefault("Content-Type", "application/json")
            merged["Content-Length"] = str(len(body))
        lines.extend(f"{k}: {v}" for k, v in merged.items())
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + body if body else head

    def _connect(self, deadline_ns: int) -> Opened:
        timeout = max(0.001, (deadline_ns - time.perf_counter_ns()) / 1e9)
        opened = self._transport.open(self.origin, timeout)
        self.connections_opened += 1
        return opened

    def _exchange(
        self, sock: Connection, payload: bytes, deadline_ns: int, opened: Opened | None
    ) -> Response:
        """Send and read the head; ``opened``: the new connection's costs (None: reused)."""
        reused = opened is None
        try:
            if deadline_ns:
                sock.settimeout(max(0.001, (deadline_ns - time.perf_counter_ns()) / 1e9))
            else:
                sock.settimeout(None)
            sock.sendall(payload)
            fresh_tls = opened is not None and opened.tls_ms is not None
            head, rest, t_ns = _read_head(sock, deadline_ns, reused, fresh_tls)
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
        if opened is not None:
            response.connect_ms, response.tls_ms = opened.connect_ms, opened.tls_ms
        return response


def _read_head(
    sock: Connection, deadline_ns: int, reused: bool, fresh_tls: bool = False
) -> tuple[bytes, bytes, int]:
    """The response head, the bytes after it and their receive time. ``fresh_tls``: the
    connection's handshake just ended, so a close before any answer is the server turning
    us down over TLS (servers that refuse a client certificate after a TLS 1.3 handshake
    often just close, without the alert that would say so)."""
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
            if fresh_tls and not buf:
                raise TransportError(
                    ErrorClass.TLS,
                    "TLS: the server closed the new connection without answering "
                    "(does it want a client certificate? --client-cert)",
                )
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
