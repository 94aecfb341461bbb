"""The state of one load run inside one load-generator process (Locust glue).

A ``RunSession`` owns the collector and the run-folder writer, hands users their target
and their next conversation, and ticks once per interval to close histogram intervals.
Both ways of running (``loadprofile run`` and plain ``locust -f locustfiles/chat.py``)
create one and drive it through Locust's own events, so both measure alike.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gevent

from loadprofile.collector import Collector, ModelTotals, RecentWindow, RequestSlo
from loadprofile.config import RunConfig, Target
from loadprofile.dataset import Conversation
from loadprofile.dispatch import ArrivalDispatcher
from loadprofile.generator_health import GeneratorSample, health_summary
from loadprofile.http.client import HttpClient
from loadprofile.loadplan import LoadPlan, build_plan
from loadprofile.loop_lag import LoopLagProbe
from loadprofile.metrics import TTFT
from loadprofile.open_loop import OpenLoop
from loadprofile.phases import SeriesPoint, phase_index, summary_extras
from loadprofile.results import ErrorClass, RequestResult
from loadprofile.rundir import RUN, SUMMARY, RunWriter, write_json
from loadprofile.streaming import auth_headers
from loadprofile.summary import build_summary

TickCallback = Callable[["RunSession", float], None]


def utc_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class UserSeconds:
    """Users per model over time: a ramp that lands a millisecond before a tick must not
    make the whole interval look like it had the new count, so intervals report the
    time-weighted mean."""

    def __init__(self) -> None:
        self._area: dict[str, float] = {}
        self._mark = time.perf_counter()
        self.now: Counter[str] = Counter()

    def change(self, model: str, delta: int) -> None:
        self._accrue()
        self.now[model] += delta

    def _accrue(self) -> None:
        mark, self._mark = self._mark, time.perf_counter()
        for model, users in self.now.items():
            self._area[model] = self._area.get(model, 0.0) + users * (self._mark - mark)

    def interval_means(self, length_s: float) -> dict[str, int]:
        """Mean users per model since the last call (models that had any), rounded."""
        self._accrue()
        area, self._area = self._area, {}
        if length_s <= 0:
            return {m: n for m, n in self.now.items() if n > 0}
        return {m: round(a / length_s) for m, a in area.items() if a > 0}


@dataclass
class TargetPicker:
    """Smooth weighted round-robin: deterministic, and even at small user counts."""

    targets: tuple[Target, ...]
    _current: dict[str, float] = field(default_factory=dict)

    def pick(self) -> Target:
        total = sum(t.weight for t in self.targets)
        for t in self.targets:
            self._current[t.name] = self._current.get(t.name, 0.0) + t.weight
        best = max(self.targets, key=lambda t: self._current[t.name])
        self._current[best.name] -= total
        return best


class RunSession:
    """One process's share of a run: who sends what, and where measurements go."""

    def __init__(
        self,
        config: RunConfig,
        conversations: list[Conversation],
        run_dir: Path,
        meta: dict[str, Any],
        on_tick: TickCallback | None = None,
    ) -> None:
        self.config = config
        self.conversations = conversations
        self.run_dir = run_dir
        self.meta = meta
        self.on_tick = on_tick
        self.plan: LoadPlan = build_plan(config.load)
        self.meta["phases"] = [phase.to_json() for phase in self.plan.phases]
        self.start_unix = time.time()
        self.start_ns = time.perf_counter_ns()
        self.collector = self._new_collector()
        self.writer: RunWriter | None = None
        self.user_seconds = UserSeconds()
        self.users = self.user_seconds.now  # users per model right now
        self._in_flight: dict[int, RequestResult] = {}
        self._abandoned: set[int] = set()
        self.unfinished_at_stop = 0
        self.load_end_ns: int | None = None
        self.stopping = False
        self.interrupted_by: str | None = None
        self.force_stop = False
        self.finished = False
        self.summary: dict[str, Any] | None = None
        self._picker = TargetPicker(config.targets)
        self._next_conv: Counter[str] = Counter()
        self._users_started = 0
        self._ticker: gevent.Greenlet | None = None
        self._cpu_mark = (time.perf_counter(), time.process_time())
        self.generator_samples: list[GeneratorSample] = []
        self.series: list[SeriesPoint] = []
        self.recent = RecentWindow(TTFT)
        self._lag = LoopLagProbe()
        self.arrivals = OpenLoop(config.load, config.targets, conversations)
        self.dispatchers: dict[str, ArrivalDispatcher] = {}

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Open the run folder and start ticking (idempotent)."""
        if self.writer is not None:
            return
        self.start_unix = time.time()
        self.start_ns = time.perf_counter_ns()
        self.collector = self._new_collector()
        if self.config.load.open_loop:
            self.meta["arrivals_start_s"] = round(self.arrivals.start(self.start_ns), 3)
            self.dispatchers = {name: ArrivalDispatcher(schedule)
                                for name, schedule in self.arrivals.schedules.items()}
            for dispatcher in self.dispatchers.values():
                dispatcher.start()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.writer = RunWriter(self.run_dir, self.start_unix)
        self.meta["started_at"] = utc_iso(self.start_unix)
        self._write_run_json(partial=True)
        # Everything alive now (modules, Locust, the dataset) lives as long as the run: keep
        # it out of the cyclic GC, whose full collections otherwise pause the hub for 10+ ms
        # mid-run (measured at 400 req/s) and land on token timestamps.
        gc.freeze()
        self._lag.start()
        self._ticker = gevent.spawn(self._tick_loop)

    def _new_collector(self) -> Collector:
        load = self.config.load
        return Collector(
            self.start_ns, slo=RequestSlo(load.slo_ttft_ms, load.slo_tpot_ms),
            pace_us=round((load.pace_s or 0.0) * 1e6),
            phase_of=lambda t_s: phase_index(self.plan.phases, t_s),
        )  # fmt: skip

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
        while self._in_flight and time.monotonic() < deadline and not self.force_stop:
            gevent.sleep(0.05)
        return self._abandon_in_flight()

    def _abandon_in_flight(self) -> int:
        now_ns = time.perf_counter_ns()
        for key, result in list(self._in_flight.items()):
            self._abandoned.add(key)
            del self._in_flight[key]
            result.error_class = ErrorClass.TIMEOUT
            result.error = "still running when the run stopped (see --stop-timeout)"
            if result.sent_ns:
                result.e2e_service_ms = (now_ns - result.sent_ns) / 1e6
                result.e2e_ms = (now_ns - (result.scheduled_ns or result.sent_ns)) / 1e6
            self.record(result)
            self.unfinished_at_stop += 1
        self.meta["unfinished_at_stop"] = self.unfinished_at_stop
        return self.unfinished_at_stop

    def begin(self, result: RequestResult) -> None:
        self._in_flight[id(result)] = result

    def end(self, result: RequestResult) -> bool:
        """The request is over; False when the stop already recorded it as a timeout."""
        key = id(result)
        self._in_flight.pop(key, None)
        if key in self._abandoned:
            self._abandoned.discard(key)
            return False
        return True

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def finish(self, *, partial: bool = False) -> dict[str, Any]:
        """Close the last interval and write summary.json and run.json (idempotent).

        A run stopped by a signal (``interrupted_by``) is always partial."""
        if self.finished and self.summary is not None:
            return self.summary
        partial = partial or self.interrupted_by is not None
        self.finished = True
        self.stopping = True
        if self._ticker is not None:
            self._ticker.kill(block=False)
        self._lag.stop()
        if self.writer is None:
            self.start()
        self._abandon_in_flight()
        self._tick(final=True)
        assert self.writer is not None
        now_ns = time.perf_counter_ns()
        duration = (now_ns - self.start_ns) / 1e9
        # Rates divide by the time users were sending, not by the drain after it.
        load_duration = ((self.load_end_ns or now_ns) - self.start_ns) / 1e9
        for target in self.config.targets:  # a model that got nothing still has its entry
            self.collector.totals.setdefault(target.name, ModelTotals())
        self.meta["interrupted_by"] = self.interrupted_by
        self.meta["load_duration_s"] = round(load_duration, 3)
        self._note_dataset_passes()
        load = self.meta.get("load", {})
        models = sorted(self.collector.totals)
        extras = summary_extras(load, self.plan.phases, self.collector.phase_totals, self.series,
                                models, load_duration)  # fmt: skip
        end_ns = self.load_end_ns or time.perf_counter_ns()
        for dispatcher in self.dispatchers.values():
            dispatcher.stop()
            self.arrivals.not_sent += dispatcher.unsent_before(end_ns)
        extras["generator"] = health_summary(self.generator_samples, self.arrivals.not_sent)
        self.summary = build_summary(
            run_id=self.meta["run_id"], started_at=self.meta["started_at"],
            duration_s=load_duration, target=self.meta.get("target", {}),
            load=load, models=self.collector.totals, partial=partial, extra=extras,
        )  # fmt: skip
        self.writer.close()
        self._write_run_json(partial=partial, duration_s=duration)
        write_json(self.run_dir / SUMMARY, self.summary)
        return self.summary

    def _write_run_json(self, *, partial: bool, duration_s: float | None = None) -> None:
        assert self.writer is not None
        now = time.time()
        self.meta.update(
            partial=partial, ended_at=utc_iso(now) if duration_s is not None else None,
            duration_s=round(duration_s, 3) if duration_s is not None else None,
            histograms=self.writer.histogram_files,
            generator=health_summary(self.generator_samples, self.arrivals.not_sent),
        )  # fmt: skip
        write_json(self.run_dir / RUN, self.meta)

    # -- users ------------------------------------------------------------------------------
    def assign_target(self) -> Target:
        target = self._picker.pick()
        self.user_seconds.change(target.name, +1)
        self._users_started += 1
        return target

    def release_target(self, target: Target) -> None:
        self.user_seconds.change(target.name, -1)

    def user_seed(self) -> int:
        """Same --seed, same think times: the n-th user of a run always gets the same seed."""
        return self.config.load.seed * 1_000_003 + self._users_started

    def _note_dataset_passes(self) -> None:
        """Replaying the dataset more than once flatters servers with a prefix cache."""
        size = len(self.conversations)
        passes = {name: round(n / size, 2) for name, n in self._next_conv.items()}
        for name, n in self.arrivals.passes().items():  # open loop by requests walks turns
            passes[name] = max(passes.get(name, 0.0), n)
        self.meta["dataset_passes"] = passes
        for name, n in passes.items():
            if n > 1:
                self.meta.setdefault("warnings", []).append(
                    f"{name}: the dataset's {size} conversations were replayed {n:g} times; "
                    "a server with a prefix cache answers repeats faster"
                )

    def next_conversation(self, target: Target) -> Conversation:
        """Every target walks the dataset in the same order, so all see the same prompts."""
        index = self._next_conv[target.name]
        self._next_conv[target.name] += 1
        return self.conversations[index % len(self.conversations)]

    def client_for(self, target: Target) -> HttpClient:
        assert target.host is not None
        return HttpClient(
            target.host, self.config.load.timeout_s, auth_headers(target), read_timeouts=False
        )

    def record(self, result: RequestResult) -> None:
        self.collector.record(result)
        if self.writer is not None:
            self.writer.add_request(result)

    # -- ticking ----------------------------------------------------------------------------
    def _tick_loop(self) -> None:
        interval = self.config.load.interval_s
        next_at = time.monotonic() + interval
        while True:
            gevent.sleep(max(0.0, next_at - time.monotonic()))
            next_at += interval
            self._tick()

    def _tick(self, final: bool = False) -> None:
        if self.writer is None:
            return
        now_ns = time.perf_counter_ns()
        start_s = (self.collector.interval_start_ns - self.start_ns) / 1e9
        end_s = (now_ns - self.start_ns) / 1e9
        intervals = self.collector.roll(now_ns)
        self.recent.push(intervals)
        active = self.user_seconds.interval_means(end_s - start_s)
        self.series += self.writer.add_intervals(start_s, end_s, intervals, active)
        if not final:  # the last, short interval is shutdown work, not load generation
            sample = self._generator_sample(start_s, end_s, sum(active.values()))
            self.generator_samples.append(sample)
            self.writer.add_generator_sample(sample)
        self.writer.flush()
        if self.on_tick is not None and not final:
            self.on_tick(self, end_s)

    def _generator_sample(self, start_s: float, end_s: float, users: int) -> GeneratorSample:
        wall, cpu = time.perf_counter(), time.process_time()
        last_wall, last_cpu = self._cpu_mark
        self._cpu_mark = (wall, cpu)
        percent = 100.0 * (cpu - last_cpu) / (wall - last_wall) if wall > last_wall else 0.0
        lag_max, lag_mean = self._lag.take()
        late, no_free_user = self.arrivals.take_interval_counts()
        return GeneratorSample(start_s, end_s, users, percent, lag_max, lag_mean, late,
                               no_free_user, draining=self.stopping)  # fmt: skip

    @property
    def last_generator_sample(self) -> GeneratorSample | None:
        return self.generator_samples[-1] if self.generator_samples else None

    @property
    def started(self) -> bool:
        return self.writer is not None

    @property
    def elapsed_s(self) -> float:
        return (time.perf_counter_ns() - self.start_ns) / 1e9


_ACTIVE: RunSession | None = None


def set_active(session: RunSession | None) -> None:
    global _ACTIVE
    _ACTIVE = session


def active() -> RunSession | None:
    return _ACTIVE
