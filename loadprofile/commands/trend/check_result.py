"""What ``trend check`` found: the regressions and improvements among a series' recent runs
(check.py finds them, check_output.py writes them)."""

from __future__ import annotations

from dataclasses import dataclass

from loadprofile.commands.trend.analysis import Change, MetricTrend, SeriesTrend


@dataclass(frozen=True)
class Finding:
    """A change point among the recent runs of one series."""

    series: str
    trend: MetricTrend
    change: Change


@dataclass(frozen=True)
class CheckResult:
    trends: list[SeriesTrend]
    metrics: tuple[str, ...]
    recent: int
    min_change: float
    regressions: list[Finding]
    improvements: list[Finding]

    @property
    def passed(self) -> bool:
        return not self.regressions
