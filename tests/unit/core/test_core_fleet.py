"""Distributed runs, pure parts: packets on the wire, the master's merge, shares of a run."""

from __future__ import annotations

import argparse

import msgpack
import numpy as np
import pytest

from loadprofile.config.flags import FLEET, add_flags
from loadprofile.config.fleet_options import resolve_fleet
from loadprofile.config.run_config import LoadConfig, RunConfig, StageSpec, Target
from loadprofile.core.arrivals import ArrivalSchedule
from loadprofile.core.collector import Collector, ModelInterval, new_histogram
from loadprofile.core.generator_health import GeneratorSample
from loadprofile.core.summary import histogram_summary
from loadprofile.dataset.conversations import Conversation, Turn
from loadprofile.engine.fleet.merge import LOST, FleetMerger, WorkerLedger
from loadprofile.engine.fleet.wire import (
    Outbox,
    Packet,
    config_from_wire,
    config_to_wire,
    conversations_from_wire,
    conversations_to_wire,
    decode_packet,
    encode_packet,
)
from loadprofile.errors import ConfigError
from tests.unit.core.core_synthetic import synthetic_result

PERCENTILES = [50.0, 90.0, 99.0, 99.9, 100.0]


def _worker_intervals(seed: int, seconds: int, per_second: int = 300) -> list[list[ModelInterval]]:
    """One worker's closed intervals (real Collector), seeded."""
    rng = np.random.default_rng(seed)
    collector = Collector(start_ns=0)
    out = []
    for k in range(seconds):
        for i in range(per_second):
            collector.record(synthetic_result(rng, ("beta", "org/alpha:7b")[i % 2], i, 0.05))
        out.append(collector.roll((k + 1) * 1_000_000_000))
    return out


def _packet(
    seq: int,
    intervals: list[ModelInterval],
    *,
    final: bool = False,
    cpu: float = 20.0,
    rows: int = 0,
) -> Packet:
    sample = GeneratorSample(float(seq), seq + 1.0, 4, cpu, 1.0, 0.5)
    users = {iv.model: 2 for iv in intervals}
    return Packet(
        seq,
        0,
        float(seq),
        seq + 1.0,
        intervals,
        users,
        sample,
        [[f"row{seq}-{i}", "x"] for i in range(rows)],
        final,
    )


def _through_the_wire(p: Packet) -> Packet:
    """As Locust carries it: msgpack out and back in."""
    return decode_packet(msgpack.loads(msgpack.dumps(encode_packet(p)), raw=False))


def test_a_packet_survives_the_wire_exactly() -> None:
    intervals = _worker_intervals(3, 1)[0]
    intervals[0].counts.notes.update({"usage_missing": 3})
    intervals[0].counts.json_checked, intervals[0].counts.json_valid = 9, 7
    sent = _packet(7, intervals, final=True, rows=3)
    sent.stats = {"walked": {"beta": 4}}
    sent.examples = [{"model": "beta", "error": "content is not JSON", "content": "{"}]
    got = _through_the_wire(sent)
    assert (got.seq, got.final, got.stats, got.rows) == (7, True, sent.stats, sent.rows)
    assert got.examples == sent.examples
    assert got.users == sent.users and got.sample == sent.sample
    for before, after in zip(sent.intervals, got.intervals, strict=True):
        assert after.model == before.model and after.counts == before.counts
        for metric, hist in before.histograms.items():
            assert after.histograms[metric].get_total_count() == hist.get_total_count()
            assert after.histograms[metric].get_percentile_to_value_dict(
                PERCENTILES
            ) == hist.get_percentile_to_value_dict(PERCENTILES)


def test_a_malformed_packet_is_a_value_error() -> None:
    wire = encode_packet(_packet(1, _worker_intervals(1, 1)[0]))
    wire["intervals"][0]["histograms"]["ttft_ms"] = b"not a histogram"
    with pytest.raises(ValueError, match="malformed packet"):
        decode_packet(wire)
    with pytest.raises(ValueError, match="malformed packet"):
        decode_packet({"seq": 1})


def test_merged_percentiles_equal_one_histogram_of_every_request() -> None:
    """Three workers' intervals merged by the master = one histogram of all their values;
    averaging the workers' own p99s would not be."""
    workers = [WorkerLedger(f"w{i}", i) for i in range(3)]
    per_worker = [_worker_intervals(seed, 4) for seed in (1, 2, 3)]
    merger = FleetMerger()
    for seq in range(4):
        for ledger, intervals in zip(workers, per_worker, strict=True):
            merger.add(ledger, _packet(seq, intervals[seq]), 0.0)
    merged = merger.ready(workers)
    assert [m.seq for m in merged] == [0, 1, 2, 3]
    whole = Collector(start_ns=0)
    for m in merged:
        whole.fold(m.intervals)
    for model in ("beta", "org/alpha:7b"):
        one = new_histogram()
        worker_p99 = []
        for intervals in per_worker:
            mine = new_histogram()
            for group in intervals:
                for iv in group:
                    if iv.model == model:
                        one.add(iv.histograms["ttft_ms"])
                        mine.add(iv.histograms["ttft_ms"])
            worker_p99.append(mine.get_percentile_to_value_dict([99.0])[99.0])
        got = whole.totals[model].histograms["ttft_ms"]
        assert histogram_summary(got) == histogram_summary(one)
        assert got.get_percentile_to_value_dict([99.0])[99.0] != round(np.mean(worker_p99))
        requests = sum(
            iv.counts.requests for g in per_worker for grp in g for iv in grp if iv.model == model
        )
        assert whole.totals[model].counts.requests == requests


def test_the_master_waits_for_every_worker_but_not_for_a_lost_one() -> None:
    a, b = WorkerLedger("a", 0), WorkerLedger("b", 1)
    intervals = _worker_intervals(5, 3)
    merger = FleetMerger(grace_intervals=10)
    merger.add(a, _packet(0, intervals[0]), 0.0)
    merger.add(a, _packet(1, intervals[1]), 0.0)
    assert merger.ready([a, b]) == []  # b has not sent interval 0 yet
    merger.add(b, _packet(0, intervals[0]), 0.0)
    assert [m.seq for m in merger.ready([a, b])] == [0]
    assert merger.ready([a, b]) == []  # 1 still waits for b
    b.status = LOST
    assert [m.seq for m in merger.ready([a, b])] == [1]


def test_a_slow_worker_is_waited_for_only_so_long_and_its_late_packet_is_kept() -> None:
    a, b = WorkerLedger("a", 0), WorkerLedger("b", 1)
    iv = _worker_intervals(6, 1)[0]
    merger = FleetMerger(grace_intervals=3)
    for seq in range(4):
        merger.add(a, _packet(seq, iv), 0.0)
    assert [m.seq for m in merger.ready([a, b])] == [0]  # newest 3, grace 3: 0 goes alone
    late = _packet(0, iv, cpu=95.0)
    assert merger.add(b, late, 1.0)
    out = merger.ready([a, b])
    assert out[0].late and out[0].seq == 0 and b.late_packets == 1
    assert out[0].intervals[0].counts.requests == late.intervals[0].counts.requests


def test_a_resent_packet_counts_once() -> None:
    a = WorkerLedger("a", 0)
    merger = FleetMerger()
    packet = _packet(0, _worker_intervals(7, 1)[0], rows=2)
    assert merger.add(a, packet, 0.0) and not merger.add(a, packet, 1.0)
    assert a.duplicate_packets == 1 and a.requests == packet.requests
    merged = merger.ready([a])
    assert len(merged) == 1


def test_acks_cover_contiguous_packets_and_completion_needs_all() -> None:
    a = WorkerLedger("a", 0)
    merger = FleetMerger()
    iv = _worker_intervals(8, 1)[0]
    for seq in (0, 1, 3):
        merger.add(a, _packet(seq, iv), 0.0)
    assert a.ack_upto() == 1
    merger.add(a, _packet(4, iv, final=True), 0.0)
    assert not a.complete  # 2 is missing
    merger.add(a, _packet(2, iv), 0.0)
    assert a.complete and a.ack_upto() == 4


def test_merged_intervals_neither_overlap_nor_leave_gaps() -> None:
    """Two workers tick a few ms apart; the fleet's intervals must still tile the run."""
    a, b = WorkerLedger("a", 0), WorkerLedger("b", 1)
    iv = _worker_intervals(10, 1)[0]
    merger = FleetMerger()
    for seq, (a_end, b_end) in enumerate([(1.002, 1.007), (2.001, 2.006), (2.4, 2.9)]):
        for ledger, start, end in (
            (a, [0.0, 1.002, 2.001][seq], a_end),
            (b, [0.0, 1.007, 2.006][seq], b_end),
        ):
            packet = _packet(seq, iv, final=seq == 2)
            packet.start_s, packet.end_s = start, end
            merger.add(ledger, packet, 0.0)
    merged = merger.ready([a, b])
    assert [(m.start_s, m.end_s) for m in merged] == [(0.0, 1.002), (1.002, 2.001), (2.001, 2.9)]
    assert all(
        m.sample is not None and (m.sample.start_s, m.sample.end_s) == (m.start_s, m.end_s)
        for m in merged
    )


def test_the_fleet_health_is_the_busiest_worker() -> None:
    a, b = WorkerLedger("a", 0), WorkerLedger("b", 1)
    iv = _worker_intervals(9, 1)[0]
    merger = FleetMerger()
    merger.add(a, _packet(0, iv, cpu=30.0), 0.0)
    merger.add(b, _packet(0, iv, cpu=95.0), 0.0)
    (merged,) = merger.ready([a, b])
    assert merged.sample is not None
    assert merged.sample.cpu_percent == 95.0 and merged.sample.users == 8
    assert merged.sample.bound_reasons == ["CPU 95%"]
    assert merged.users == {m: 4 for m in merged.users}
    assert a.to_json(0.0)["cpu_percent_mean"] == 30.0


def test_the_outbox_resends_what_was_not_acknowledged() -> None:
    box = Outbox(resend_after_s=3.0)
    for seq in range(3):
        box.put(seq, {"seq": seq}, now_s=0.0)
    assert box.overdue(2.0) == []
    box.ack(0)
    assert [w["seq"] for w in box.overdue(3.5)] == [1, 2]
    assert box.overdue(4.0) == []  # just resent
    box.ack(2)
    assert box.pending == 0 and box.resent == 2


def test_the_run_config_and_conversations_survive_the_wire() -> None:
    config = RunConfig(
        targets=(Target("a", "m-a", "http://127.0.0.1:1", "KEY", 3.0), Target("b", "m-b")),
        dataset=None,
        out_dir=None,
        load=LoadConfig(
            users=7,
            think_time_s=(0.5, 1.5),
            shape="stages",
            steps=(1, 2),
            stages=(StageSpec(5.0, 3, 2.0),),
            rate=4.0,
            arrival="gamma",
            gamma_shape=0.25,
            slo_ttft_ms=300.0,
        ),
    )
    wire = msgpack.loads(msgpack.dumps(config_to_wire(config)), raw=False)
    assert config_from_wire(wire) == config
    conversations = [Conversation("c1", "sys", (Turn("hi", "hello", 5), Turn("more", None)))]
    assert conversations_from_wire(conversations_to_wire(conversations)) == conversations
    with pytest.raises(ValueError, match="malformed run config"):
        config_from_wire({"targets": []})


def test_workers_sharing_a_schedule_send_exactly_the_whole_schedule() -> None:
    """Worker i of n takes every n-th arrival: together, the one-process schedule."""

    def times(stride: int, offset: int) -> list[int]:
        schedule = ArrivalSchedule(50.0, "gamma", 0.5, 42, 0, 20.0, stride=stride, offset=offset)
        out = []
        while (due := schedule.take()) is not None:
            out.append(due)
        return out

    whole = times(1, 0)
    parts = [times(3, i) for i in range(3)]
    assert sorted(t for part in parts for t in part) == whole
    assert len(whole) > 900


def test_workers_assign_users_to_models_in_the_weights_together() -> None:
    """Worker i starts its picks i steps in: two workers with three users each load two
    equally weighted models 3:3, not 4:2 (each alone would pick a, b, a)."""
    from collections import Counter

    from loadprofile.core.user_mix import TargetPicker

    targets = (Target("a", "a"), Target("b", "b"))
    picks: Counter[str] = Counter()
    for index in range(2):
        picker = TargetPicker(targets)
        picker.skip(index)
        picks.update(picker.pick().name for _ in range(3))
    assert picks == {"a": 3, "b": 3}


def _fleet(argv: list[str]) -> object:
    p = argparse.ArgumentParser()
    add_flags(p, "run", groups=[FLEET])
    for flag in ("--host", "--users", "--model"):
        p.add_argument(flag)
    return resolve_fleet(p.parse_args(argv), cpu_count=4)


def test_fleet_options() -> None:
    assert _fleet([]) is None
    local = _fleet(["--processes", "-1"])
    assert local.role == "master" and local.processes == 4 and local.expect_workers == 4  # type: ignore[attr-defined]
    assert local.bind_host == "127.0.0.1"  # type: ignore[attr-defined]
    master = _fleet(["--master", "--expect-workers", "3"])
    assert (master.role, master.expect_workers, master.bind_host) == ("master", 3, "*")  # type: ignore[attr-defined]
    worker = _fleet(["--worker", "--master-host", "10.0.0.5", "--master-port", "6000"])
    assert (worker.role, worker.master_host, worker.master_port) == ("worker", "10.0.0.5", 6000)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--master", "--worker"], "exclude each other"),
        (["--processes", "0"], "--processes 0"),
        (["--processes", "2", "--master"], "drop --master"),
        (["--worker", "--users", "5"], "give --users to the master"),
        (["--expect-workers", "2"], "needs --master"),
        (["--master", "--expect-workers", "0"], "at least 1"),
        (["--worker", "--master-port", "70000"], "not a port"),
        (["--master", "--expect-workers-max-wait", "-1"], "seconds >= 0"),
    ],
)
def test_bad_fleet_options_are_refused_with_a_reason(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _fleet(argv)
