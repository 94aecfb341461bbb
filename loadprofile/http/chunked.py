"""Incremental decoder for HTTP/1.1 chunked transfer encoding (pure, no I/O)."""

from __future__ import annotations

import re

_MAX_SIZE_LINE = 1024
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")


class ChunkedError(ValueError):
    """The chunked framing is broken."""


class ChunkedDecoder:
    """Feed raw body bytes, get the payload bytes that became available.

    ``done`` turns True after the zero-size chunk and its trailer section.
    """

    __slots__ = ("_buf", "_remaining", "_state", "done")

    _SIZE, _DATA, _DATA_END, _TRAILER = range(4)

    def __init__(self) -> None:
        self._buf = b""
        self._state = self._SIZE
        self._remaining = 0
        self.done = False

    def feed(self, data: bytes) -> bytes:
        buf = self._buf + data if self._buf else data
        out: list[bytes] = []
        pos = 0
        while not self.done:
            advanced = self._step(buf, pos, out)
            if advanced == pos:
                break
            pos = advanced
        self._buf = buf[pos:]
        if self._state in (self._SIZE, self._TRAILER) and len(self._buf) > _MAX_SIZE_LINE:
            raise ChunkedError("chunk size line too long")
        return out[0] if len(out) == 1 else b"".join(out)

    def _step(self, buf: bytes, pos: int, out: list[bytes]) -> int:
        """Advance one framing element; returns the new position (unchanged: need more)."""
        state = self._state
        if state == self._DATA:
            take = min(self._remaining, len(buf) - pos)
            if take <= 0:
                return pos
            out.append(buf[pos : pos + take])
            self._remaining -= take
            if not self._remaining:
                self._state = self._DATA_END
            return pos + take
        if state == self._DATA_END:
            if len(buf) - pos < 2:
                return pos
            if buf[pos : pos + 2] != b"\r\n":
                raise ChunkedError("missing CRLF after chunk data")
            self._state = self._SIZE
            return pos + 2
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return pos
        if state == self._SIZE:
            self._start_chunk(buf[pos:eol])
        elif eol == pos:  # empty line ends the trailer section
            self.done = True
        return eol + 2

    def _start_chunk(self, line: bytes) -> None:
        size_text = line.split(b";", 1)[0].strip()
        if not _HEX.fullmatch(size_text):  # int() would take "0x5", "+5", "-0", "0_5"
            raise ChunkedError(f"bad chunk size {size_text[:20]!r}")
        size = int(size_text, 16)
        if size == 0:
            self._state = self._TRAILER
        else:
            self._remaining = size
            self._state = self._DATA
