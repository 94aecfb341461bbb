"""Incremental decoder for HTTP/1.1 chunked transfer encoding (pure, no I/O).

It runs once per read of every stream, so its loop keeps its state in locals and checks a
plain hex size line with one C call (``bytes.strip``); anything else (extensions, spaces)
takes the careful path.
"""

from __future__ import annotations

import re

_MAX_SIZE_LINE = 1024
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_SIZE, _DATA, _DATA_END, _TRAILER = range(4)


class ChunkedError(ValueError):
    """The chunked framing is broken."""


def chunk_size(line: bytes) -> int:
    """The size on a chunk's size line (extensions after ';' ignored); raises ChunkedError."""
    if 0 < len(line) <= 16 and not line.strip(_HEX_DIGITS):
        return int(line, 16)  # the usual line: hex digits only
    size_text = line.split(b";", 1)[0].strip()
    if not _HEX.fullmatch(size_text):  # int() would take "0x5", "+5", "-0", "0_5"
        raise ChunkedError(f"bad chunk size {size_text[:20]!r}")
    return int(size_text, 16)


class ChunkedDecoder:
    """Feed raw body bytes, get the payload bytes that became available.

    ``done`` turns True after the zero-size chunk and its trailer section.
    """

    __slots__ = ("_buf", "_remaining", "_state", "done")

    def __init__(self) -> None:
        self._buf = b""
        self._state = _SIZE
        self._remaining = 0
        self.done = False

    def feed(self, data: bytes) -> bytes:
        buf = self._buf + data if self._buf else data
        end = len(buf)
        out: list[bytes] = []
        pos = 0
        state, remaining = self._state, self._remaining
        while pos < end:
            if state == _DATA:
                take = end - pos
                if take < remaining:
                    out.append(buf[pos:] if pos else buf)
                    remaining -= take
                    pos = end
                    break
                out.append(buf[pos : pos + remaining])
                pos += remaining
                remaining = 0
                state = _DATA_END
            elif state == _DATA_END:
                if end - pos < 2:
                    break
                if buf[pos] != 13 or buf[pos + 1] != 10:
                    raise ChunkedError("missing CRLF after chunk data")
                pos += 2
                state = _SIZE
            else:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    break
                if state == _SIZE:
                    remaining = chunk_size(buf[pos:eol])
                    state = _DATA if remaining else _TRAILER
                elif eol == pos:  # the empty line that ends the trailer section
                    self.done = True
                    pos = eol + 2
                    break
                pos = eol + 2
        self._state, self._remaining = state, remaining
        self._buf = buf[pos:] if pos < end else b""
        if state in (_SIZE, _TRAILER) and len(self._buf) > _MAX_SIZE_LINE:
            raise ChunkedError("chunk size line too long")
        if not out:
            return b""
        return out[0] if len(out) == 1 else b"".join(out)
