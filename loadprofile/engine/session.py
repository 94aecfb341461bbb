"""The state of one load run inside one load-generator process (Locust glue).

A ``RunSession`` owns the collector, hands users their target and their next
conversation, and ticks once per interval to close histogram intervals. Closed intervals
and finished requests go to a sink: the run folder (``RunRecorder``) in a local run, the
master (an uplink) on a worker of a distributed run. Both ways of running (``loadprofile
run`` and plain ``locust -f locustfiles/chat.py``) drive it through Locust's own events.

A worker runs one share of the run (``FleetShare``): its intervals lie on the master's
clock, and it takes every n-th conversation and arrival, so the workers together replay
the dataset and the arrival schedule of one process.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import gevent

from loadprofile.client.http.client import HttpClient
from loadprofile.client.target_client import api_client
from loadprofile.config.run_config import RunConfig, Target
from loadprofile.contract.summary import Summary
from loadprofile.core.collector import Collector, RequestSlo
from loadprofile.core.generator_health import GeneratorSample
from loadprofile.core.loadplan import LoadPlan, build_plan
from loadprofile.core.open_loop import FleetShare, OpenLoop
from loadprofile.core.phases import phase_index
from loadprofile.core.recent import RecentWindow
from loadprofile.core.request_budget import RequestBudget
from loadprofile.core.results import ErrorClass, RequestResult
from loadprofile.core.stability import tracker_for
from loadprofile.core.stability_summary import stability_section
from loadprofile.core.user_mix import TargetPicker, UserSeconds, note_dataset_passes
from loadprofile.dataset.conversations import Conversation
from loadprofile.engine.dispatch import ArrivalDispatcher
from loadprofile.engine.hub_reader import HubDriver
from loadprofile.engine.in_flight import InFlight
from loadprofile.engine.interval_closer import IntervalCloser, IntervalSink
from loadprofile.engine.loop_lag import SelfMonitor
from loadprofile.engine.session_api import TickCallback
from loadprofile.quality.judge import RequestJudge
from loadprofile.quality.output_samples import OutputSampler
from loadprofile.rundir.recorder import RunRecorder
from loadprofile.rundir.writer import MAX_CONTRACT_EXAMPLES, contract_example


class RunSession:
    """One process's share of a run: who sends what, and where measurements go.

    ``recorder``: a local run writes its own run folder. ``uplink``: a worker sends its
    intervals to the master instead (then ``share`` says which share of the run it is)."""

    def __init__(
        self,
        config: RunConfig,
        conversations: list[Conversation],
        meta: dict[str, Any],
        *,
        recorder: RunRecorder | None = None,
        uplink: IntervalSink | None = None,
        share: FleetShare | None = None,
        on_tick: TickCallback | None = None,
    ) -> None:
        self.config = config
        self.conversations = conversations
        self.meta = meta
        self.on_tick = on_tick
        self.plan: LoadPlan = build_plan(config.load)
        self.meta["phases"] = [phase.to_json() for phase in self.plan.phases]
        self.recorder = recorder
        if recorder is not None:
            recorder.phases = list(self.plan.phases)
        self.sink: IntervalSink | None = recorder if recorder is not None else uplink
        self.share = share or FleetShare()
        self.budget = RequestBudget(config.load.max_requests)
        load = config.load
        self.stability = (
            tracker_for(load, tuple(t.name for t in config.targets)) if load.until_stable else None
        )
        self.run_start_unix: float | None = None
        self.start_unix = time.time()
        self.start_ns = time.perf_counter_ns()
        self.collector = self._new_collector(self.start_ns)
        self.user_seconds = UserSeconds()
        self.users = self.user_seconds.now  # users per model right now
        self._owed = InFlight()
        self.unfinished_at_stop = 0
        self.load_end_ns: int | None = None
        self.started = False
        self.stopping = False
        self.interrupted_by: str | None = None
        self.force_stop = False
        self.finished = False
        self.summary: Summary | None = None
        self._picker = TargetPicker(config.targets)
        self._next_conv: Counter[str] = Counter()
        self._users_started = 0
        self._ticker: gevent.Greenlet | None = None
        self._closer = IntervalCloser()
        self.last_generator_sample: GeneratorSample | None = None  # the last full interval's
        self._monitor = SelfMonitor()
        self.arrivals = OpenLoop(config.load, config.targets, conversations)
        self.dispatchers: dict[str, ArrivalDispatcher] = {}
        self.judge = RequestJudge(config, conversations)
        self._examples: Counter[tuple[str, str]] = Counter()
        self.sampler = OutputSampler(config.samples.per_model, config.load.seed)

    @property
    def run_dir(self) -> Path | None:
        return self.recorder.run_dir if self.recorder is not None else None

    @property
    def recent(self) -> RecentWindow | None:
        return self.recorder.recent if self.recorder is not None else None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start measuring (idempotent). On a worker, ``run_start_unix`` (the master's start)
        puts its intervals and arrival schedule on the run's clock."""
        if self.started:
            return
        self.started = True
        now_unix, now_ns = time.time(), time.perf_counter_ns()
        self.start_unix, self.start_ns = now_unix, now_ns
        if self.run_start_unix is not None:
            # A worker starts a moment after the master; more than that, either way, is the
            # machines' clocks disagreeing, which shifts this worker's intervals.
            behind_s = now_unix - self.run_start_unix
            self.start_unix = self.run_start_unix
            self.start_ns = now_ns - round(behind_s * 1e9)
            if not -0.5 < behind_s < 30.0:
                self.meta.setdefault("warnings", []).append(
                    f"a worker started {behind_s:+.1f}s from the master's start by its clock: "
                    "its intervals may be shifted (synchronise the clocks, e.g. NTP)"
                )
        self._picker.skip(self.share.index)
        self.collector = self._new_collector(now_ns)
        if self.config.load.open_loop:
            warmup = self.arrivals.start(self.start_ns, self.share)
            self.meta["arrivals_start_s"] = round(warmup, 3)
            self.dispatchers = {
                name: ArrivalDispatcher(schedule)
                for name, schedule in self.arrivals.schedules.items()
            }
            for dispatcher in self.dispatchers.values():
                dispatcher.start()
        if self.recorder is not None:
            self.recorder.open(self.start_unix)
        # Everything alive now (modules, Locust, the dataset) lives as long as the run: keep
        # it out of the cyclic GC, whose full collections otherwise pause the hub for 10+ ms
        # mid-run (measured at 400 req/s) and land on token timestamps.
        gc.freeze()
        self._monitor.lag.start()
        self._closer.start()
        self._ticker = gevent.spawn(self._tick_loop)

    def _new_collector(self, interval_start_ns: int) -> Collector:
        load = self.config.load
        return Collector(
            self.start_ns,
            slo=RequestSlo(load.slo_ttft_ms, load.slo_tpot_ms),
            pace_us=round((load.pace_s or 0.0) * 1e6),
            phase_of=lambda t_s: phase_index(self.plan.phases, t_s),
            interval_start_ns=interval_start_ns,
            first_attempts=load.retries > 0,
            totals_from_s=load.warmup_s,
        )

    def drain(self, timeout_s: float) -> int:
        """Stop starting requests and wait for the ones in flight; those still running
        after ``timeout_s`` are recorded as timeouts (never silently dropped). Returns how
        many that were."""
        if not self.stopping:
            self.stopping = True
            self.load_end_ns = time.perf_counter_ns()
            for dispatcher in self.dispatchers.values():
                dispatcher.stop()
        if self.interrupted_by is not None:
            timeout_s = min(timeout_s, 5.0)  # interrupted: the user wants out soon
        deadline = time.monotonic() + timeout_s
        while self._owed.owed and time.monotonic() < deadline and not self.force_stop:
            gevent.sleep(0.05)
        return self._abandon_in_flight()

    def _abandon_in_flight(self) -> int:
        cut, held = self._owed.abandon(time.perf_counter_ns())
        for result in (*cut, *held):  # timeouts with what arrived; held attempts as they failed
            self.record(result)
        self.unfinished_at_stop += len(cut)
        self.meta["unfinished_at_stop"] = self.unfinished_at_stop
        return self.unfinished_at_stop

    @property
    def budget_spent(self) -> bool:
        return self.budget.spent(self.share)

    @property
    def stable(self) -> bool:
        return self.stability is not None and self.stability.stable

    def take_request(self) -> bool:
        """May one more request start (-n)? A retry is the same request: it takes nothing."""
        budget = self.budget
        return budget.total is None or budget.take(self.share)

    def begin(self, result: RequestResult) -> None:
        self._owed.begin(result)

    def end(self, result: RequestResult) -> bool:
        return self._owed.end(result)

    def hold(self, result: RequestResult) -> None:
        self._owed.hold(result)

    def release(self, result: RequestResult) -> bool:
        return self._owed.release(result)

    @property
    def in_flight(self) -> int:
        return self._owed.running

    def close(self) -> None:
        """Close the last interval (idempotent): the load and its drain are over."""
        if self.finished:
            return
        self.finished = True
        self.stopping = True
        if self.load_end_ns is None:
            self.load_end_ns = time.perf_counter_ns()
        if self._ticker is not None and self._ticker is not gevent.getcurrent():
            self._ticker.kill(block=True)  # dead before the final tick: none can follow it
        self._monitor.lag.stop()
        if not self.started:
            self.start()
        self._abandon_in_flight()
        for dispatcher in self.dispatchers.values():
            dispatcher.stop()
            self.arrivals.not_sent += dispatcher.unsent_before(self.load_end_ns)
        self._tick(final=True)

    def finish(self, *, partial: bool = False) -> Summary:
        """Close the last interval and write summary.json and run.json (idempotent; local
        runs). A run stopped by a signal (``interrupted_by``) is always partial."""
        if self.summary is not None:
            return self.summary
        assert self.recorder is not None, "a worker's session reports to its master"
        self.close()
        partial = partial or self.interrupted_by is not None
        now_ns = time.perf_counter_ns()
        self.meta["interrupted_by"] = self.interrupted_by
        self.meta["dataset_passes"] = note_dataset_passes(
            self.meta, len(self.conversations), self.walked()
        )
        self.recorder.arrivals_not_sent = self.arrivals.not_sent
        assert self.load_end_ns is not None
        # Rates divide by the time users were sending, not by the drain after it.
        self.summary = self.recorder.finish(
            self.collector,
            [t.name for t in self.config.targets],
            partial=partial,
            duration_s=(now_ns - self.start_ns) / 1e9,
            load_duration_s=(self.load_end_ns - self.start_ns) / 1e9,
            samples=self.sampler.samples(),
            baselines=dict(self.config.samples.baselines),
            stability=None
            if self.stability is None
            else stability_section(self.stability, self.stopped_because()),
        )
        return self.summary

    def stopped_because(self) -> str:
        """Why the load ended: "stable", "time limit", "max requests" or "interrupted"."""
        if self.interrupted_by is not None:
            return "interrupted"
        if self.stable:
            return "stable"
        return "max requests" if self.budget_spent else "time limit"

    def walked(self) -> dict[str, int]:
        """Conversations (closed loop, or by conversations) or turns (open loop by
        requests) started per target, for dataset_passes."""
        walked = dict(self._next_conv)
        for name, turns in self.arrivals.turn_cursor.items():
            walked[name] = max(
                walked.get(name, 0),
                turns * len(self.conversations) // max(1, len(self.arrivals.turns)),
            )
        return walked

    # -- users ------------------------------------------------------------------------------
    def assign_target(self) -> Target:
        target = self._picker.pick()
        self.user_seconds.change(target.name, +1)
        self._users_started += 1
        return target

    def release_target(self, target: Target) -> None:
        self.user_seconds.change(target.name, -1)

    def user_seed(self) -> int:
        """Same --seed, same think times: the n-th user of a run always gets the same seed
        (workers interleave, as they do conversations)."""
        n = self._users_started * self.share.count + self.share.index
        return self.config.load.seed * 1_000_003 + n

    def next_conversation(self, target: Target) -> Conversation:
        """Every target walks the dataset in the same order, so all see the same prompts;
        worker i of n takes conversations i, i + n, ..."""
        index = self._next_conv[target.name] * self.share.count + self.share.index
        self._next_conv[target.name] += 1
        return self.conversations[index % len(self.conversations)]

    def client_for(self, target: Target) -> HttpClient:
        return api_client(
            target, self.config.load.timeout_s, read_timeouts=False, body_driver=_HUB_DRIVER
        )

    def record(self, result: RequestResult) -> None:
        judge = self.judge
        if not judge.idle:  # nothing to judge against: not even the call, per request
            judge.judge(result)
        self.collector.record(result)
        if self.sink is None or not self.started:
            return
        self.sampler.offer(result, result.start_unix - self.start_unix, self.users[result.model])
        self.sink.add_request(result)
        kind = (
            "contract"
            if result.error_class == ErrorClass.CONTRACT
            else "grounding"
            if result.ungrounded
            else None
        )
        if kind is not None and self._examples[(result.model, kind)] < MAX_CONTRACT_EXAMPLES:
            self._examples[(result.model, kind)] += 1
            self.sink.add_contract_example(contract_example(result, kind))

    # -- ticking ----------------------------------------------------------------------------
    def _tick_loop(self) -> None:
        """Tick on the run's grid (k x interval after its start), so a worker's intervals
        line up with every other worker's."""
        interval_ns = round(self.config.load.interval_s * 1e9)
        while True:
            now_ns = time.perf_counter_ns()
            next_ns = self.start_ns + ((now_ns - self.start_ns) // interval_ns + 1) * interval_ns
            gevent.sleep(max(0.0, (next_ns - now_ns) / 1e9))
            self._tick()

    def _tick(self, final: bool = False) -> None:
        """Close the interval now (O(1)); its histograms and files are done by the closer,
        in slices, and the last one (``final``) at once with everything still queued."""
        if not self.started or self.sink is None:
            return
        closed = self.collector.take(time.perf_counter_ns())
        active = self.user_seconds.interval_means(closed.end_s - closed.start_s)
        sample = None
        if not final:  # the last, short interval is shutdown work, not load generation
            sample = self.last_generator_sample = self._monitor.sample(
                closed.start_s,
                closed.end_s,
                sum(active.values()),
                *self.arrivals.take_interval_counts(),
                draining=self.stopping,
            )
        then = None if final or self.on_tick is None else partial(self.on_tick, self)
        stability = self.stability
        if stability is not None and not self.stopping:  # before the close reads the values
            stability.add_interval(
                closed.start_s,
                closed.end_s,
                {model: interval.values for model, interval in closed.models.items()},
            )
        self._closer.close(self.collector, closed, self.sink, active, sample, final, then)
        due = stability is not None and closed.end_s >= stability.min_time_s
        if stability is not None and due and not (final or self.stopping or stability.stable):
            self._closer.submit(stability.check_steps(closed.end_s))

    @property
    def elapsed_s(self) -> float:
        return (time.perf_counter_ns() - self.start_ns) / 1e9


#: Users' streamed bodies are read from the hub's callbacks (hub_reader.py).
_HUB_DRIVER = HubDriver()
