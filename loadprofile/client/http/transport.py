"""The seam under the HTTP client: how a connection to an origin is opened, and what the
client needs of one.

The client's timing code (``client.py``, ``response.py``) only sends bytes and reads them
with their receive times; everything about getting a connection (address lookup, a proxy's
CONNECT tunnel, the TLS handshake, what each of them cost) is a ``Transport``'s. Tests
drive the client through a scripted transport without sockets, and another transport
(HTTP/2, a Unix socket) could be added without touching the timing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit


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

    @property
    def tls(self) -> bool:
        return self.scheme == "https"


class Connection(Protocol):
    """What the client does with a connection: a socket (plain or TLS), or a test's
    stand-in. Reads and sends block (cooperatively, under gevent)."""

    def sendall(self, data: bytes, /) -> None: ...

    def recv(self, size: int, /) -> bytes: ...

    def settimeout(self, value: float | None, /) -> None: ...

    def close(self) -> None: ...


@dataclass
class Opened:
    """A new connection and what getting it cost: ``connect_ms`` all of it (TCP, a proxy's
    tunnel, the TLS handshake), ``tls_ms`` the handshake's part (None without TLS)."""

    connection: Connection
    connect_ms: float
    tls_ms: float | None = None


@dataclass(frozen=True)
class Route:
    """How requests to an origin are written on a connection the transport opened: in
    absolute form with proxy headers for a plain-HTTP proxy, else as usual."""

    absolute_form: bool = False
    headers: dict[str, str] = field(default_factory=dict)


class Transport(Protocol):
    def route(self, origin: Origin) -> Route:
        """How requests to ``origin`` are written (fixed for the run)."""
        ...

    def open(self, origin: Origin, timeout_s: float) -> Opened:
        """A new connection to ``origin``; failures leave as ``TransportError`` (connect,
        timeout or tls) with a one-line reason."""
        ...

    def usable(self, connection: Connection) -> bool:
        """Whether an idle kept-alive connection can carry the next request (False when the
        server closed it); must neither send nor wait."""
        ...
