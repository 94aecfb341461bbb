"""Writing a reply's content chunks on time, from event-loop callbacks (the mock's hot loop).

A coroutine that sleeps before every chunk costs a future, a timer, a task switch and a
few coroutine frames per token; at 100 streams of 8 ms tokens that made the mock's loop
~50 % busy, and a busy loop reads new requests late (a delay its record cannot show, so
the client looks slower than it is). Here each chunk is one timer callback that writes
the pre-encoded bytes straight to the transport (chunked framing added here) and stamps
the write, and the handler awaits one future for the whole stream.

Timing follows the service clock of ``Freeze`` as before: while the server is frozen the
next write waits for the thaw, and the gaps after it keep their lengths.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import cast

from loadprofile.mock.state import Freeze, Record


def frame(data: bytes) -> bytes:
    """``data`` as one chunk of a chunked HTTP body."""
    return b"%x\r\n%b\r\n" % (len(data), data)


def write_chunk(transport: asyncio.BaseTransport | None, data: bytes) -> None:
    """One chunk written straight to the transport (aiohttp's ``StreamResponse.write`` costs
    several Python calls and a drain check per token; a stream's chunks are small, so
    flow control is moot). The closing events still go through ``write_eof``."""
    if transport is None or transport.is_closing():
        raise ConnectionResetError("the client went away")
    # aiohttp types a request's transport as the base class; a TCP transport writes.
    cast(asyncio.WriteTransport, transport).write(frame(data))


class ContentPacer:
    """Writes ``chunks[i]`` when the service clock reaches ``due_ns[i]``; ``extra`` maps a
    chunk index to bytes written right after it (a malformed event), ``cut_after`` stops
    after that many chunks (a truncated stream). ``done`` resolves to True when every
    chunk is out, False when cut, or to the write's exception."""

    def __init__(
        self,
        transport: asyncio.BaseTransport | None,
        freeze: Freeze,
        chunks: Sequence[bytes],
        due_ns: Sequence[int],
        rec: Record,
        *,
        extra: dict[int, bytes] | None = None,
        cut_after: int | None = None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._transport = transport
        self._freeze = freeze
        self._chunks = chunks
        self._due_ns = due_ns
        self._rec = rec
        self._extra = extra or {}
        self._cut_after = cut_after
        self._next = 0
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self.done: asyncio.Future[bool] = self._loop.create_future()

    def start(self) -> None:
        self._step()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _step(self) -> None:
        """Write every chunk that is due (and past any freeze), then wait for the next."""
        self._timer = None
        try:
            while self._next < len(self._chunks):
                now_ns = time.perf_counter_ns()
                freeze = self._freeze
                if freeze.is_frozen(now_ns):
                    wait_ns = freeze.until_ns - now_ns
                else:
                    wait_ns = self._due_ns[self._next] - freeze.service_ns(now_ns)
                if wait_ns > 0:
                    self._timer = self._loop.call_later(wait_ns / 1e9, self._step)
                    return
                if self._write(self._next):
                    return
            self._finish(True)
        except Exception as exc:  # the transport failed: the handler sees it
            if not self.done.done():
                self.done.set_exception(exc)

    def _write(self, index: int) -> bool:
        """Write chunk ``index``; True when the stream ends here (cut). Stamped just before
        the write: no byte of it can reach a client earlier (a client stamping arrival in the
        kernel, as loadprofile does, would otherwise seem to beat the server's record)."""
        rec = self._rec
        rec.token_ns.append(time.perf_counter_ns())
        write_chunk(self._transport, self._chunks[index])
        if index == 0:
            rec.first_content_ns = rec.token_ns[0]
        rec.output_tokens = sent = index + 1
        self._next = sent
        if sent in self._extra:
            write_chunk(self._transport, self._extra[sent])
        elif sent == self._cut_after:
            self._finish(False)
            return True
        return False

    def _finish(self, complete: bool) -> None:
        if not self.done.done():
            self.done.set_result(complete)
