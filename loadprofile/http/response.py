"""An HTTP/1.1 response read off a socket: status line, headers, and the body as it arrives
(chunked, sized or until close), each read with its receive time (pure socket I/O)."""

from __future__ import annotations

import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator

from loadprofile.http.chunked import ChunkedDecoder, ChunkedError
from loadprofile.http.connect import close_quietly
from loadprofile.results import ErrorClass

RECV_BYTES = 65536
_KEEP_ALIVE_TIMEOUT = re.compile(r"timeout=(\d+(?:\.\d+)?)")
#: Hands a finished keep-alive connection back to its client, with the server's announced
#: keep-alive timeout (None when it gave none).
Release = Callable[[socket.socket, float | None], None]


class TransportError(Exception):
    """A request failed below the API layer; ``error_class`` says how."""

    def __init__(self, error_class: ErrorClass, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class


class Response:
    """Status and headers of an answer; the body is read by iterating ``chunks()``."""

    def __init__(
        self,
        release: Release,
        sock: socket.socket,
        head: bytes,
        rest: bytes,
        t_ns: int,
        deadline_ns: int,
    ) -> None:
        self.status, self.reason, self.headers, self._keep_alive = parse_head(head)
        self._release = release
        self._sock: socket.socket | None = sock
        self._first = (rest, t_ns)
        self._deadline_ns = deadline_ns
        self.sent_ns = 0
        self.connect_ms: float | None = None
        self.keep_alive_s = keep_alive_timeout(self.headers.get("keep-alive", ""))

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def chunks(self) -> Iterator[tuple[bytes, int]]:
        """Body payload as it arrives, each piece with its receive time (perf_counter_ns)."""
        if self._sock is None:
            return
        if self.status in (204, 304) or 100 <= self.status < 200:
            self._finish()  # these never carry a body
        elif self.headers.get("transfer-encoding", "").lower().endswith("chunked"):
            yield from self._chunked()
        elif "content-length" in self.headers:
            yield from self._sized(self._content_length())
        else:
            yield from self._until_close()

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

    def _raw(self) -> Iterator[tuple[bytes, int]]:
        data, t_ns = self._first
        if data:
            yield data, t_ns
        while True:
            assert self._sock is not None
            data, t_ns = recv(self._sock, self._deadline_ns)
            if not data:
                return
            yield data, t_ns

    def _chunked(self) -> Iterator[tuple[bytes, int]]:
        decoder = ChunkedDecoder()
        try:
            for data, t_ns in self._raw():
                payload = decoder.feed(data)
                if payload:
                    yield payload, t_ns
                if decoder.done:
                    self._finish()
                    return
        except ChunkedError as exc:
            self.close()
            raise TransportError(ErrorClass.STREAM_MALFORMED, f"chunked framing: {exc}") from None
        self.close()
        raise TransportError(ErrorClass.STREAM_INCOMPLETE, "connection closed mid-body")

    def _sized(self, length: int) -> Iterator[tuple[bytes, int]]:
        remaining = length
        if remaining == 0:
            self._finish()
            return
        for data, t_ns in self._raw():
            data = data[:remaining]
            remaining -= len(data)
            yield data, t_ns
            if remaining <= 0:
                self._finish()
                return
        self.close()
        raise TransportError(ErrorClass.STREAM_INCOMPLETE, "connection closed mid-body")

    def _until_close(self) -> Iterator[tuple[bytes, int]]:
        self._keep_alive = False
        yield from self._raw()
        self.close()

    def _finish(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            if self._keep_alive:
                self._release(sock, self.keep_alive_s)
            else:
                close_quietly(sock)


def recv(sock: socket.socket, deadline_ns: int) -> tuple[bytes, int]:
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
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError) as exc:
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
            headers[name.strip().lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection and (
        parts[0] != "HTTP/1.0" or "keep-alive" in connection
    )
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers, keep_alive


def keep_alive_timeout(header: str) -> float | None:
    """``Keep-Alive: timeout=5, max=100`` -> 5.0 (None when the server does not say)."""
    match = _KEEP_ALIVE_TIMEOUT.search(header)
    return float(match.group(1)) if match else None
