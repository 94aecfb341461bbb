"""An HTTP/1.1 response read off a socket: status line, headers, and the body as it arrives
(chunked, sized or until close), each read with its receive time (pure socket I/O)."""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Protocol

from loadprofile.client.http.chunked import ChunkedDecoder, ChunkedError
from loadprofile.client.http.connect import close_quietly
from loadprofile.client.http.errors import TransportError
from loadprofile.client.http.tls import tls_failure
from loadprofile.client.http.transport import Connection
from loadprofile.core.results import ErrorClass

RECV_BYTES = 65536
_KEEP_ALIVE_TIMEOUT = re.compile(r"timeout=(\d+(?:\.\d+)?)")
#: Hands a finished keep-alive connection back to its client, with the server's announced
#: keep-alive timeout (None when it gave none).
Release = Callable[[Connection, float | None], None]


class BodyFramer:
    """Where a body ends, from its raw bytes (pure): chunked, sized, until the connection
    closes, or none at all. ``feed`` returns the payload that became available and sets
    ``done`` at the body's end; ``eof`` says whether the connection may close here."""

    __slots__ = ("_chunked", "_remaining", "done", "until_close")

    def __init__(self, *, chunked: bool = False, length: int | None = None) -> None:
        self._chunked = ChunkedDecoder() if chunked else None
        self._remaining = length or 0
        self.until_close = not chunked and length is None
        self.done = not chunked and length == 0

    def feed(self, data: bytes) -> bytes:
        """The payload in ``data``; raises TransportError on broken chunked framing."""
        if self._chunked is not None:
            try:
                payload = self._chunked.feed(data)
            except ChunkedError as exc:
                raise TransportError(
                    ErrorClass.STREAM_MALFORMED, f"chunked framing: {exc}"
                ) from None
            self.done = self._chunked.done
            return payload
        if self.until_close:
            return data
        data = data[: self._remaining]
        self._remaining -= len(data)
        self.done = self._remaining <= 0
        return data

    def eof(self) -> None:
        """The connection closed: the end of an until-close body, else a cut-off one."""
        if not self.until_close and not self.done:
            raise TransportError(ErrorClass.STREAM_INCOMPLETE, "connection closed mid-body")


#: Called with every piece of payload and its receive time (perf_counter_ns).
BodySink = Callable[[bytes, int], None]
#: Called with every read (``b""``: the connection closed) and its receive time; True when
#: the body is complete.
OnBytes = Callable[[bytes, int], bool]


class BodyDriver(Protocol):
    """How a body is read off its socket: blocking reads here; the load generator reads
    from its event loop's callbacks instead (``hub_reader.HubDriver``)."""

    def run(self, sock: Connection, deadline_ns: int, on_bytes: OnBytes) -> None:
        """Read until ``on_bytes`` returns True; errors leave as TransportError, and what
        ``on_bytes`` raises leaves as it is."""
        ...


class BlockingDriver:
    def run(self, sock: Connection, deadline_ns: int, on_bytes: OnBytes) -> None:
        while True:
            data, t_ns = recv(sock, deadline_ns)
            if on_bytes(data, t_ns) or not data:
                return


class Response:
    """Status and headers of an answer; the body is read by iterating ``chunks()`` or
    handed to a sink as it arrives by ``deliver``."""

    __slots__ = (
        "_deadline_ns",
        "_first",
        "_keep_alive",
        "_release",
        "_sock",
        "connect_ms",
        "headers",
        "keep_alive_s",
        "reason",
        "status",
        "tls_ms",
    )

    def __init__(
        self,
        release: Release,
        sock: Connection,
        head: bytes,
        rest: bytes,
        t_ns: int,
        deadline_ns: int,
    ) -> None:
        self.status, self.reason, self.headers, self._keep_alive = parse_head(head)
        self._release = release
        self._sock: Connection | None = sock
        self._first = (rest, t_ns)
        self._deadline_ns = deadline_ns
        self.connect_ms: float | None = None  # set for a request on a new connection
        self.tls_ms: float | None = None  # its TLS handshake's part
        ka = self.headers.get("keep-alive")
        self.keep_alive_s = keep_alive_timeout(ka) if ka else None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def chunks(self) -> Iterator[tuple[bytes, int]]:
        """Body payload as it arrives, each piece with its receive time (perf_counter_ns)."""
        framer = self._framer()
        if framer is None:
            return
        pieces: list[tuple[bytes, int]] = []

        def collect(data: bytes, t_ns: int) -> None:
            pieces.append((data, t_ns))

        data, t_ns = self._first
        over = bool(data) and self._take(framer, data, t_ns, collect)
        while True:
            yield from pieces
            pieces.clear()
            if over:
                return
            assert self._sock is not None
            data, t_ns = recv(self._sock, self._deadline_ns)
            over = self._take(framer, data, t_ns, collect)

    def deliver(self, sink: BodySink, driver: BodyDriver | None = None) -> None:
        """Hand the body to ``sink`` piece by piece as it arrives (``driver`` reads the
        socket: blocking reads by default); returns at its end. What ``sink`` raises
        leaves as it is, after the connection is given up."""
        framer = self._framer()
        if framer is None:
            return

        def on_bytes(data: bytes, t_ns: int) -> bool:
            return self._take(framer, data, t_ns, sink)

        try:
            first, t_ns = self._first
            if first and on_bytes(first, t_ns):
                return
            assert self._sock is not None
            (driver or _BLOCKING).run(self._sock, self._deadline_ns, on_bytes)
        except BaseException:
            self.close()  # whatever is left of the body is unusable
            raise

    def _framer(self) -> BodyFramer | None:
        """The framing of this body; None when there is none to read (done already)."""
        if self._sock is None:
            return None
        if self.status in (204, 304) or 100 <= self.status < 200:
            self._finish()  # these never carry a body
            return None
        if self.headers.get("transfer-encoding", "").lower().endswith("chunked"):
            return BodyFramer(chunked=True)
        if "content-length" in self.headers:
            framer = BodyFramer(length=self._content_length())
            if framer.done:
                self._finish()
                return None
            return framer
        self._keep_alive = False
        return BodyFramer()

    def _take(self, framer: BodyFramer, data: bytes, t_ns: int, sink: BodySink) -> bool:
        """One read through the framer into ``sink``; True when the body is over (the
        connection then released, or closed)."""
        if not data:
            self.close()
            framer.eof()
            return True
        try:
            payload = framer.feed(data)
        except TransportError:
            self.close()
            raise
        if payload:
            sink(payload, t_ns)
        if framer.done:
            self._finish()
            return True
        return False

    def _content_length(self) -> int:
        text = self.headers["content-length"]
        if not text.isdigit():
            self.close()
            raise TransportError(ErrorClass.STREAM_MALFORMED, f"bad Content-Length {text[:20]!r}")
        return int(text)

    def read(self, limit: int = 1 << 20) -> bytes:
        """The whole body (for errors and non-streamed answers), at most ``limit`` bytes."""
        parts: list[bytes] = []
        size = 0
        for data, _ in self.chunks():
            parts.append(data)
            size += len(data)
            if size >= limit:
                self.close()
                break
        return b"".join(parts)[:limit]

    def close(self) -> None:
        """Abandon the body: the connection cannot be reused."""
        if self._sock is not None:
            close_quietly(self._sock)
            self._sock = None

    def _finish(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            if self._keep_alive:
                self._release(sock, self.keep_alive_s)
            else:
                close_quietly(sock)


_BLOCKING = BlockingDriver()


def recv(sock: Connection, deadline_ns: int) -> tuple[bytes, int]:
    """One read; ``deadline_ns`` 0 means the caller enforces the deadline."""
    try:
        if deadline_ns:
            remaining = (deadline_ns - time.perf_counter_ns()) / 1e9
            if remaining <= 0:
                raise TransportError(ErrorClass.TIMEOUT, "request timed out")
            sock.settimeout(remaining)
        data = sock.recv(RECV_BYTES)
    except TimeoutError:
        raise TransportError(ErrorClass.TIMEOUT, "request timed out") from None
    except ssl.SSLError as exc:
        # TLS 1.3 servers refuse a client certificate after the handshake: at the first read
        if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
            raise TransportError(ErrorClass.STREAM_INCOMPLETE, f"connection lost: {exc}") from None
        raise TransportError(*tls_failure(exc)) from None
    except (ConnectionResetError, BrokenPipeError) as exc:
        raise TransportError(ErrorClass.STREAM_INCOMPLETE, f"connection lost: {exc}") from None
    except OSError as exc:
        raise TransportError(ErrorClass.STREAM_INCOMPLETE, f"receive failed: {exc}") from None
    return data, time.perf_counter_ns()


def parse_head(head: bytes) -> tuple[int, str, dict[str, str], bool]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise TransportError(ErrorClass.STREAM_MALFORMED, f"bad status line {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key, value = name.strip().lower(), value.strip()
            # A repeated field is one list (RFC 9110 5.3): every value kept, in order.
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection and (
        parts[0] != "HTTP/1.0" or "keep-alive" in connection
    )
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers, keep_alive


def keep_alive_timeout(header: str) -> float | None:
    """``Keep-Alive: timeout=5, max=100`` -> 5.0 (None when the server does not say)."""
    match = _KEEP_ALIVE_TIMEOUT.search(header)
    return float(match.group(1)) if match else None
