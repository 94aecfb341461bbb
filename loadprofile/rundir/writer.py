"""The run folder: the only thing the report, compare and gate ever read.

Layout (``--out DIR``)::

    summary.json                   schema 2 (core/summary.py), written at the end
    run.json                       config minus secrets, versions, command line, host, times
    requests.csv                   one row per request, appended as requests finish
    timeseries.csv                 one row per interval and model (users, requests, tokens)
    generator.csv                  one row per interval: the load generator's own CPU
    contract_examples.jsonl        up to 20 replies per model that broke the response contract
    samples.jsonl                  --sample-outputs: a uniform sample of replies per model
    server_metrics.csv             --server-metrics: the server's own metrics, scraped each second
    histograms/<model>.<metric>.hlog  HdrHistogram interval logs, values in microseconds
    trend.json                     the labels and series it was added to a trend store with
                                   (trend_file.py)
    report.html                    built from the files above

Everything but the summary is written while the run goes, so a killed run still leaves
what it measured; ``rundir_read.rebuild_summary`` recomputes the summary from the logs and
the table.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

import msgspec

from loadprofile.contract.summary import Summary
from loadprofile.core.collector import ModelInterval
from loadprofile.core.counts import Counts
from loadprofile.core.generator_health import GeneratorSample
from loadprofile.core.hdr import value_at_percentiles
from loadprofile.core.metrics import TTFT
from loadprofile.core.phases import SeriesPoint
from loadprofile.core.results import RequestResult
from loadprofile.core.steps import Steps, run_steps
from loadprofile.rundir.hlog import HlogWriter

SUMMARY = "summary.json"
RUN = "run.json"
REQUESTS = "requests.csv"
TIMESERIES = "timeseries.csv"
GENERATOR = "generator.csv"
CONTRACT_EXAMPLES = "contract_examples.jsonl"
SAMPLES = "samples.jsonl"
#: --server-metrics: the scraped Prometheus samples (format in server_metrics.py).
SERVER_METRICS = "server_metrics.csv"
#: Offending replies kept per model in contract_examples.jsonl (the count has them all).
MAX_CONTRACT_EXAMPLES = 20
HISTOGRAMS = "histograms"
REPORT = "report.html"

REQUEST_COLUMNS = (
    "start_unix",
    "start_s",
    "model",
    "conversation_id",
    "turn",
    "request_id",
    "prompt_chars",
    "prompt_tokens",
    "output_tokens",
    "tokens_estimated",
    "ttft_ms",
    "tpot_ms",
    "e2e_ms",
    "connect_ms",
    "chunks",
    "status",
    "error_class",
    "error",
    "start_delay_ms",
    "ttft_service_ms",
    "e2e_service_ms",
    "contract_notes",
    "json_valid",
    "output_chars",
    "ungrounded",
    "cached_tokens",
    "attempts",
    "attempt_errors",
    "cost_usd",
    "retry_cost_usd",
    "transaction",
    "transaction_end",
    "ttfvt_ms",
    "connection",
    "server_prompt_ms",
    "server_predicted_ms",
    "tls_ms",
)
TIMESERIES_COLUMNS = (
    "start_s",
    "end_s",
    "model",
    "users",
    "requests",
    "failures",
    "output_tokens",
    "good",
    "ttft_p50_ms",
    "ttft_p95_ms",
    "ttft_p99_ms",
)
GENERATOR_COLUMNS = (
    "start_s",
    "end_s",
    "users",
    "cpu_percent",
    "loop_lag_ms_max",
    "loop_lag_ms_mean",
    "late_starts",
    "starts_without_free_user",
    "bound",
)


def model_slug(model: str) -> str:
    """A file-name-safe form of a model label (labels may hold '/' or ':').

    When characters had to be replaced, a short hash of the label keeps two labels that
    differ only there ('org/m', 'org:m') from sharing one file."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("._") or "model"
    if safe == model:
        return safe
    return f"{safe}-{hashlib.sha1(model.encode('utf-8')).hexdigest()[:6]}"


def histogram_path(run_dir: Path, model: str, metric: str) -> Path:
    return run_dir / HISTOGRAMS / f"{model_slug(model)}.{metric}.hlog"


def write_json(path: Path, obj: Any) -> None:
    """Atomic write, so a reader never sees half a file even if the run dies mid-write."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_summary(path: Path, summary: Summary) -> None:
    """summary.json, written as every JSON file of the folder (indented, atomic)."""
    write_json(path, msgspec.to_builtins(summary))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _fmt(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def contract_example(r: RequestResult, kind: str = "contract") -> dict[str, Any]:
    """One line of contract_examples.jsonl: a reply that broke the contract (``contract``),
    or named things found nowhere (``grounding``), and why."""
    if kind == "grounding":
        why = "names found in neither the catalogue nor the prompt: " + ", ".join(
            r.ungrounded or ()
        )
    else:
        why = r.error
    return {
        "kind": kind,
        "model": r.model,
        "request_id": r.request_id,
        "conversation_id": r.conversation_id,
        "turn": r.turn,
        "start_unix": round(r.start_unix, 3),
        "error": why,
        "finish_reason": r.finish_reason,
        "content": r.content[:4000],
    }


def request_row(r: RequestResult, run_start_unix: float) -> list[str]:
    """One row of requests.csv (REQUEST_COLUMNS), as text."""
    return [
        f"{r.start_unix:.6f}",
        f"{r.start_unix - run_start_unix:.3f}",
        r.model,
        r.conversation_id,
        str(r.turn),
        r.request_id,
        str(r.prompt_chars),
        "" if r.prompt_tokens is None else str(r.prompt_tokens),
        str(r.output_tokens),
        str(int(r.tokens_estimated)),
        _fmt(r.ttft_ms),
        _fmt(r.tpot_ms),
        _fmt(r.e2e_ms),
        _fmt(r.connect_ms),
        str(r.chunks),
        str(r.status),
        r.error_class or "",
        r.error,
        _fmt(r.start_delay_ms),
        _fmt(r.ttft_service_ms),
        _fmt(r.e2e_service_ms),
        ";".join(r.contract_notes),
        "" if r.json_valid is None else str(int(r.json_valid)),
        str(len(r.content)),
        "" if r.ungrounded is None else (";".join(r.ungrounded) or "-"),
        "" if r.cached_tokens is None else str(r.cached_tokens),
        str(r.attempts),
        ";".join(str(a.error_class) for a in r.earlier),
        "" if r.cost_usd is None else f"{r.cost_usd:.9g}",
        f"{r.retry_cost_usd:.9g}",
        r.transaction,
        str(int(r.transaction_end)),
        _fmt(r.ttfvt_ms),
        r.connection,
        _fmt(r.server_prompt_ms),
        _fmt(r.server_predicted_ms),
        _fmt(r.tls_ms),
    ]


class RunWriter:
    """Appends measurements to the run folder as they arrive (one per process)."""

    def __init__(self, run_dir: Path, start_unix: float) -> None:
        self.run_dir = run_dir
        self.start_unix = start_unix
        (run_dir / HISTOGRAMS).mkdir(parents=True, exist_ok=True)
        self._requests, self._requests_csv = self._open_csv(REQUESTS, REQUEST_COLUMNS)
        self._series, self._series_csv = self._open_csv(TIMESERIES, TIMESERIES_COLUMNS)
        self._generator, self._generator_csv = self._open_csv(GENERATOR, GENERATOR_COLUMNS)
        self._hlogs: dict[tuple[str, str], tuple[TextIO, HlogWriter]] = {}
        self.histogram_files: dict[str, dict[str, str]] = {}
        self._examples: TextIO | None = None
        self._examples_per_model: dict[str, int] = {}

    def _open_csv(self, name: str, columns: tuple[str, ...]) -> tuple[TextIO, Any]:
        fh = (self.run_dir / name).open("w", newline="", encoding="utf-8")
        writer = csv.writer(fh)
        writer.writerow(columns)
        return fh, writer

    def add_request(self, r: RequestResult) -> None:
        self._requests_csv.writerow(request_row(r, self.start_unix))

    def add_request_rows(self, rows: Iterable[list[str]]) -> None:
        """Rows formatted elsewhere (by the workers of a distributed run)."""
        self._requests_csv.writerows(rows)

    def add_contract_example(self, example: dict[str, Any]) -> None:
        """Keep an offending reply, up to MAX_CONTRACT_EXAMPLES per model."""
        slot = f"{example.get('model')}\0{example.get('kind', 'contract')}"
        if self._examples_per_model.get(slot, 0) >= MAX_CONTRACT_EXAMPLES:
            return
        self._examples_per_model[slot] = self._examples_per_model.get(slot, 0) + 1
        if self._examples is None:
            self._examples = (self.run_dir / CONTRACT_EXAMPLES).open("w", encoding="utf-8")
        self._examples.write(json.dumps(example, ensure_ascii=False) + "\n")

    def write_samples(self, samples: list[dict[str, Any]]) -> None:
        with (self.run_dir / SAMPLES).open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(s, ensure_ascii=False) + "\n" for s in samples)

    def add_intervals(
        self,
        start_s: float,
        end_s: float,
        intervals: Iterable[ModelInterval],
        users: dict[str, int],
    ) -> list[SeriesPoint]:
        """Histograms to the logs, and a time-series row for every model with users or data."""
        points: list[SeriesPoint] = run_steps(self.interval_steps(start_s, end_s, intervals, users))
        return points

    def interval_steps(
        self,
        start_s: float,
        end_s: float,
        intervals: Iterable[ModelInterval],
        users: dict[str, int],
    ) -> Steps:
        """``add_intervals`` in slices of one row or one log line; returns the points."""
        by_model = {iv.model: iv for iv in intervals}
        points = []
        for model in sorted(set(by_model) | set(users)):
            iv = by_model.get(model)
            counts = iv.counts if iv else Counts()
            p50, p95, p99 = _ttft_percentiles(iv)
            point = SeriesPoint(
                start_s,
                end_s,
                model,
                users.get(model, 0),
                counts.requests,
                counts.failures,
                counts.good,
                counts.output_tokens,
                p50,
                p95,
                p99,
            )
            points.append(point)
            self._series_csv.writerow(
                (
                    f"{start_s:.3f}",
                    f"{end_s:.3f}",
                    model,
                    point.users,
                    counts.requests,
                    counts.failures,
                    counts.output_tokens,
                    counts.good,
                    _fmt(p50),
                    _fmt(p95),
                    _fmt(p99),
                )
            )
            yield
            if iv is None:
                continue
            for metric, hist in iv.histograms.items():
                if hist.get_total_count():
                    self._hlog(model, metric).write(start_s, end_s, hist)
                    yield
        return points

    def add_generator_sample(self, s: GeneratorSample) -> None:
        self._generator_csv.writerow(
            (
                f"{s.start_s:.3f}",
                f"{s.end_s:.3f}",
                s.users,
                f"{s.cpu_percent:.1f}",
                f"{s.loop_lag_ms_max:.2f}",
                f"{s.loop_lag_ms_mean:.2f}",
                s.late_starts,
                s.starts_without_free_user,
                "; ".join(s.bound_reasons),
            )
        )

    def _hlog(self, model: str, metric: str) -> HlogWriter:
        key = (model, metric)
        if key not in self._hlogs:
            path = histogram_path(self.run_dir, model, metric)
            fh = path.open("w", encoding="ascii")
            comment = f"loadprofile model={model} metric={metric} unit=microseconds"
            self._hlogs[key] = (fh, HlogWriter(fh, self.start_unix, metric, comment))
            self.histogram_files.setdefault(model, {})[metric] = str(path.relative_to(self.run_dir))
        return self._hlogs[key][1]

    def _files(self) -> list[TextIO]:
        extra = [self._examples] if self._examples is not None else []
        return [self._requests, self._series, self._generator, *extra]

    def flush(self) -> None:
        for fh in self._files():
            fh.flush()
        for fh, _ in self._hlogs.values():
            fh.flush()

    def close(self) -> None:
        self.flush()
        for fh in self._files():
            fh.close()
        for fh, _ in self._hlogs.values():
            fh.close()


def _ttft_percentiles(iv: ModelInterval | None) -> tuple[float | None, ...]:
    """An interval's TTFT p50/p95/p99 in ms: one pass over the histogram per interval."""
    if iv is None or not iv.histograms[TTFT].get_total_count():
        return None, None, None
    values = value_at_percentiles(iv.histograms[TTFT], [50.0, 95.0, 99.0])
    return values[50.0] / 1000.0, values[95.0] / 1000.0, values[99.0] / 1000.0
