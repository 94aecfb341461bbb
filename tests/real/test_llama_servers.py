"""loadprofile against llama.cpp's llama-server and llama-cpp-python, with SmolLM2-135M.

What a mock cannot prove: real servers close connections after each stream, leave out
usage, cache prompt prefixes and queue requests in their own way. These runs check that
nothing of that turns into a spurious failure or a wrong figure.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path
from typing import Any

import pytest

from .conftest import run_load

pytestmark = [pytest.mark.real, pytest.mark.timeout(900)]
MODEL = "smollm2"


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "requests.csv").open() as fh:
        return list(csv.DictReader(fh))


def _floats(rows: list[dict[str, str]], column: str) -> list[float]:
    return [float(r[column]) for r in rows if r.get(column)]


def test_llama_server_runs_clean_and_reads_its_usage_timings_and_metrics(
    llama_server: str, dataset: Path, tmp_path: Path
) -> None:
    """4 conversations at once for 20 s: no failure although llama-server closes the
    connection after every stream; token counts from usage; TTFT never shorter than the
    server's own prompt time; the server's metrics scraped beside the run."""
    out = tmp_path / "run"
    summary = run_load(llama_server, dataset, out, "--server-metrics", llama_server + "/metrics")
    entry = summary["models"][MODEL]
    assert entry["requests"] >= 8 and entry["failures"] == 0, entry
    assert entry["tokens_estimated_share"] == 0.0  # llama-server sends usage when asked
    rows = _rows(out)
    assert len(rows) == entry["requests"]
    for row in rows:
        prompt_ms = float(row["server_prompt_ms"])
        # The first token cannot reach the client before the server computed the prompt.
        assert float(row["ttft_service_ms"]) >= prompt_ms - 1.0, row
        # TTFT runs from the request's start: llama-server closes every connection, so each
        # request's TTFT holds a new connection's handshake too.
        assert float(row["ttft_ms"]) - prompt_ms >= float(row["connect_ms"] or 0.0) - 1.0, row
    # Chunks that arrived always come with their TTFT (cut off at the stop or not).
    assert not [r for r in rows if int(r["chunks"]) and not r["ttft_ms"]]
    # Rates divide by the window that produced the counts, drain included.
    assert entry["requests_per_s"] * entry["window_s"] == pytest.approx(entry["requests"], abs=0.01)
    first = min(float(r["start_unix"]) for r in rows)
    last = max(float(r["start_unix"]) + float(r["e2e_service_ms"]) / 1e3 for r in rows)
    assert entry["window_s"] == pytest.approx(last - first, abs=0.01)
    metrics = (out / "server_metrics.csv").read_text()
    assert "llamacpp:requests_processing" in metrics
    html = (out / "report.html").read_text()
    assert "Server metrics" in html


def test_one_conversation_ttft_is_the_servers_prompt_time_plus_little(
    llama_server: str, dataset: Path, tmp_path: Path
) -> None:
    """Alone on the server, a request waits for nothing: TTFT is the server's prompt time
    plus the HTTP exchange and the first token's sampling."""
    out = tmp_path / "run"
    run_load(llama_server, dataset, out, users=1, seconds=15)
    rows = _rows(out)
    overhead = [float(r["ttft_service_ms"]) - float(r["server_prompt_ms"]) for r in rows]
    assert len(overhead) >= 5
    assert statistics.median(overhead) < 150.0, overhead


def test_a_burst_shows_the_servers_queueing(
    llama_server: str, dataset: Path, tmp_path: Path
) -> None:
    """16 conversations against 16 slots on one core: every step of the batch is shared, so
    TTFT grows far beyond one conversation's, and the server's metrics say it was busy."""
    alone = run_load(llama_server, dataset, tmp_path / "one", users=1, seconds=12)
    burst = run_load(
        llama_server,
        dataset,
        tmp_path / "burst",
        "--server-metrics",
        llama_server + "/metrics",
        users=16,
        seconds=20,
    )
    one, many = alone["models"][MODEL], burst["models"][MODEL]
    assert many["failures"] == 0
    assert many["ttft_ms"]["p50"] > 3 * one["ttft_ms"]["p50"], (one["ttft_ms"], many["ttft_ms"])
    busy = [
        float(r["value"])
        for r in csv.DictReader((tmp_path / "burst" / "server_metrics.csv").open())
        if r["name"] == "llamacpp:requests_processing"
    ]
    assert max(busy) >= 8


def _first_turn_shares(out: Path) -> list[float]:
    """Cached share of the prompt of every first turn."""
    return [
        int(r["cached_tokens"] or 0) / int(r["prompt_tokens"])
        for r in _rows(out)
        if r["turn"] == "1" and not r["error_class"]
    ]


def test_prefix_cache_reuse_is_measured_and_unique_prefix_turns_it_off(
    llama_server: str, dataset: Path, tmp_path: Path
) -> None:
    """llama-server reports cached prompt tokens: replayed conversations find almost their
    whole prompt cached; with --unique-prefix a first turn shares only the chat template's
    own start (its role markers, SmolLM2's default system prompt), while later turns
    still reuse their conversation's history."""
    warm = run_load(llama_server, dataset, tmp_path / "warm", users=2, seconds=15)
    run_load(llama_server, dataset, tmp_path / "cold", "--unique-prefix", users=2, seconds=15)
    assert warm["models"][MODEL]["cached_prompt_tokens"] > 0
    warm_first, cold_first = (
        _first_turn_shares(tmp_path / "warm"),
        _first_turn_shares(tmp_path / "cold"),
    )
    assert statistics.median(warm_first) > 0.8, warm_first
    assert cold_first and max(cold_first) < 0.35, cold_first
    later = [
        int(r["cached_tokens"] or 0) / int(r["prompt_tokens"])
        for r in _rows(tmp_path / "cold")
        if r["turn"] != "1"
    ]
    assert later and statistics.median(later) > 0.5, later


def test_llama_cpp_python_without_usage_runs_clean(
    llama_cpp_python: str, dataset: Path, tmp_path: Path
) -> None:
    """llama-cpp-python ignores include_usage and serves one request at a time: no failure,
    token counts estimated and marked so, the missing usage noted."""
    out = tmp_path / "run"
    summary = run_load(llama_cpp_python, dataset, out, users=2, seconds=15)
    entry: dict[str, Any] = summary["models"][MODEL]
    assert entry["requests"] >= 3 and entry["failures"] == 0, entry
    assert entry["tokens_estimated_share"] == 1.0
    notes = summary.get("correctness", {}).get(MODEL, {}).get("notes", {})
    assert notes.get("usage_missing", 0) == entry["requests"], summary.get("correctness")
