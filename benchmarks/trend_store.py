"""The trend store's costs: adding one run, and reading a series of many runs back.

Fills a store with ``--runs`` nightly runs of ``--models`` models, each with every figure a
real run holds (tests/fixtures/contract: a spike run with retries and prices, ~300 figures a
model), timing every ``add``; then times reading the series (``runs``, ``values``: every
metric, and the four ``trend check`` looks at by default), and one ``trend add`` command
end to end (a process: Python's start and the imports included).

    python benchmarks/trend_store.py                         # a temporary SQLite file
    PGPASSWORD=... python benchmarks/trend_store.py --db postgresql://USER@HOST/DB
    python benchmarks/trend_store.py --throwaway-postgres    # initdb's a server for the run
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadprofile.commands.trend.figures import read_run  # noqa: E402
from loadprofile.commands.trend.store import open_store  # noqa: E402
from loadprofile.commands.trend.store_api import RunFigures  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "contract"
CHECKED = ("ttft_ms.p99", "e2e_ms.p99", "tpot_ms.p99", "error_rate")


def _nightly(template: RunFigures, night: int, models: int) -> RunFigures:
    """The template run as night ``night``, its figures copied to ``models`` models."""
    base = list(template.figures.values())
    figures = {
        f"model-{m}": {k: v * (1 + night / 1000) for k, v in base[m % len(base)].items()}
        for m in range(models)
    }
    day, hour = divmod(night, 24)
    run = dataclasses.replace(
        template.run,
        run_id=f"night-{night:05d}",
        time=f"2027-{1 + day // 28 % 12:02d}-{1 + day % 28:02d}T{hour:02d}:00:00Z",
        models=tuple(figures),
        labels={"git": f"{night:07x}"},
    )
    return RunFigures(run, figures, template.series_description)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def measure(db: str, runs: int, models: int) -> None:
    start = time.perf_counter()
    template = read_run(FIXTURE)
    read_s = time.perf_counter() - start
    adds: list[float] = []
    with open_store(db) as store:
        for night in range(runs):
            record = _nightly(template, night, models)
            start = time.perf_counter()
            store.add(record)
            adds.append(time.perf_counter() - start)
        series = template.run.series
        timed: dict[str, float] = {}
        for name, read in (
            ("runs()", lambda: store.runs(series)),
            ("values(), every metric", lambda: store.values(series)),
            (f"values(metrics={len(CHECKED)})", lambda: store.values(series, metrics=CHECKED)),
        ):
            times = []
            for _ in range(3):  # the median of 3, each after the last one's garbage is gone
                gc.collect()
                start = time.perf_counter()
                got = read()
                times.append(time.perf_counter() - start)
                del got
            timed[name] = statistics.median(times)
        values = store.values(series)
        points = sum(len(p) for per_model in values.values() for p in per_model.values())
        del values
    figures = sum(len(f) for f in _nightly(template, 0, models).figures.values())
    adds.sort()
    print(f"store: {db}")
    print(f"reading the run folder (summary.json, run.json -> figures): {_ms(read_s)}")
    print(
        f"add one run ({models} models, {figures} figures): median {_ms(statistics.median(adds))}, "
        f"p95 {_ms(adds[int(len(adds) * 0.95)])}, max {_ms(adds[-1])} over {runs} adds"
    )
    for name, seconds in timed.items():
        print(f"{name} over {runs} runs: {_ms(seconds)}")
    print(f"points in the series: {points:,}")
    if Path(db).is_file():
        print(f"the SQLite file: {Path(db).stat().st_size / 1e6:.0f} MB")


def command_time(db: str) -> float:
    """`loadprofile trend add` of a fresh run folder, as a process."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "run"
        shutil.copytree(FIXTURE, folder)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "loadprofile", "trend", "add", str(folder), "--db", db,
             "--series", "bench-command"],
            check=True, capture_output=True,
        )  # fmt: skip
        return time.perf_counter() - start


@contextlib.contextmanager
def _throwaway_postgres() -> Iterator[str]:
    from tests.pg_server import running_server

    with running_server() as server:
        os.environ["PGPASSWORD"] = server.password
        yield server.url(server.new_database())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="the store (default: a temporary SQLite file)")
    parser.add_argument("--throwaway-postgres", action="store_true")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--models", type=int, default=4)
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.throwaway_postgres:
            db = stack.enter_context(_throwaway_postgres())
        elif args.db:
            db = args.db
        else:
            db = str(Path(stack.enter_context(tempfile.TemporaryDirectory())) / "trend.sqlite")
        measure(db, args.runs, args.models)
        print(f"`loadprofile trend add` as a process: {_ms(command_time(db))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
