"""The master of a distributed run (Locust glue): no users, one run folder for the fleet.

Locust's master hands users to the workers; this session rides on its messaging. A worker
says hello with its loadprofile version (a different one is refused), gets the run (config,
conversations, run id), and at the start its share of the run and the run's clock. From
then on it sends one packet per interval; the master keeps each once, acknowledges it, and
writes every interval once all workers still expected have sent it (``FleetMerger``).

The end is an explicit handshake, since Locust's own final report is best effort: the
master tells every worker to drain, and waits (bounded) for each one's final packet and
everything before it. A worker that goes missing meanwhile is reported, its data so far is
kept, and the run is marked partial.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
from locust.runners import STATE_MISSING, MasterRunner

from loadprofile import __version__
from loadprofile.config.run_config import RunConfig
from loadprofile.contract.summary import Summary
from loadprofile.core.collector import Collector
from loadprofile.core.generator_health import GeneratorSample
from loadprofile.core.loadplan import LoadPlan, build_plan
from loadprofile.core.phases import phase_index
from loadprofile.core.recent import RecentWindow
from loadprofile.core.user_mix import note_dataset_passes
from loadprofile.dataset.conversations import Conversation
from loadprofile.engine.fleet.merge import (
    COMPLETE,
    LOST,
    REFUSED,
    RUNNING,
    FleetMerger,
    MergedInterval,
    WorkerLedger,
)
from loadprofile.engine.fleet.wire import (
    ACK,
    CONFIG,
    DRAIN,
    HELLO,
    PACKET,
    REFUSE,
    START,
    config_to_wire,
    conversations_to_wire,
    decode_packet,
)
from loadprofile.engine.session_api import TickCallback
from loadprofile.rundir.recorder import RunRecorder

Warn = Callable[[str], None]

#: After the drain's own timeout, how long the master waits for the workers' last packets.
FINAL_PACKET_GRACE_S = 15.0


class MasterSession:
    def __init__(
        self,
        config: RunConfig,
        conversations: list[Conversation],
        meta: dict[str, Any],
        recorder: RunRecorder,
        *,
        on_tick: TickCallback | None = None,
        warn: Warn | None = None,
    ) -> None:
        self.config = config
        self.conversations = conversations
        self.meta = meta
        self.plan: LoadPlan = build_plan(config.load)
        self.meta["phases"] = [phase.to_json() for phase in self.plan.phases]
        self.recorder = recorder
        recorder.phases = list(self.plan.phases)
        self.on_tick = on_tick
        self.warn = warn or (lambda text: None)
        self.merger = FleetMerger()
        self.workers: dict[str, WorkerLedger] = {}
        self.runner: MasterRunner | None = None
        self.start_unix = time.time()
        self.start_ns = time.perf_counter_ns()
        self.collector = self._new_collector()
        self.users: Counter[str] = Counter()  # the fleet's users per model, last interval
        self.load_end_ns: int | None = None
        self.started = self.stopping = self.finished = self.force_stop = False
        self.interrupted_by: str | None = None
        self.summary: Summary | None = None
        self._ticker: gevent.Greenlet | None = None
        self._config_wire = {
            "version": __version__,
            "config": config_to_wire(config),
            "conversations": conversations_to_wire(conversations),
            "meta": {
                "run_id": meta["run_id"],
                "load": meta.get("load", {}),
                "target": meta.get("target", {}),
            },
        }
        self._cpu_mark = (time.perf_counter(), time.process_time())

    def _new_collector(self) -> Collector:
        return Collector(self.start_ns, phase_of=lambda t: phase_index(self.plan.phases, t))

    @property
    def run_dir(self) -> Path:
        return self.recorder.run_dir

    @property
    def recent(self) -> RecentWindow:
        return self.recorder.recent

    @property
    def last_generator_sample(self) -> GeneratorSample | None:
        return self.recorder.last_generator_sample

    @property
    def elapsed_s(self) -> float:
        return (time.perf_counter_ns() - self.start_ns) / 1e9

    @property
    def in_flight(self) -> int:
        return 0  # the workers drain their own

    @property
    def stable(self) -> bool:
        """--until-stable is refused with workers (config/fleet_options.py)."""
        return False

    @property
    def budget_spent(self) -> bool:
        """-n: every request of the budget is back from the workers (each stops sending at
        its share; the master learns of the last ones with the workers' next intervals)."""
        budget = self.config.load.max_requests
        if budget is None:
            return False
        return sum(t.counts.requests for t in self.collector.totals.values()) >= budget

    # -- Locust messaging ------------------------------------------------------------------
    def attach(self, runner: MasterRunner) -> None:
        self.runner = runner
        runner.register_message(HELLO, self._on_hello)
        runner.register_message(PACKET, self._on_packet)

    def _send(self, kind: str, data: dict[str, Any], client_id: str) -> None:
        assert self.runner is not None
        self.runner.send_message(kind, data, client_id=client_id)

    def _on_hello(self, environment: Any, msg: Any, **_: Any) -> None:
        data = msg.data or {}
        known = self.workers.get(msg.node_id)
        if known is not None:  # a repeated hello: our answer was lost or not yet there
            if known.status == REFUSED:
                self._send(REFUSE, {"reason": f"this worker {known.note}"}, msg.node_id)
            else:
                self._send(CONFIG, self._config_for_worker(), msg.node_id)
            return
        ledger = WorkerLedger(
            msg.node_id,
            index=len(self.workers),
            host=str(data.get("host")),
            pid=int(data.get("pid") or 0),
            version=str(data.get("version")),
        )
        self.workers[msg.node_id] = ledger
        if ledger.version != __version__:
            ledger.status = REFUSED
            ledger.note = (
                f"runs loadprofile {ledger.version}, the master {__version__}: "
                "install the same version on every machine"
            )
            self.warn(f"worker {ledger.host} (pid {ledger.pid}) refused: {ledger.note}")
            self._send(REFUSE, {"reason": f"this worker {ledger.note}"}, msg.node_id)
            return
        self._send(CONFIG, self._config_for_worker(), msg.node_id)

    def _config_for_worker(self) -> dict[str, Any]:
        wire = dict(self._config_wire)
        if self.started:  # a worker joining a running run: the run's clock, no arrivals
            wire["start"] = self._start_message(late=True)
        return wire

    def _on_packet(self, environment: Any, msg: Any, **_: Any) -> None:
        ledger = self.workers.get(msg.node_id)
        if ledger is None or ledger.status == REFUSED:
            return
        try:
            packet = decode_packet(msg.data)
        except ValueError as exc:
            self.warn(f"worker {ledger.host} (pid {ledger.pid}) sent a bad packet: {exc}")
            return
        if self.merger.add(ledger, packet, time.time()):
            self.recorder.add_request_rows(packet.rows)
            for example in packet.examples:
                self.recorder.add_contract_example(example)
        if packet.final and ledger.status != LOST:  # once lost, its users were gone a while
            ledger.status = COMPLETE if not packet.stats.get("interrupted_by") else "interrupted"
        elif ledger.status not in (LOST, COMPLETE, "interrupted"):
            ledger.status = RUNNING  # a late or repeated packet never un-finishes a worker
        self._send(ACK, {"upto": ledger.ack_upto()}, msg.node_id)

    def accepted(self) -> list[WorkerLedger]:
        return [w for w in self.workers.values() if w.status != REFUSED]

    def wait_for_workers(self, count: int, timeout_s: float) -> int:
        """Wait until ``count`` workers said hello with our version (and refused ones left
        Locust's list, so no users go to them); returns how many there are."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self.force_stop:
            if len(self.accepted()) >= count and self._refused_gone():
                break
            gevent.sleep(0.1)
        return len(self.accepted())

    def _refused_gone(self) -> bool:
        assert self.runner is not None
        refused = {w.client_id for w in self.workers.values() if w.status == REFUSED}
        return not any(c.id in refused for c in self.runner.clients.all)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """The run begins (Locust's test_start on the master, before any spawn message):
        every worker gets the run's clock and its share of the run."""
        if self.started:
            return
        self._await_hellos(10.0)
        self.started = True
        self.start_unix, self.start_ns = time.time(), time.perf_counter_ns()
        self.collector = self._new_collector()
        self.recorder.open(self.start_unix)
        self.meta["distributed"] = {"workers": len(self.accepted())}
        start = self._start_message(late=False)
        for ledger in self.accepted():
            self._send(START, start, ledger.client_id)
        self._note_workers()
        self._ticker = gevent.spawn(self._tick_loop)

    def _note_workers(self) -> None:
        """run.json's workers, kept current: a master killed outright still says who ran."""
        self.meta["workers"] = [w.to_json(self.start_unix) for w in self.workers.values()]
        if self.started and not self.finished:
            self.recorder.write_run_json(partial=True)

    def _await_hellos(self, timeout_s: float) -> None:
        """Plain Locust starts once enough workers are connected; their hello follows their
        connection by a moment: wait for it, so every worker knows the run before users."""
        assert self.runner is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(c.id in self.workers for c in self.runner.clients.all):
                return
            gevent.sleep(0.05)

    def _start_message(self, *, late: bool) -> dict[str, Any]:
        active = sorted((w for w in self.accepted() if w.active), key=lambda w: w.index)
        count = (
            len(active)
            if not late
            else max(1, int(self.meta.get("distributed", {}).get("workers", 1)))
        )
        shares = {w.client_id: [i, count] for i, w in enumerate(active)}
        return {"start_unix": self.start_unix, "shares": shares, "count": count}

    def drain(self, timeout_s: float) -> int:
        """The load is over: every worker finishes its requests in flight and sends its
        last packet; wait for them (bounded), writing as they come."""
        if self.interrupted_by is not None:
            timeout_s = min(timeout_s, 5.0)  # interrupted: the user wants out soon
        if not self.stopping:
            self.stopping = True
            self.load_end_ns = time.perf_counter_ns()
            for ledger in self.accepted():
                if ledger.active:
                    self._send(DRAIN, {"timeout_s": timeout_s}, ledger.client_id)
        deadline = time.monotonic() + timeout_s + FINAL_PACKET_GRACE_S
        while time.monotonic() < deadline and not self.force_stop:
            self._check_workers()
            if not any(w.active for w in self.accepted()):
                break
            gevent.sleep(0.05)
        for ledger in self.accepted():
            if ledger.active:
                ledger.status = LOST
                ledger.note = ledger.note or "no final packet before the master gave up waiting"
                self.warn(f"worker {ledger.host} (pid {ledger.pid}): {ledger.note}")
        self._write(self.merger.ready(list(self.workers.values())))
        return sum(int(w.stats.get("unfinished_at_stop", 0)) for w in self.workers.values())

    def finish(self, *, partial: bool = False) -> Summary:
        """Write the rest, summary.json and run.json (idempotent)."""
        if self.summary is not None:
            return self.summary
        self.finished = self.stopping = True
        if self._ticker is not None:
            self._ticker.kill(block=False)
        if not self.started:
            self.start()
        self._write(self.merger.flush_all())
        now_ns = time.perf_counter_ns()
        load_end_ns = self.load_end_ns or now_ns
        ledgers = self.accepted()
        lost = [w for w in ledgers if w.status != COMPLETE]
        partial = partial or self.interrupted_by is not None or bool(lost) or not ledgers
        self._note_workers()
        self.meta["interrupted_by"] = self.interrupted_by
        self.meta["unfinished_at_stop"] = sum(
            int(w.stats.get("unfinished_at_stop", 0)) for w in ledgers
        )
        walked: dict[str, int] = {}
        for w in ledgers:
            for name, n in (w.stats.get("walked") or {}).items():
                walked[name] = walked.get(name, 0) + int(n)
        self.meta["dataset_passes"] = note_dataset_passes(
            self.meta, len(self.conversations), walked
        )
        starts = [w.stats["arrivals_start_s"] for w in ledgers if "arrivals_start_s" in w.stats]
        if starts:
            self.meta["arrivals_start_s"] = max(starts)
        self.recorder.arrivals_not_sent = sum(
            int(w.stats.get("arrivals_not_sent", 0)) for w in ledgers
        )
        wall, cpu = time.perf_counter(), time.process_time()
        self.meta["distributed"]["master_cpu_percent"] = round(
            100.0 * (cpu - self._cpu_mark[1]) / max(1e-9, wall - self._cpu_mark[0]), 1
        )
        for w in ledgers:
            for text in w.stats.get("warnings") or []:
                self.meta.setdefault("warnings", []).append(
                    f"worker {w.host} (pid {w.pid}): {text}"
                )
        for w in lost:
            self.meta.setdefault("warnings", []).append(
                f"worker {w.host} (pid {w.pid}) {w.status}: {w.note or 'see run.json workers'}; "
                f"what it sent is kept ({w.requests} requests), the run is partial"
            )
        samples = [s for w in ledgers for s in w.stats.get("samples") or []]
        self.summary = self.recorder.finish(
            self.collector,
            [t.name for t in self.config.targets],
            partial=partial,
            samples=samples,
            baselines=dict(self.config.samples.baselines),
            duration_s=(now_ns - self.start_ns) / 1e9,
            load_duration_s=(load_end_ns - self.start_ns) / 1e9,
        )
        return self.summary

    # -- ticking ---------------------------------------------------------------------------
    def _tick_loop(self) -> None:
        """Half an interval after each of the workers' ticks: their packets are in by then."""
        interval = self.config.load.interval_s
        while True:
            elapsed = self.elapsed_s
            gevent.sleep(max(0.0, (int(elapsed / interval - 0.5) + 1.5) * interval - elapsed))
            self._check_workers()
            self._write(self.merger.ready(list(self.workers.values())))

    def _write(self, merged: list[MergedInterval]) -> None:
        for m in merged:
            self.collector.fold(m.intervals)
            self.recorder.add_interval(m.start_s, m.end_s, m.intervals, m.users, m.sample)
            if not m.late:
                self.users.clear()
                self.users.update(m.users)
            if self.on_tick is not None and not self.stopping and not m.late:
                self.on_tick(self, m.end_s)

    def _check_workers(self) -> None:
        """A worker Locust lost (no heartbeat, or gone) before its final packet: say so, stop
        waiting for it, keep what it sent."""
        if self.runner is None:
            return
        for ledger in self.accepted():
            if not ledger.active:
                continue
            client = self.runner.clients.get(ledger.client_id)
            if client is not None and client.state != STATE_MISSING:
                continue
            ledger.status = LOST
            ledger.lost_at_s = round(self.elapsed_s, 3)
            ledger.note = (
                "stopped answering (no heartbeat)" if client is not None else "disconnected"
            )
            self.warn(
                f"worker {ledger.host} (pid {ledger.pid}) lost at {ledger.lost_at_s:.1f}s "
                f"({ledger.note}): its {ledger.requests} requests so far are kept; the run "
                "is marked partial"
            )
            self._note_workers()
