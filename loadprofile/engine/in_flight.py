"""The requests a run still owes an answer: in flight, or a failed attempt backing off before
its retry. The drain waits for them; those still running when it gives up are recorded as
timeouts with what had arrived, and their late end is then ignored (never counted twice)."""

from __future__ import annotations

from loadprofile.core.results import ErrorClass, RequestResult, keep_what_arrived


class InFlight:
    def __init__(self) -> None:
        self._running: dict[int, RequestResult] = {}
        self._held: dict[int, RequestResult] = {}  # failed attempts waiting for their retry
        self._abandoned: set[int] = set()

    def begin(self, result: RequestResult) -> None:
        self._running[id(result)] = result

    def end(self, result: RequestResult) -> bool:
        """The request is over; False when the stop already recorded it as a timeout."""
        key = id(result)
        self._running.pop(key, None)
        if key in self._abandoned:
            self._abandoned.discard(key)
            return False
        return True

    def hold(self, result: RequestResult) -> None:
        """A failed attempt backs off before its retry: the drain waits for it too."""
        self._held[id(result)] = result

    def release(self, result: RequestResult) -> bool:
        """The backoff is over; False when the stop already recorded the attempt."""
        return self._held.pop(id(result), None) is not None

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def owed(self) -> bool:
        """Anything the drain still waits for."""
        return bool(self._running or self._held)

    def abandon(self, now_ns: int) -> tuple[list[RequestResult], list[RequestResult]]:
        """At the drain's end: (the requests still running, marked as timeouts with what had
        arrived and timed to now; the held attempts, as they failed)."""
        cut = []
        for key, result in list(self._running.items()):
            self._abandoned.add(key)
            del self._running[key]
            result.error_class = ErrorClass.TIMEOUT
            result.error = "still running when the run stopped (see --stop-timeout)"
            keep_what_arrived(result, now_ns)
            if result.sent_ns:
                result.e2e_service_ms = (now_ns - result.sent_ns) / 1e6
                result.e2e_ms = (now_ns - (result.scheduled_ns or result.sent_ns)) / 1e6
            cut.append(result)
        held = [self._held.pop(key) for key in list(self._held)]
        return cut, held
