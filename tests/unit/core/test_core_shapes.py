"""Load shapes, arrival schedules, phases, recovery, goodput and the generator's health (pure)."""

from __future__ import annotations

import numpy as np
import pytest

from loadprofile.config.run_config import CliValues, ConfigError, resolve
from loadprofile.contract.summary import LoadSettings, PhaseFigures
from loadprofile.core.arrivals import ArrivalSchedule, target_seed
from loadprofile.core.collector import Collector, RequestSlo
from loadprofile.core.generator_health import GeneratorSample, health_summary, health_warnings
from loadprofile.core.loadplan import Phase, build_plan
from loadprofile.core.phases import (
    SeriesPoint,
    max_concurrency_within_slo,
    phase_index,
    recovery_seconds,
    summary_extras,
)
from loadprofile.core.results import ErrorClass, RequestResult
from tests.models import phases_of, plain

# --- options -------------------------------------------------------------------------------


def test_step_options_set_users_and_run_time() -> None:
    load = resolve(CliValues(shape="step", steps="1,10,25", base_users=2, step_time="60s")).load
    assert (load.steps, load.base_users, load.step_time_s) == ((1, 10, 25), 2, 60.0)
    assert (load.users, load.run_time_s) == (50, 180.0)
    assert load.spawn_rate >= 100  # a step arrives within a tick unless -r says otherwise


def test_spike_options_default_to_a_symmetric_after_phase_and_accept_u_as_base() -> None:
    load = resolve(
        CliValues(shape="spike", users=5, spike_users=100, spike_at="60s", spike_for="30s")
    ).load
    assert (load.base_users, load.spike_users, load.users) == (5, 100, 100)
    assert load.run_time_s == 150.0
    assert (
        resolve(
            CliValues(shape="spike", spike_users=9, spike_at="5s", spike_for="2s", spawn_rate=3)
        ).load.spawn_rate
        == 3.0
    )


def test_open_loop_options_size_the_pool_and_drop_think_time() -> None:
    load = resolve(CliValues(rate=12.5, arrival="gamma:0.5")).load
    assert load.open_loop and (load.rate, load.arrival, load.gamma_shape) == (12.5, "gamma", 0.5)
    assert load.users == 125 and load.think_time_s == (0.0, 0.0)
    assert resolve(CliValues(rate=1000)).load.users == 1000  # capped
    assert resolve(CliValues(rate=0.5)).load.users == 20  # floor
    assert resolve(CliValues(rate=5, users=7)).load.users == 7
    conv = resolve(CliValues(rate=2, rate_unit="conversations", think_time="1-2")).load
    assert conv.think_time_s == (1.0, 2.0)


def test_stages_come_from_the_toml_config(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.toml"
    path.write_text(
        '[load]\nshape = "stages"\n[[load.stages]]\nduration = "10s"\nusers = 4\n'
        '[[load.stages]]\nduration = "5s"\nusers = 40\nspawn_rate = 40\n'
    )
    load = resolve(CliValues(config=path)).load
    plan = build_plan(load)
    assert [(s.end_s, s.users, s.spawn_rate) for s in plan.stages] == [
        (10.0, 4, load.spawn_rate),
        (15.0, 40, 40.0),
    ]
    assert [p.name for p in plan.phases] == ["stage 1 (4 users)", "stage 2 (40 users)"]
    assert load.run_time_s == 15.0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"shape": "zigzag"}, "bad shape"),
        ({"shape": "step", "steps": "1,2"}, "needs --steps"),
        ({"shape": "step", "steps": "1,x", "step_time": "5s"}, "not a whole number"),
        ({"shape": "step", "steps": "2,2", "step_time": "5s"}, "must rise"),
        ({"shape": "step", "steps": "1,2", "step_time": "0.5s"}, "at least 1s"),
        ({"shape": "step", "steps": "1,2", "step_time": "5s", "run_time": "9s"}, "drop -t"),
        ({"shape": "spike", "spike_users": 10}, "needs --spike-users"),
        (
            {
                "shape": "spike",
                "spike_users": 3,
                "base_users": 5,
                "spike_at": "5s",
                "spike_for": "5s",
            },
            "must exceed",
        ),
        (
            {
                "shape": "spike",
                "spike_users": 30,
                "spike_at": "5s",
                "spike_for": "5s",
                "run_time": "10s",
            },
            "outlast the spike",
        ),
        ({"shape": "stages"}, "needs [[load.stages]]"),
        ({"spike_users": 10}, "belongs to --shape spike"),
        ({"base_users": 3}, "belongs to --shape step or spike"),
        ({"rate": 0}, "positive number"),
        (
            {"rate": 5, "shape": "spike", "spike_users": 9, "spike_at": "2s", "spike_for": "2s"},
            "does not combine",
        ),
        ({"rate": 5, "arrival": "weibull"}, "bad arrival"),
        ({"rate": 5, "arrival": "gamma"}, "give gamma's shape"),
        ({"rate": 5, "arrival": "gamma:-1"}, "positive number"),
        ({"rate": 5, "arrival": "poisson:2"}, "only gamma"),
        ({"arrival": "poisson"}, "needs --rate"),
        ({"rate": 5, "history": "live"}, "--rate-unit conversations"),
        ({"rate": 5, "think_time": "1-2"}, "no meaning"),
        ({"pace": "2s", "think_time": "1"}, "give one"),
        ({"pace": "2s", "rate": 3}, "closed-loop"),
        ({"slo_ttft_ms": -5}, "positive number"),
    ],
)
def test_bad_combinations_are_refused_with_a_reason(values: dict, message: str) -> None:
    with pytest.raises(
        ConfigError,
        match=message.replace("[", r"\[")
        .replace("]", r"\]")
        .replace("(", r"\(")
        .replace(")", r"\)"),
    ):
        resolve(CliValues(**values))


# --- plans and phases ----------------------------------------------------------------------


def test_spike_plan_has_three_phases_and_stages() -> None:
    load = resolve(
        CliValues(
            shape="spike",
            base_users=5,
            spike_users=50,
            spike_at="10s",
            spike_for="5s",
            run_time="30s",
        )
    ).load
    plan = build_plan(load)
    assert [(p.name, p.start_s, p.end_s, p.users) for p in plan.phases] == [
        ("before", 0.0, 10.0, 5),
        ("burst", 10.0, 15.0, 50),
        ("after", 15.0, 30.0, 5),
    ]
    assert [plan.stage_at(t).users for t in (0.0, 9.99, 10.0, 14.9, 15.0, 29.9)] == [  # type: ignore[union-attr]
        5,
        5,
        50,
        50,
        5,
        5,
    ]
    assert plan.stage_at(30.0) is None and plan.run_time_s == 30.0
    assert phase_index(plan.phases, 12.0) == 1
    assert phase_index(plan.phases, 31.0) == 2  # the drain belongs to the last phase
    assert phase_index(plan.phases, -1.0) is None


def test_steady_plan_is_one_phase() -> None:
    plan = build_plan(resolve(CliValues(users=7, run_time="20s")).load)
    assert [(p.name, p.users, p.end_s) for p in plan.phases] == [("steady", 7, 20.0)]


def _series(model: str, p99s: list[float | None], users: int = 1) -> list[SeriesPoint]:
    return [
        SeriesPoint(float(i), float(i + 1), model, users, 10, 0, 10, 100, None, None, p99)
        for i, p99 in enumerate(p99s)
    ]


def test_recovery_waits_for_three_good_intervals_after_the_burst() -> None:
    # burst ends at 5 s; before p99 = 100 ms -> bound 120 ms
    p99s = [100, 100, 100, 900, 900, 800, 110, 500, 115, 119, None, 118, 300]
    series = _series("m", p99s)  # type: ignore[arg-type]
    # 6 s is good but 7 s is not; from 8 s: 115, 119, (no data), 118 -> recovered at 8 s
    assert recovery_seconds(series, "m", 5.0, 100.0) == 3.0
    assert recovery_seconds(series, "m", 5.0, None) is None
    assert recovery_seconds(_series("m", [100, 900, 900, 900]), "m", 1.0, 100.0) is None
    assert recovery_seconds(_series("m", [100, 100, 100, 100]), "m", 1.0, 100.0) == 0.0


def test_max_concurrency_stops_at_the_first_step_over_the_slo() -> None:
    def phase(users: int, p99: float | None) -> PhaseFigures:
        return phases_of([{"models": {"m": {"users": users, "ttft_ms": {"p99": p99}}}}])[0]

    phases = [phase(2, 50), phase(4, 90), phase(8, 200), phase(16, 80)]
    assert max_concurrency_within_slo(phases, ["m"], 100) == {"m": 4}
    assert max_concurrency_within_slo(phases[2:], ["m"], 100) == {"m": 0}
    assert max_concurrency_within_slo([phase(0, None), phase(3, 10)], ["m"], 100) == {"m": 3}


def _result(
    ttft: float, tpot: float | None = 10.0, ok: bool = True, delay: float = 0.0
) -> RequestResult:
    r = RequestResult(
        "m",
        "c",
        1,
        0.0,
        ttft_ms=ttft + delay,
        tpot_ms=tpot,
        e2e_ms=ttft + delay + 100,
        ttft_service_ms=ttft,
        e2e_service_ms=ttft + 100,
        start_delay_ms=delay,
        output_tokens=11,
    )
    if not ok:
        r.error_class = ErrorClass.HTTP_5XX
    return r


def test_goodput_counts_successes_within_every_given_slo() -> None:
    collector = Collector(0, slo=RequestSlo(ttft_ms=100.0, tpot_ms=20.0))
    for r in (
        _result(50),
        _result(150),
        _result(50, tpot=25.0),
        _result(50, tpot=None),
        _result(50, ok=False),
    ):
        collector.record(r)
    collector.roll(1_000_000_000)
    assert collector.totals["m"].counts.good == 2
    plain = Collector(0)
    for r in (_result(50), _result(5000), _result(50, ok=False)):
        plain.record(r)
    plain.roll(1)
    assert plain.totals["m"].counts.good == 2  # no SLO: every success is good


def test_scheduled_and_service_times_go_to_their_own_histograms() -> None:
    collector = Collector(0)
    collector.record(_result(50.0, delay=400.0))
    collector.roll(1)
    hists = collector.totals["m"].histograms
    assert hists["ttft_ms"].get_max_value() == pytest.approx(450_000, rel=1e-3)
    assert hists["ttft_service_ms"].get_max_value() == pytest.approx(50_000, rel=1e-3)


def test_paced_runs_get_hdrhistograms_expected_interval_correction() -> None:
    collector = Collector(0, pace_us=1_000_000)  # one request per second per user
    collector.record(_result(3500.0))  # a 3.5 s stall held back three paced requests
    collector.roll(1)
    ttft = collector.totals["m"].histograms["ttft_ms"]
    service = collector.totals["m"].histograms["ttft_service_ms"]
    assert ttft.get_total_count() == 4  # 3.5, 2.5, 1.5, 0.5 s
    assert ttft.get_min_value() == pytest.approx(500_000, rel=1e-3)
    assert service.get_total_count() == 1


def test_intervals_go_to_the_phase_that_holds_their_midpoint() -> None:
    phases = (Phase("before", 0, 2, 1), Phase("burst", 2, 4, 9), Phase("after", 4, 6, 1))
    collector = Collector(0, phase_of=lambda t: phase_index(phases, t))
    for second, count in enumerate((1, 1, 5, 5, 1, 1, 2)):  # the last second is the drain
        for _ in range(count):
            collector.record(_result(50.0 + 100 * (count > 1)))
        collector.roll((second + 1) * 1_000_000_000)
    requests = {i: t["m"].counts.requests for i, t in collector.phase_totals.items()}
    assert requests == {0: 2, 1: 10, 2: 4}
    series = [
        SeriesPoint(float(s), s + 1.0, "m", u, 1, 0, 1, 1)
        for s, u in enumerate((1, 1, 9, 9, 1, 1, 1))
    ]
    extras = plain(
        summary_extras(LoadSettings(shape="spike"), phases, collector.phase_totals, series, ["m"])
    )
    burst = extras["phases"][1]["models"]["m"]
    assert (burst["users"], burst["requests"], burst["requests_per_s"]) == (9, 10, 5.0)
    assert burst["ttft_ms"]["p50"] == pytest.approx(150.0, rel=1e-3)
    assert "recovery_s" in extras and "max_concurrency_within_slo" not in extras
    assert plain(summary_extras(LoadSettings(shape="steady"), (), {}, [], ["m"])) == {}


# --- arrivals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "shape", "cv2"),
    [
        ("constant", 1.0, 0.0),
        ("poisson", 1.0, 1.0),
        ("gamma", 0.25, 4.0),
        ("gamma", 4.0, 0.25),
    ],
)
def test_schedules_have_the_configured_rate_and_burstiness(
    kind: str, shape: float, cv2: float
) -> None:
    schedule = ArrivalSchedule(50.0, kind, shape, seed=11, start_ns=0, duration_s=1000.0)
    due = []
    while (t := schedule.take()) is not None:
        due.append(t / 1e9)
    gaps = np.diff(due)
    assert len(due) == pytest.approx(50_000, rel=0.03)
    assert gaps.mean() == pytest.approx(0.02, rel=0.03)
    assert gaps.var() / gaps.mean() ** 2 == pytest.approx(cv2, rel=0.15, abs=1e-9)
    assert all(0 <= t < 1000.0 for t in due)


def test_schedules_are_fixed_by_the_seed_and_differ_per_target() -> None:
    def first(seed: int) -> list[int | None]:
        s = ArrivalSchedule(10.0, "poisson", 1.0, seed, 5, 100.0)
        return [s.take() for _ in range(5)]

    assert first(target_seed(1, "a")) == first(target_seed(1, "a"))
    assert first(target_seed(1, "a")) != first(target_seed(1, "b"))
    assert target_seed(1, "a") == target_seed(1, "a") != target_seed(2, "a")


# --- generator health ----------------------------------------------------------------------


def test_generator_bound_intervals_and_warnings() -> None:
    calm = GeneratorSample(0.0, 1.0, 10, 40.0, 1.0, 0.2)
    hot = GeneratorSample(1.0, 2.0, 10, 95.0, 3.0, 0.5)
    laggy = GeneratorSample(2.0, 3.0, 10, 30.0, 25.0, 2.0, late_starts=2)
    busy = GeneratorSample(3.0, 4.0, 10, 30.0, 1.0, 0.1, starts_without_free_user=5)
    draining = GeneratorSample(4.0, 5.0, 0, 99.0, 50.0, 9.0, draining=True)
    assert calm.bound_reasons == [] and draining.bound_reasons == []
    assert hot.bound_reasons == ["CPU 95%"]
    assert laggy.bound_reasons == ["event-loop lag 25 ms", "2 request(s) sent late"]
    assert health_warnings(calm) == []
    assert "bottleneck" in health_warnings(hot)[0]
    assert "other processes" in health_warnings(laggy)[0]  # lag at 30 % CPU: not our work
    assert "raise -u" in health_warnings(busy)[0]
    summary = plain(health_summary([calm, hot, laggy, busy, draining]))
    assert summary["bound_intervals"] == [[1.0, 2.0], [2.0, 3.0]]
    assert summary["bound_seconds"] == 2.0
    assert (summary["late_starts"], summary["starts_without_free_user"]) == (2, 5)
    assert summary["cpu_percent_max"] == 99.0
    assert plain(health_summary([], 3)) == {
        "bound_seconds": 0.0,
        "bound_intervals": [],
        "arrivals_not_sent": 3,
    }


def test_open_loop_accounts_for_every_arrival() -> None:
    from loadprofile.config.run_config import Target
    from loadprofile.core.open_loop import FleetShare, OpenLoop, pool_warmup_s
    from loadprofile.dataset.conversations import Conversation, Turn

    load = resolve(
        CliValues(rate=10, arrival="constant", users=5, spawn_rate=10, run_time="10s")
    ).load
    assert pool_warmup_s(load) == 0.5
    assert pool_warmup_s(resolve(CliValues(rate=10, users=500, spawn_rate=1)).load) == 7.5
    conv = Conversation("c", None, (Turn("a", "x"), Turn("b", "y")))
    targets = (Target("m", "m", weight=3), Target("n", "n", weight=1))
    loop = OpenLoop(load, targets, [conv])
    assert loop.start(0) == 0.5
    m_due = [loop.schedules["m"].take() for _ in range(3)]
    assert m_due == [pytest.approx(5e8 + k * 1e9 / 7.5, abs=2) for k in (1, 2, 3)]  # 7.5/s
    assert [loop.next_turn(targets[1])[1] for _ in range(3)] == [0, 1, 0]
    assert loop.turn_cursor == {"n": 3}
    second = OpenLoop(load, targets, [conv, conv])  # worker 1 of 2 takes turns 1, 3, ...
    second.start(0, FleetShare(1, 2))
    assert [second.next_turn(targets[1])[1] for _ in range(2)] == [1, 1]
    late = OpenLoop(load, targets, [conv])  # joined a running run: users, no arrivals
    late.start(0, FleetShare(2, 2))
    assert late.schedules["m"].take() is None
    loop.note_start(delay_ms=2.0, no_free_user=False)
    loop.note_start(delay_ms=50.0, no_free_user=False)
    loop.note_start(delay_ms=50.0, no_free_user=True)
    assert loop.take_interval_counts() == (1, 1) and loop.take_interval_counts() == (0, 0)
    loop.note_unsent(9_000_000_000, load_end_ns=8_000_000_000)  # due after the end: not owed
    loop.note_unsent(7_000_000_000, load_end_ns=8_000_000_000)
    assert loop.not_sent == 1


def test_dispatcher_wakes_the_last_idle_user_and_backlogs_the_rest() -> None:
    import time

    import gevent

    from loadprofile.engine.dispatch import ArrivalDispatcher

    now = time.perf_counter_ns()
    schedule = ArrivalSchedule(100.0, "constant", 1.0, 0, now, 0.055)  # due at 10..50 ms
    dispatcher = ArrivalDispatcher(schedule)
    got: list[tuple[str, int | None, bool]] = []

    def user(name: str, busy_s: float) -> None:
        while True:
            due, waited = dispatcher.wait()
            got.append((name, due, waited))
            if due is None:
                return
            gevent.sleep(busy_s)

    # "a" idles first, "b" last: b takes the first arrival (LIFO), a the second; both stay
    # busy 25 ms, so the third (30 ms) finds nobody idle and waits in the backlog.
    users = [gevent.spawn(user, "a", 0.025)]
    gevent.sleep(0.001)
    users.append(gevent.spawn(user, "b", 0.025))
    gevent.sleep(0.001)
    dispatcher.start()
    gevent.joinall(users, timeout=2)
    order = [(name, waited) for name, due, waited in got if due is not None]
    assert order[:3] == [("b", False), ("a", False), ("b", True)]
    assert len(order) == 5 and [g[0] for g in got if g[1] is None] != []
    dues = [due for _, due, _ in got if due is not None]
    assert dues == sorted(dues) and dues[0] == pytest.approx(now + 1e7, abs=2)
    late = ArrivalDispatcher(ArrivalSchedule(100.0, "constant", 1.0, 0, 0, 0.055))
    late.backlog.extend([10, 20])
    assert late.unsent_before(35_000_000) == 2 + 3  # the backlog, and 10, 20, 30 ms unsent


def test_phases_are_clipped_to_the_load_that_ran() -> None:
    from loadprofile.core.phases import clip_phases

    plan = (Phase("before", 0, 4, 2), Phase("burst", 4, 8, 20), Phase("after", 8, 16, 2))
    assert [(p.name, p.end_s) for p in clip_phases(plan, 5.5)] == [("before", 4), ("burst", 5.5)]
    assert [p.end_s for p in clip_phases(plan, 16.02)] == [4, 8, 16.02]
    assert clip_phases(plan, None) == list(plan)
    steady = (Phase("steady", 0, 30, 5),)
    assert clip_phases(steady, 95.0) == [Phase("steady", 0, 95.0, 5)]  # plain Locust, no -t
