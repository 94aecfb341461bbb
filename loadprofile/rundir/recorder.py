"""The run folder's side of a run: closed intervals and finished requests in, files out.

One ``RunRecorder`` per run folder. A local run feeds it straight from its own collector; the
master of a distributed run feeds it the intervals merged from its workers' packets. Either
way it writes the same files and the same summary (no Locust, no gevent here).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import msgspec

from loadprofile.contract.run_meta import WorkerEntry
from loadprofile.contract.summary import (
    Correctness,
    Stability,
    Summary,
    TargetInfo,
    WorkersBrief,
)
from loadprofile.core.collector import Collector, ModelInterval, ModelTotals
from loadprofile.core.cost import run_cost
from loadprofile.core.generator_health import GeneratorSample, health_summary
from loadprofile.core.loadplan import Phase
from loadprofile.core.metrics import TTFT
from loadprofile.core.phases import SeriesPoint, summary_extras
from loadprofile.core.recent import RecentWindow
from loadprofile.core.results import RequestResult
from loadprofile.core.steps import Steps, ready, run_steps
from loadprofile.core.summary import build_summary
from loadprofile.quality.output_samples import drift_against_baseline
from loadprofile.rundir.meta import meta_of
from loadprofile.rundir.reader import iter_request_rows
from loadprofile.rundir.writer import RUN, SUMMARY, RunWriter, write_json, write_summary


class BackgroundWriter(Protocol):
    """Writes a file of its own into the run folder while the run goes (the server-metrics
    scraper): started as the folder opens, stopped before the last run.json is written."""

    def start(self, run_dir: Path, start_unix: float, meta: dict[str, Any]) -> None: ...

    def stop(self) -> None: ...


def utc_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class RunRecorder:
    def __init__(
        self,
        run_dir: Path,
        meta: dict[str, Any],
        phases: Sequence[Phase] = (),
        scraper: BackgroundWriter | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.scraper = scraper
        self.meta = meta
        self.phases = list(phases)
        self.writer: RunWriter | None = None
        self.series: list[SeriesPoint] = []
        self.generator_samples: list[GeneratorSample] = []
        self.recent = RecentWindow(TTFT)
        self.arrivals_not_sent = 0
        self.summary: Summary | None = None

    def open(self, start_unix: float) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.writer = RunWriter(self.run_dir, start_unix)
        self.meta["started_at"] = utc_iso(start_unix)
        if self.scraper is not None:
            self.scraper.start(self.run_dir, start_unix, self.meta)
        self.write_run_json(partial=True)

    def add_request(self, result: RequestResult) -> None:
        if self.writer is not None:
            self.writer.add_request(result)

    def add_request_rows(self, rows: list[list[str]]) -> None:
        if self.writer is not None:
            self.writer.add_request_rows(rows)

    def add_contract_example(self, example: dict[str, Any]) -> None:
        if self.writer is not None:
            self.writer.add_contract_example(example)

    def add_interval(
        self,
        start_s: float,
        end_s: float,
        intervals: list[ModelInterval],
        users: dict[str, int],
        sample: GeneratorSample | None,
    ) -> None:
        """One closed interval (its histograms already folded into the collector's totals)."""
        run_steps(self.interval_steps(start_s, end_s, ready(intervals), users, sample))

    def interval_steps(
        self,
        start_s: float,
        end_s: float,
        intervals: Steps,
        users: dict[str, int],
        sample: GeneratorSample | None,
        final: bool = False,
    ) -> Steps:
        """``add_interval`` in slices (one histogram, a log line, a time-series row each),
        building the histograms first (``intervals``)."""
        built: list[ModelInterval] = yield from intervals
        if self.writer is None:
            return
        self.recent.push(built)
        self.series += yield from self.writer.interval_steps(start_s, end_s, built, users)
        if sample is not None:
            self.generator_samples.append(sample)
            self.writer.add_generator_sample(sample)
        self.writer.flush()

    @property
    def last_generator_sample(self) -> GeneratorSample | None:
        return self.generator_samples[-1] if self.generator_samples else None

    def finish(
        self,
        collector: Collector,
        models: Sequence[str],
        *,
        partial: bool,
        duration_s: float,
        load_duration_s: float,
        samples: list[dict[str, Any]] | None = None,
        baselines: dict[str, str] | None = None,
        stability: Stability | None = None,
    ) -> Summary:
        """Write summary.json and the final run.json (the writer closes); with sampled
        replies, samples.jsonl and their drift against each model's baseline snapshot."""
        assert self.writer is not None
        if self.scraper is not None:
            self.scraper.stop()
        for model in models:  # a model that got nothing still has its entry
            collector.totals.setdefault(model, ModelTotals())
        self.meta["load_duration_s"] = round(load_duration_s, 3)
        run = meta_of(self.meta)
        names = sorted(collector.totals)
        timeline = summary_extras(
            run.load, self.phases, collector.phase_totals, self.series, names, load_duration_s
        )
        self.writer.flush()  # every row on disk: cost is summed from requests.csv
        summary = build_summary(
            run_id=run.run_id,
            started_at=run.started_at or "",
            duration_s=load_duration_s,
            target=run.target or TargetInfo(),
            load=run.load,
            models=collector.totals,
            partial=partial,
            timeline=timeline,
            generator=health_summary(self.generator_samples, self.arrivals_not_sent),
            workers=None if run.workers is msgspec.UNSET else _workers_brief(run.workers),
            canonical=models[0] if models else None,
            cost=run_cost(run, iter_request_rows(self.run_dir)),
        )
        if samples:
            self.writer.write_samples(samples)
            correctness = dict(summary.correctness)
            for model, folder in (baselines or {}).items():
                mine = [s for s in samples if s.get("model") == model]
                correctness[model] = msgspec.structs.replace(
                    correctness.get(model) or Correctness(),
                    drift=drift_against_baseline(mine, Path(folder)),
                )
            summary = msgspec.structs.replace(summary, correctness=correctness)
        if stability is not None:
            summary = msgspec.structs.replace(summary, stability=stability)
        self.summary = summary
        self.writer.close()
        self.write_run_json(partial=partial, duration_s=duration_s)
        write_summary(self.run_dir / SUMMARY, summary)
        return summary

    def write_run_json(self, *, partial: bool, duration_s: float | None = None) -> None:
        assert self.writer is not None
        self.meta.update(
            partial=partial,
            ended_at=utc_iso(time.time()) if duration_s is not None else None,
            duration_s=round(duration_s, 3) if duration_s is not None else None,
            histograms=self.writer.histogram_files,
            generator=msgspec.to_builtins(
                health_summary(self.generator_samples, self.arrivals_not_sent)
            ),
        )
        write_json(self.run_dir / RUN, self.meta)


def _workers_brief(workers: list[WorkerEntry]) -> WorkersBrief:
    """summary.json's "workers": how many, and which did not finish (their data is kept)."""
    return WorkersBrief(
        count=len([w for w in workers if w.status != "refused"]),
        partial=[w.id for w in workers if w.partial and w.status != "refused"],
        refused=[w.id for w in workers if w.status == "refused"],
    )
