"""A worker of a distributed run (Locust glue): runs its share, sends packets to the master.

The worker needs nothing but the master's address: it says hello (with its loadprofile
version), receives the run from the master, and becomes an ordinary ``RunSession`` whose
sink is this link instead of a run folder. Each closed interval goes out as a packet with
its sequence number and stays in the outbox until the master acknowledges it; overdue
ones are resent. On the master's drain (or Locust's stop) it finishes the requests in
flight, sends its final packet with its whole-run counts, and waits, bounded, until the
master has everything. The final packet is always the last the master gets: the master
takes any packet after it for the worker running again, and waits for another final one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import time
from typing import Any

import gevent
import gevent.event
from locust.exception import RPCError
from locust.rpc import Message
from locust.runners import WorkerRunner

from loadprofile import __version__
from loadprofile.client.http.reach import use_reach
from loadprofile.core.collector import ModelInterval
from loadprofile.core.generator_health import GeneratorSample
from loadprofile.core.open_loop import FleetShare
from loadprofile.core.results import RequestResult
from loadprofile.core.steps import Steps
from loadprofile.engine.active import set_active
from loadprofile.engine.fleet.wire import (
    ACK,
    CONFIG,
    DRAIN,
    HELLO,
    PACKET,
    REFUSE,
    START,
    Outbox,
    Packet,
    config_from_wire,
    conversations_from_wire,
    encode_packet,
)
from loadprofile.engine.session import RunSession
from loadprofile.errors import LoadprofileError
from loadprofile.rundir.writer import request_row

log = logging.getLogger("loadprofile")

#: Hellos, one a second, before a worker stops asking (Locust's own connect gives up
#: after five minutes too).
HELLO_TRIES = 300
#: After the final packet, how long a worker waits for the master to acknowledge everything.
FINAL_ACK_WAIT_S = 10.0


class WorkerLink:
    def __init__(self, runner: WorkerRunner) -> None:
        self.runner = runner
        self.outbox = Outbox()
        self.session: RunSession | None = None
        self.configured = gevent.event.Event()
        self.finished = gevent.event.Event()
        self._rows: list[list[str]] = []
        self._examples: list[dict[str, Any]] = []
        self._first_seq: int | None = None
        self._last_seq = -1
        self._final: dict[str, Any] | None = None  # the final packet, once sent
        self._finishing = False
        runner.register_message(CONFIG, self._on_config)
        runner.register_message(START, self._on_start)
        runner.register_message(ACK, self._on_ack)
        runner.register_message(REFUSE, self._on_refuse)
        # The drain waits for requests in flight: off the message loop, which must go on
        # receiving acks and heartbeats meanwhile.
        runner.register_message(DRAIN, self._on_drain, concurrent=True)
        # Locust's own stop, had the master not asked for a drain first: send what is left.
        runner.environment.events.test_stopping.add_listener(self._on_locust_stopping)

    def hello(self) -> None:
        """Say hello until the master answers: it may not listen for loadprofile's messages
        yet when Locust has connected us (plain Locust forks workers before its own init)."""
        data = {"version": __version__, "host": socket.gethostname(), "pid": os.getpid()}

        def repeat() -> None:
            for _ in range(HELLO_TRIES):
                self._send(HELLO, data)
                if self.configured.wait(timeout=1.0):
                    return

        gevent.spawn(repeat)

    def _send(self, kind: str, data: dict[str, Any]) -> bool:
        try:
            self.runner.send_message(kind, data)
            return True
        except RPCError as exc:  # the outbox resends packets; a hello is repeated by Locust
            log.warning("loadprofile: could not reach the master (%s); will retry", exc)
            return False

    # -- messages from the master ----------------------------------------------------------
    def _on_config(self, environment: Any, msg: Any, **_: Any) -> None:
        if self.session is not None:
            return
        data = msg.data
        try:
            config = config_from_wire(data["config"])
            conversations = conversations_from_wire(data["conversations"])
            use_reach(config.reach)  # this machine's own TLS context, from the same files
        except (KeyError, ValueError, LoadprofileError) as exc:
            self._quit(f"the master sent a run this worker cannot read: {exc}")
            return
        meta: dict[str, Any] = dict(data.get("meta") or {})
        self.session = RunSession(config, conversations, meta, uplink=self)
        if data.get("start"):
            self._apply_start(data["start"])
        set_active(self.session)
        self.configured.set()

    def _on_start(self, environment: Any, msg: Any, **_: Any) -> None:
        self._apply_start(msg.data)

    def _apply_start(self, data: dict[str, Any]) -> None:
        """The run's clock and this worker's share. A worker that joined a running run has
        no share of the arrival schedule (index == count): it gets users, not arrivals."""
        if self.session is None:
            return
        count = max(1, int(data.get("count") or 1))
        share = data.get("shares", {}).get(self.runner.client_id)
        self.session.run_start_unix = float(data["start_unix"])
        self.session.share = FleetShare(*share) if share else FleetShare(count, count)

    def _on_ack(self, environment: Any, msg: Any, **_: Any) -> None:
        self.outbox.ack(int(msg.data["upto"]))

    def _on_refuse(self, environment: Any, msg: Any, **_: Any) -> None:
        self._quit(str(msg.data.get("reason") or "refused by the master"))

    def _on_drain(self, environment: Any, msg: Any, **_: Any) -> None:
        self.finish(float(msg.data.get("timeout_s", 30.0)))

    def _on_locust_stopping(self, environment: Any, **_: Any) -> None:
        # On Locust's message loop: no waiting for acks, which that loop would deliver.
        self.finish(float(environment.stop_timeout or 0.0), wait_acks=False)

    def _quit(self, reason: str) -> None:
        """Leave the run at once (exit code 2): nothing was measured here yet."""
        print(f"loadprofile: error: {reason}", file=sys.stderr, flush=True)
        with contextlib.suppress(RPCError):
            self.runner.client.send(Message("quit", None, self.runner.client_id))
        gevent.sleep(0.2)
        os._exit(2)

    # -- the session's sink ----------------------------------------------------------------
    def add_request(self, result: RequestResult) -> None:
        assert self.session is not None
        self._rows.append(request_row(result, self.session.start_unix))

    def add_contract_example(self, example: dict[str, Any]) -> None:
        self._examples.append(example)

    def interval_steps(
        self,
        start_s: float,
        end_s: float,
        intervals: Steps,
        users: dict[str, int],
        sample: GeneratorSample | None,
        final: bool = False,
    ) -> Steps:
        """One packet per interval (``final``: the last, with the whole-run counts): the
        rows finished up to the close go with it, taken now; its histograms are built,
        the packet encoded and sent (and overdue ones again) in slices later."""
        rows, examples = self._rows, self._examples
        self._rows, self._examples = [], []
        return self._packet_steps(start_s, end_s, intervals, users, sample, final, rows, examples)

    def _packet_steps(
        self,
        start_s: float,
        end_s: float,
        intervals: Steps,
        users: dict[str, int],
        sample: GeneratorSample | None,
        final: bool,
        rows: list[list[str]],
        examples: list[dict[str, Any]],
    ) -> Steps:
        built: list[ModelInterval] = yield from intervals
        session = self.session
        assert session is not None
        if self._final is not None:  # nothing follows the final packet (its rows are late)
            log.debug("loadprofile: an interval after the final packet is not sent")
            return
        interval = session.config.load.interval_s
        seq = max(int((start_s + end_s) / 2.0 // interval), self._last_seq + 1)
        if self._first_seq is None:
            self._first_seq = seq
        self._last_seq = seq
        packet = Packet(
            seq,
            self._first_seq,
            start_s,
            end_s,
            built,
            users,
            sample,
            rows,
            final,
            self._final_stats() if final else {},
            examples,
        )
        yield
        wire = encode_packet(packet)
        now = time.monotonic()
        self._resend(self.outbox.overdue(now))  # before the new one: the final one goes last
        self.outbox.put(seq, wire, now)
        if final:
            self._final = wire
        self._send(PACKET, wire)

    def _resend(self, overdue: list[dict[str, Any]]) -> None:
        """Send again, oldest first; after the final packet, that one again last, whether
        or not it is overdue itself (the master takes a packet after it for the worker
        running again)."""
        final = self._final
        if (
            final is not None
            and overdue
            and overdue[-1] is not final
            and self.outbox.acked_upto < final["seq"]
        ):
            overdue.append(final)
        for wire in overdue:
            self._send(PACKET, wire)

    def _final_stats(self) -> dict[str, Any]:
        session = self.session
        assert session is not None
        stats: dict[str, Any] = {
            "walked": session.walked(),
            "arrivals_not_sent": session.arrivals.not_sent,
            "unfinished_at_stop": session.unfinished_at_stop,
            "interrupted_by": session.interrupted_by,
            "resent_packets": self.outbox.resent,
            "warnings": session.meta.get("warnings", []),
            "samples": session.sampler.samples(),
        }
        if "arrivals_start_s" in session.meta:
            stats["arrivals_start_s"] = session.meta["arrivals_start_s"]
        return stats

    def finish(self, timeout_s: float, *, wait_acks: bool = True) -> None:
        """Drain, send the final packet, wait (bounded) until the master has every packet."""
        session = self.session
        if session is None or self._finishing:
            if wait_acks:
                self.finished.wait(timeout=timeout_s + FINAL_ACK_WAIT_S)
            return
        self._finishing = True
        try:
            if session.started:
                session.drain(timeout_s)
                session.close()  # its last tick sends the final packet
            deadline = time.monotonic() + (FINAL_ACK_WAIT_S if wait_acks else 0.0)
            while self.outbox.pending and time.monotonic() < deadline:
                gevent.sleep(0.1)
                self._resend(self.outbox.overdue(time.monotonic(), after_s=1.0))
        finally:
            self.finished.set()
