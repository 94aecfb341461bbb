"""When the load generator itself, not the server, limits what was measured (pure).

Sampled once per interval: the process's CPU share and the gevent hub's lag (how late a
short sleep wakes up). A busy hub delays every timestamp taken in it, so past these bounds
the interval's latencies partly measure our own client; the console warns and the report
marks those seconds "generator-bound, measurements suspect".
"""

from __future__ import annotations

from dataclasses import dataclass

from loadprofile.contract.summary import BoundDetail, GeneratorHealth, Thresholds, given

#: Past this share of one core the process's greenlets queue for the CPU.
CPU_BOUND_PERCENT = 90.0
#: A hub that wakes a sleeper this late (max within an interval) delays token timestamps alike.
LOOP_LAG_BOUND_MS = 10.0
#: Open loop: a request sent this late after its due time means the generator fell behind.
START_DELAY_BOUND_MS = 10.0

#: Why an interval is generator-bound (summary.json's ``generator.bound_detail[].causes``).
CPU, LOOP_LAG, LATE_SENDS = "cpu", "loop_lag", "late_sends"


@dataclass(frozen=True)
class GeneratorSample:
    """One interval of the generator process's own health."""

    start_s: float
    end_s: float
    users: int
    cpu_percent: float
    loop_lag_ms_max: float = 0.0
    loop_lag_ms_mean: float = 0.0
    late_starts: int = 0  # open loop: sent later than START_DELAY_BOUND_MS with a user free
    starts_without_free_user: int = 0  # open loop: every user was busy (raise -u)
    draining: bool = False  # after the load: Locust's own stop work, not load generation

    @property
    def bound_causes(self) -> list[str]:
        """CPU, LOOP_LAG and LATE_SENDS, those past their bound; none while draining."""
        if self.draining:
            return []
        causes = [CPU] if self.cpu_percent >= CPU_BOUND_PERCENT else []
        if self.loop_lag_ms_max >= LOOP_LAG_BOUND_MS:
            causes.append(LOOP_LAG)
        if self.late_starts:
            causes.append(LATE_SENDS)
        return causes

    @property
    def bound_reasons(self) -> list[str]:
        reasons: list[str] = []
        if self.draining:
            return reasons
        if self.cpu_percent >= CPU_BOUND_PERCENT:
            reasons.append(f"CPU {self.cpu_percent:.0f}%")
        if self.loop_lag_ms_max >= LOOP_LAG_BOUND_MS:
            reasons.append(f"event-loop lag {self.loop_lag_ms_max:.0f} ms")
        if self.late_starts:
            reasons.append(f"{self.late_starts} request(s) sent late")
        return reasons


#: Below this CPU share a late event loop is the machine's doing, not our own work.
_BUSY_ELSEWHERE_PERCENT = 50.0


def _advice(sample: GeneratorSample) -> str:
    if sample.cpu_percent < _BUSY_ELSEWHERE_PERCENT:
        return (
            f"at {sample.cpu_percent:.0f}% CPU the generator itself was not busy: other "
            "processes on this machine (a server on the same host?) delayed it"
        )
    return "the generator is the bottleneck: use fewer users, a lower rate or more processes"


def health_warnings(sample: GeneratorSample) -> list[str]:
    """What the console says about one interval; empty when the generator kept up."""
    out = []
    span = f"{sample.start_s:.0f}-{sample.end_s:.0f}s"
    if sample.bound_reasons:
        out.append(
            f"load generator flagged at {span} ({', '.join(sample.bound_reasons)}): "
            f"measurements suspect; {_advice(sample)}"
        )
    if sample.starts_without_free_user:
        out.append(
            f"{sample.starts_without_free_user} arrival(s) at {span} found every user "
            "busy and went out late (timed from their due time); raise -u"
        )
    return out


def health_summary(samples: list[GeneratorSample], arrivals_not_sent: int = 0) -> GeneratorHealth:
    """summary.json's "generator": how hard the generator worked, which seconds are suspect,
    and (open loop) how many arrivals due before the end never went out for want of a user."""
    if not samples:
        return GeneratorHealth(arrivals_not_sent=arrivals_not_sent)
    bound = [s for s in samples if s.bound_reasons]
    return GeneratorHealth(
        cpu_percent_mean=round(sum(s.cpu_percent for s in samples) / len(samples), 1),
        cpu_percent_max=round(max(s.cpu_percent for s in samples), 1),
        loop_lag_ms_max=round(max(s.loop_lag_ms_max for s in samples), 2),
        late_starts=sum(s.late_starts for s in samples),
        starts_without_free_user=sum(s.starts_without_free_user for s in samples),
        arrivals_not_sent=arrivals_not_sent,
        bound_seconds=round(float(sum(s.end_s - s.start_s for s in bound)), 3),
        bound_intervals=[(round(s.start_s, 3), round(s.end_s, 3)) for s in bound],
        bound_detail=[
            BoundDetail(
                start_s=round(s.start_s, 3),
                end_s=round(s.end_s, 3),
                causes=s.bound_causes,
                cpu_percent=round(s.cpu_percent, 1),
                loop_lag_ms_max=round(s.loop_lag_ms_max, 2),
                late_starts=s.late_starts,
            )
            for s in bound
        ],
        thresholds=Thresholds(
            cpu_percent=CPU_BOUND_PERCENT,
            loop_lag_ms=LOOP_LAG_BOUND_MS,
            start_delay_ms=START_DELAY_BOUND_MS,
        ),
    )


# --- the end-of-run banner -----------------------------------------------------------------

#: Intervals closer than this are one span ("3-6 s", not "3-4 s, 4-5 s, 5-6 s").
_JOIN_GAP_S = 0.05
#: At most this many spans are named; the rest are counted.
_SPANS_SHOWN = 6


def _seconds(value: float) -> str:
    return f"{round(value, 1):g}"


def _spans(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Touching intervals merged into spans, in time order."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1] + _JOIN_GAP_S:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def describe_spans(intervals: list[tuple[float, float]]) -> str:
    """``[(3, 4), (4, 5), (5, 6), (12, 13)]`` as "3-6 s and 12-13 s" (the run's clock); past
    a few spans the rest are counted ("... and 9 more spans")."""
    named = [f"{_seconds(a)}-{_seconds(b)} s" for a, b in _spans(intervals)]
    if len(named) > _SPANS_SHOWN:
        rest = len(named) - (_SPANS_SHOWN - 1)
        named = [*named[: _SPANS_SHOWN - 1], f"{rest} more spans"]
    return _and(named) if named else ""


def bound_banner(generator: GeneratorHealth) -> str | None:
    """The end-of-run warning when the load generator itself, not the server, set the pace:
    which seconds, why (each cause's worst figure against its bound, and when) and what to
    do about it; None when it kept up. Pure: reads summary.json's ``generator`` alone (an
    older one without ``bound_detail`` gets the seconds without the causes)."""
    if not generator.bound_intervals:
        return None
    intervals = [(float(a), float(b)) for a, b in generator.bound_intervals]
    when = f"{_seconds(generator.bound_seconds)} s of the run (at {describe_spans(intervals)})"
    detail = given(generator.bound_detail) or []
    if not detail:
        return (
            f"the load generator was flagged for {when}: CPU, event-loop lag or late sends "
            "(see generator.csv); latencies measured then are suspect"
        )
    limits = given(generator.thresholds) or Thresholds()
    cpu_bound = limits.cpu_percent or CPU_BOUND_PERCENT
    lag_bound = limits.loop_lag_ms or LOOP_LAG_BOUND_MS
    late_bound = limits.start_delay_ms or START_DELAY_BOUND_MS
    # Lag or late sends while our own CPU was low: other processes held the generator up.
    ours = [d for d in detail if (d.cpu_percent or 0.0) >= _BUSY_ELSEWHERE_PERCENT]
    elsewhere = [d for d in detail if (d.cpu_percent or 0.0) < _BUSY_ELSEWHERE_PERCENT]

    def at(group: list[BoundDetail]) -> str:
        if len(group) == len(detail):
            return ""  # every flagged second: said once, up front
        return f" at {describe_spans([(d.start_s, d.end_s) for d in group])}"

    clauses = []
    cpu = [d for d in detail if CPU in d.causes]
    if cpu:
        worst = max(d.cpu_percent or 0.0 for d in cpu)
        clauses.append(f"its CPU was at {worst:.0f} % of a core (bound {cpu_bound:g} %){at(cpu)}")
    lag = [d for d in detail if LOOP_LAG in d.causes]
    if lag:
        worst = max(d.loop_lag_ms_max or 0.0 for d in lag)
        low_cpu = ""
        if not ours:
            low_cpu = (
                f" while its CPU averaged at most {max(d.cpu_percent or 0.0 for d in lag):.0f} %"
            )
        clauses.append(
            f"its event loop ran up to {worst:.0f} ms late (bound {lag_bound:g} ms)"
            f"{low_cpu}{at(lag)}"
        )
    late = [d for d in detail if LATE_SENDS in d.causes]
    if late:
        count = sum(d.late_starts for d in late)
        clauses.append(
            f"{count} request(s) went out more than {late_bound:g} ms after their due "
            f"time{at(late)}"
        )
    if not elsewhere:
        head = f"the load generator itself was the bottleneck for {when}"
        advice = "give it more CPU (--processes 2, or fewer users / a lower rate on this machine)"
    elif not ours:
        head = f"the load generator was held up for {when}"
        advice = (
            "it was not busy for long, so short bursts of its own work or other processes on "
            "this machine (a server on the same host?) delayed it; keep other work off its "
            "CPUs, or spread the load (--processes 2)"
        )
    else:
        head = f"the load generator could not keep up for {when}"
        advice = (
            "give it more CPU (--processes 2, or fewer users / a lower rate on this machine); "
            f"at {describe_spans([(d.start_s, d.end_s) for d in elsewhere])} its own CPU was "
            "low: short bursts of its own work or other processes on this machine held it up"
        )
    return (
        f"{head}: {'; '.join(clauses)}. Latencies measured then include the generator's own "
        f"delay, not only the server's: {advice}"
    )
