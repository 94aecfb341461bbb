"""The master's side of a distributed run: one ledger per worker, one merge per interval (pure).

Workers close their intervals on the run's shared clock and number them (``seq``). The
master keeps every packet once, and writes interval ``seq`` when every worker still
expected to send it has done so: histograms merged exactly (HdrHistogram ``add``), counts
and users summed, the generator's health combined (the busiest worker's CPU and lag).
A worker that went missing is no longer waited for; one that is merely slow is waited for
``grace_intervals`` at most, and what it sends after that is written as its own interval
(late, never dropped).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from loadprofile.core.collector import ModelInterval, ModelTotals
from loadprofile.core.generator_health import GeneratorSample
from loadprofile.engine.fleet.wire import Packet

#: Worker states as run.json lists them.
CONNECTED, RUNNING, COMPLETE, LOST, REFUSED = "connected", "running", "complete", "lost", "refused"


@dataclass
class WorkerLedger:
    """What the master knows of one worker; run.json's ``workers`` entry."""

    client_id: str
    index: int
    host: str = ""
    pid: int = 0
    version: str = ""
    status: str = CONNECTED
    first_seq: int | None = None
    last_seq: int | None = None  # from the final packet
    received: set[int] = field(default_factory=set)
    requests: int = 0
    cpu: list[float] = field(default_factory=list)
    first_report_unix: float | None = None
    last_report_unix: float | None = None
    lost_at_s: float | None = None
    late_packets: int = 0
    duplicate_packets: int = 0
    stats: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def active(self) -> bool:
        return self.status in (CONNECTED, RUNNING)

    @property
    def complete(self) -> bool:
        """The final packet and every packet before it are in."""
        if self.last_seq is None or self.first_seq is None:
            return False
        return all(s in self.received for s in range(self.first_seq, self.last_seq + 1))

    def ack_upto(self) -> int:
        """The highest seq up to which every packet is in (-1: none yet)."""
        if self.first_seq is None:
            return -1
        seq = self.first_seq
        while seq in self.received:
            seq += 1
        return seq - 1

    def awaits(self, seq: int) -> bool:
        """Whether interval ``seq`` must wait for this worker."""
        if not self.active or seq in self.received:
            return False
        if self.first_seq is not None and seq < self.first_seq:
            return False
        return self.last_seq is None or seq <= self.last_seq

    def to_json(self, start_unix: float) -> dict[str, Any]:
        def rel(t: float | None) -> float | None:
            return None if t is None else round(t - start_unix, 3)

        return {
            "id": self.client_id,
            "index": self.index,
            "host": self.host,
            "pid": self.pid,
            "version": self.version,
            "status": self.status,
            "partial": self.status != COMPLETE,
            "requests": self.requests,
            "cpu_percent_mean": round(sum(self.cpu) / len(self.cpu), 1) if self.cpu else None,
            "cpu_percent_max": round(max(self.cpu), 1) if self.cpu else None,
            "first_report_s": rel(self.first_report_unix),
            "last_report_s": rel(self.last_report_unix),
            "intervals": len(self.received),
            "lost_at_s": self.lost_at_s,
            "late_packets": self.late_packets,
            "duplicate_packets": self.duplicate_packets,
            "note": self.note,
        }


@dataclass
class MergedInterval:
    seq: int
    start_s: float
    end_s: float
    intervals: list[ModelInterval]
    users: dict[str, int]
    sample: GeneratorSample | None
    late: bool = False


class FleetMerger:
    def __init__(self, grace_intervals: int = 10) -> None:
        self.grace_intervals = grace_intervals
        self._pending: dict[int, list[Packet]] = {}
        self.written_upto = -1
        self.newest_seq = -1
        self._late: list[MergedInterval] = []

    def add(self, worker: WorkerLedger, packet: Packet, now_unix: float) -> bool:
        """Keep a packet once; False for a duplicate (a resend of one already kept)."""
        if packet.seq in worker.received:
            worker.duplicate_packets += 1
            return False
        worker.received.add(packet.seq)
        if worker.first_seq is None or packet.first_seq < worker.first_seq:
            worker.first_seq = packet.first_seq
        if packet.final:
            worker.last_seq = packet.seq
            worker.stats = packet.stats
        worker.requests += packet.requests
        if packet.sample is not None and not packet.sample.draining:
            worker.cpu.append(packet.sample.cpu_percent)
        worker.first_report_unix = worker.first_report_unix or now_unix
        worker.last_report_unix = now_unix
        self.newest_seq = max(self.newest_seq, packet.seq)
        if packet.seq <= self.written_upto:
            worker.late_packets += 1
            self._late.append(merge_packets(packet.seq, [packet], late=True))
        else:
            self._pending.setdefault(packet.seq, []).append(packet)
        return True

    def ready(self, workers: list[WorkerLedger]) -> list[MergedInterval]:
        """Intervals that can be written now, oldest first (late ones as they came)."""
        out, self._late = self._late, []
        while self._pending:
            seq = min(self._pending)
            waiting = any(w.awaits(seq) for w in workers)
            if waiting and self.newest_seq - seq < self.grace_intervals:
                break
            out.append(merge_packets(seq, self._pending.pop(seq)))
            self.written_upto = seq
        return out

    def flush_all(self) -> list[MergedInterval]:
        """Everything still held (the run is over)."""
        out, self._late = self._late, []
        for seq in sorted(self._pending):
            out.append(merge_packets(seq, self._pending.pop(seq)))
            self.written_upto = max(self.written_upto, seq)
        return out


def merge_packets(seq: int, packets: list[Packet], late: bool = False) -> MergedInterval:
    """One interval of the whole fleet: exact histogram merges, summed counts and users."""
    by_model: dict[str, ModelTotals] = {}
    users: dict[str, int] = {}
    for p in packets:
        for iv in p.intervals:
            by_model.setdefault(iv.model, ModelTotals()).add(ModelTotals(iv.histograms, iv.counts))
        for model, n in p.users.items():
            users[model] = users.get(model, 0) + n
    # Workers tick a few ms apart: the earliest end closes the interval (the next one starts
    # from the same earliest tick), so consecutive intervals neither overlap nor leave gaps;
    # the last ones (every worker's final packet) end with the last worker.
    start_s = min(p.start_s for p in packets)
    ends = [p.end_s for p in packets]
    end_s = max(ends) if all(p.final for p in packets) else min(ends)
    intervals = [
        ModelInterval(m, start_s, end_s, t.histograms, t.counts)
        for m, t in sorted(by_model.items())
    ]
    samples = [p.sample for p in packets if p.sample is not None]
    sample = combine_samples(samples)
    if sample is not None:
        sample = replace(sample, start_s=start_s, end_s=end_s)
    return MergedInterval(seq, start_s, end_s, intervals, users, sample, late)


def combine_samples(samples: list[GeneratorSample]) -> GeneratorSample | None:
    """The fleet's health in one interval: the busiest worker decides (each worker's
    timestamps are only as good as its own hub), late starts add up."""
    if not samples:
        return None
    return GeneratorSample(
        start_s=min(s.start_s for s in samples),
        end_s=max(s.end_s for s in samples),
        users=sum(s.users for s in samples),
        cpu_percent=max(s.cpu_percent for s in samples),
        loop_lag_ms_max=max(s.loop_lag_ms_max for s in samples),
        loop_lag_ms_mean=sum(s.loop_lag_ms_mean for s in samples) / len(samples),
        late_starts=sum(s.late_starts for s in samples),
        starts_without_free_user=sum(s.starts_without_free_user for s in samples),
        draining=all(s.draining for s in samples),
    )
