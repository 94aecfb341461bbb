"""Incremental Server-Sent Events parser: bytes in, events out, no I/O.

Lines end at CR, LF or CRLF (a CR at the end of one read and its LF at the start of the
next are one line end). Lines are split at the byte level, and only ASCII bytes end a line,
so a UTF-8 character split across reads is simply kept in the buffer until its line is
complete: event data is handed out as bytes and decoded by whoever parses it.
"""

from __future__ import annotations

from typing import NamedTuple

_BOM = b"\xef\xbb\xbf"


class SSEEvent(NamedTuple):
    """One dispatched event: its type ("message" unless named) and its joined data lines."""

    event: str
    data: bytes


class SSEParser:
    """Feed it bytes as they arrive; it returns the events that became complete."""

    __slots__ = ("_buf", "_data", "_event", "_pending_cr", "_started")

    def __init__(self) -> None:
        self._buf = b""
        self._data: list[bytes] = []
        self._event = ""
        self._pending_cr = False
        self._started = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if not chunk:
            return []
        if not self._started:
            self._started = True
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
        if self._pending_cr:
            self._pending_cr = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        if b"\r" in chunk:
            if chunk.endswith(b"\r"):
                # The LF of this CRLF may be the first byte of the next read.
                self._pending_cr = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buf = self._buf + chunk if self._buf else chunk
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        events: list[SSEEvent] = []
        data = self._data
        # The usual lines inline (this runs for every read of every stream): "data: ..."
        # and the blank line that dispatches; the rest goes through _line.
        for line in lines:
            if not line:
                if data:
                    self._dispatch(events)
                    data = self._data
                else:
                    self._event = ""
            elif line.startswith(b"data: "):
                data.append(line[6:])
            else:
                self._line(line, events)
                data = self._data
        return events

    def flush(self) -> list[SSEEvent]:
        """End of stream: a last line without its newline and an undispatched event count."""
        events: list[SSEEvent] = []
        if self._buf:
            self._line(self._buf, events)
            self._buf = b""
        self._dispatch(events)
        return events

    @property
    def has_pending(self) -> bool:
        """True when bytes of an unfinished event are buffered (a cut-off stream)."""
        return bool(self._buf or self._data)

    def _line(self, line: bytes, events: list[SSEEvent]) -> None:
        if not line:
            self._dispatch(events)
            return
        if line[0] == 0x3A:  # ":" starts a comment (keep-alive pings)
            return
        name, sep, value = line.partition(b":")
        if sep and value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        # "id" and "retry" do not matter to a one-shot stream; unknown fields are ignored.

    def _dispatch(self, events: list[SSEEvent]) -> None:
        if self._data:
            data = self._data[0] if len(self._data) == 1 else b"\n".join(self._data)
            events.append(SSEEvent(self._event or "message", data))
        self._data = []
        self._event = ""
