"""When the load generator itself, not the server, limits what was measured (pure).

Sampled once per interval: the process's CPU share and the gevent hub's lag (how late a
short sleep wakes up). A busy hub delays every timestamp taken in it, so past these bounds
the interval's latencies partly measure our own client; the console warns and the report
marks those seconds "generator-bound, measurements suspect".
"""

from __future__ import annotations

from dataclasses import dataclass

from loadprofile.contract.summary import GeneratorHealth, Thresholds

#: Past this share of one core the process's greenlets queue for the CPU.
CPU_BOUND_PERCENT = 90.0
#: A hub that wakes a sleeper this late (max within an interval) delays token timestamps alike.
LOOP_LAG_BOUND_MS = 10.0
#: Open loop: a request sent this late after its due time means the generator fell behind.
START_DELAY_BOUND_MS = 10.0


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
        thresholds=Thresholds(
            cpu_percent=CPU_BOUND_PERCENT,
            loop_lag_ms=LOOP_LAG_BOUND_MS,
            start_delay_ms=START_DELAY_BOUND_MS,
        ),
    )
