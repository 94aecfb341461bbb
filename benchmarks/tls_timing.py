"""TLS timing: how accurate are TTFT and E2E over HTTPS, and what does a chunk cost there?

Issue 17 ("Timing accuracy over TLS"). Over HTTPS the client reads a reply's body with
blocking reads in the request's greenlet (``HubDriver.run`` hands an ``ssl.SSLSocket`` to
``BlockingDriver``), not in the gevent hub's read callback with the kernel's receive stamps
that plain HTTP gets, and every chunk is decrypted on the way. Both can move the figures a
user reads: the time stamped on a token (the TTFT and E2E error against the server) and the
generator's CPU per chunk (how many streams one core can still time). So the same load runs
over plain HTTP and over HTTPS, side by side.

The load is hot_loop.py's, reused from it (``run_level``): the mock's fixed-timing model
(TTFT 30 ms, 32 tokens 8 ms apart, every 100th request 150 ms slower) with ``--record``,
pinned to one core (``taskset -c 0``), and

    taskset -c 1 loadprofile run --host MOCK --model acc -u N -r N/2 -t 15s --think-time 0 \\
        [--ca-cert CA.pem]

pinned to the other. Two mocks run the same profile, one plain and one serving TLS
(``--tls-cert``, a certificate for 127.0.0.1 from a CA made here with trustme, which the
run trusts through ``--ca-cert``). The runs alternate HTTP, HTTPS, HTTP, HTTPS... for
``--rounds`` rounds at each stream count, so the machine's noise hits both alike; the table
shows each figure's median over the rounds.

Figures, over hot_loop's steady window [spawn + 2 s, run time - 0.5 s):

* TTFT and E2E error against the server's record of the same request ids: the p50/p95/p99
  of the per-request difference client - server ("per request"), and hot_loop's figure,
  the client's percentile - the server's percentile ("p-diff"), comparable with the
  figures in README.md; hot_loop's split of the TTFT error into inbound (our send -> the
  server's handler) and outbound (the server's first-token write -> our timestamp: the
  client's own part, which is where the read path shows);
* generator CPU (``generator.csv``'s own per-second figure, the seconds wholly inside the
  window) and CPU µs per chunk: those CPU seconds / the chunks received in them
  (``requests.csv``'s ``chunks``, each request's spread over its start..end);
* over the whole run: ``summary.json``'s ``connect_ms`` and ``tls_ms`` p50/p99 and the
  connections by kind (``requests.csv``'s ``connection``: new/reused). The client keeps a
  connection per user, so a run makes ~N handshakes, all in the spawn; there is no mode
  with a new connection per request, so these counts say how many handshakes the figures
  hold.

    .venv/bin/python benchmarks/tls_timing.py                         # 50 and 100 streams, ~2.5 min
    .venv/bin/python benchmarks/tls_timing.py --streams 100 --seconds 25 --rounds 3

Writes benchmarks/results/tls_timing-<date>.json and .txt.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import trustme
from benchsupport import (
    Mock,
    Say,
    add_common_args,
    pins,
    read_csv,
    save_results,
    sigterm_as_interrupt,
)
from hot_loop import MODEL, PERCENTILES, TIMING, nearest_rank, run_level

SCHEMES = ("http", "https")
#: A run whose generator waited longer than this for its core (ms per s) shared it with other
#: load (a quiet core: 0.5-5 ms/s at 100 streams in hot_loop's runs); its figures are flagged.
NOISY_RUNQ_MS_PER_S = 20.0
RUN_OVERHEAD_S = 4.0  # start-up, stop and the record's fetch per run (measured: ~3 s)


def make_certs(work: Path) -> tuple[Path, Path]:
    """A private CA (ca.pem) and a certificate for 127.0.0.1 with its key (server.pem)."""
    ca = trustme.CA()
    ca_pem, server_pem = work / "ca.pem", work / "server.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    return ca_pem, server_pem


def rounded(values: dict[int, float]) -> dict[str, float]:
    return {f"p{p}": round(v, 3) for p, v in values.items()}


def chunks_in(rows: list[dict[str, str]], a: float, b: float) -> float:
    """Chunks received in [a, b) (run seconds): each request's spread evenly over its
    start..end (a failed one without an end: at its start)."""
    total = 0.0
    for r in rows:
        n = int(r["chunks"] or 0)
        if not n:
            continue
        s = float(r["start_s"])
        e = s + float(r["e2e_ms"]) / 1000.0 if r["e2e_ms"] else s
        if e <= s:
            total += n if a <= s < b else 0
            continue
        overlap = min(e, b) - max(s, a)
        if overlap > 0:
            total += n * overlap / (e - s)
    return total


def tls_figures(
    out_dir: Path, records: list[dict[str, Any]], window: tuple[float, float]
) -> dict[str, Any]:
    """What hot_loop's analysis leaves out: per-request errors, chunks and CPU per chunk,
    connections and the handshake times."""
    w0, w1 = window
    rows = read_csv(out_dir / "requests.csv")
    by_id = {r["request_id"]: r for r in records if r.get("first_content_ns") and r.get("end_ns")}
    diffs: dict[str, list[float]] = {"ttft": [], "e2e": []}
    for r in rows:
        rec = by_id.get(r["request_id"])
        if (
            r["error_class"]
            or rec is None
            or not r["ttft_ms"]
            or not w0 <= float(r["start_s"]) < w1
        ):
            continue
        diffs["ttft"].append(
            float(r["ttft_ms"]) - (rec["first_content_ns"] - rec["received_ns"]) / 1e6
        )
        diffs["e2e"].append(float(r["e2e_ms"]) - (rec["end_ns"] - rec["received_ns"]) / 1e6)
    seconds = [
        h
        for h in read_csv(out_dir / "generator.csv")
        if float(h["start_s"]) >= w0 and float(h["end_s"]) <= w1
    ]
    cpu_s = sum(
        float(h["cpu_percent"]) / 100.0 * (float(h["end_s"]) - float(h["start_s"])) for h in seconds
    )
    chunks = (
        chunks_in(rows, float(seconds[0]["start_s"]), float(seconds[-1]["end_s"]))
        if seconds
        else 0.0
    )
    tcp = [float(r["connect_ms"]) - float(r["tls_ms"] or 0.0) for r in rows if r["connect_ms"]]
    summary = json.loads((out_dir / "summary.json").read_text())
    model: dict[str, Any] = next(iter(summary["models"].values()), {})
    return {
        "per_request_error_ms": {m: rounded(nearest_rank(v)) for m, v in diffs.items() if v},
        "requests": len(rows),
        "chunks": sum(int(r["chunks"] or 0) for r in rows),
        "cpu_window_s": [float(seconds[0]["start_s"]), float(seconds[-1]["end_s"])]
        if seconds
        else None,
        "cpu_s": round(cpu_s, 3),
        "chunks_in_cpu_window": round(chunks),
        "cpu_us_per_chunk": round(cpu_s * 1e6 / chunks, 2) if chunks else None,
        "connections": dict(Counter(r["connection"] or "-" for r in rows)),
        "summary_connections": model.get("connections"),
        "connect_ms": {k: model.get("connect_ms", {}).get(k) for k in ("p50", "p99", "max")},
        "tls_ms": {k: model.get("tls_ms", {}).get(k) for k in ("p50", "p99", "max")},
        # the rest of opening a connection (TCP, and the greenlet waiting for its turn)
        "connect_minus_tls_ms": rounded(nearest_rank(tcp)) if tcp else {},
    }


def one_run(
    streams: int,
    scheme: str,
    rnd: int,
    mock: Mock,
    args: argparse.Namespace,
    work: Path,
    pin: list[str],
    ca_pem: Path,
) -> dict[str, Any]:
    run_dir = work / f"r{rnd}-{scheme}"
    run_dir.mkdir(parents=True, exist_ok=True)
    extra = ["--ca-cert", str(ca_pem)] if scheme == "https" else []
    result = run_level(streams, args, mock, MODEL, run_dir, pin, extra)
    out: dict[str, Any] = {"round": rnd, "streams": streams, "scheme": scheme, **result}
    if "error" in result:  # the log goes with the work folder: keep its end
        log = run_dir / f"s{streams}.log"
        tail = log.read_text(errors="replace").splitlines()[-5:] if log.exists() else []
        out["error"] += "".join(f"\n    | {line}" for line in tail)
    else:
        # run_level read the record and left it on the mock (cleared before the next run)
        records = mock.call("GET", "/mock/requests", timeout_s=120.0)
        out.update(tls_figures(run_dir / f"s{streams}", records, tuple(result["window_s"])))
    return out


def get(result: dict[str, Any], path: str) -> float | None:
    """A figure by its dotted path ("ttft.p95.error"), None where missing."""
    value: Any = result
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) else None


#: The table's rows: label, the figures' dotted paths (joined with " / "), decimals.
ROWS: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("requests in window", ("requests_in_window",), 0),
    ("chunks in CPU window", ("chunks_in_cpu_window",), 0),
    ("requests / chunks, whole run", ("requests", "chunks"), 0),
    (
        "TTFT err per request p50/95/99",
        tuple(f"per_request_error_ms.ttft.p{p}" for p in PERCENTILES),
        2,
    ),
    ("TTFT err p-diff p50/95/99", tuple(f"ttft.p{p}.error" for p in PERCENTILES), 2),
    ("  inbound p50/95/99", tuple(f"ttft_split_ms.inbound.p{p}" for p in PERCENTILES), 2),
    ("  outbound p50/95/99", tuple(f"ttft_split_ms.outbound.p{p}" for p in PERCENTILES), 2),
    (
        "E2E err per request p50/95/99",
        tuple(f"per_request_error_ms.e2e.p{p}" for p in PERCENTILES),
        2,
    ),
    ("E2E err p-diff p50/95/99", tuple(f"e2e.p{p}.error" for p in PERCENTILES), 2),
    ("gen CPU % mean / max", ("gen_cpu_mean", "gen_cpu_max"), 1),
    ("gen CPU µs per chunk", ("cpu_us_per_chunk",), 2),
    ("gen run-queue wait ms/s", ("gen_runq_ms_per_s",), 1),
    ("mock CPU %", ("mock_cpu_mean",), 1),
    ("lag max ms (5 ms sleep)", ("lag_ms_max",), 2),
    ("seconds with lag >= 3 ms", ("seconds_over_target",), 0),
    ("connect_ms p50 / p99", ("connect_ms.p50", "connect_ms.p99"), 2),
    ("tls_ms p50 / p99", ("tls_ms.p50", "tls_ms.p99"), 2),
    ("connect - tls p50 / p99", ("connect_minus_tls_ms.p50", "connect_minus_tls_ms.p99"), 2),
    ("connections new / reused", ("connections.new", "connections.reused"), 0),
    ("failures / unmatched", ("failures", "unmatched"), 0),
)


def median_of(runs: list[dict[str, Any]], path: str) -> float | None:
    values = [v for v in (get(r, path) for r in runs) if v is not None]
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if digits else f"{round(value):,}"


def medians(results: list[dict[str, Any]], streams: list[int]) -> dict[str, Any]:
    """Per stream count and scheme: every figure's median over the rounds, and the
    HTTPS/HTTP ratio of CPU per chunk (of the medians, and per round)."""
    out: dict[str, Any] = {}
    for n in streams:
        per: dict[str, Any] = {}
        for scheme in SCHEMES:
            runs = [
                r
                for r in results
                if r["streams"] == n and r["scheme"] == scheme and "error" not in r
            ]
            per[scheme] = {
                "rounds": len(runs),
                **{p: median_of(runs, p) for _, paths, _ in ROWS for p in paths},
            }
        h, s = per["http"]["cpu_us_per_chunk"], per["https"]["cpu_us_per_chunk"]
        per["cpu_per_chunk_ratio"] = round(s / h, 3) if h and s else None
        by_round: dict[int, dict[str, float]] = {}
        for r in results:
            if r["streams"] == n and r.get("cpu_us_per_chunk"):
                by_round.setdefault(r["round"], {})[r["scheme"]] = r["cpu_us_per_chunk"]
        per["cpu_per_chunk_ratio_by_round"] = [
            round(v["https"] / v["http"], 3) if len(v) == 2 else None
            for _, v in sorted(by_round.items())
        ]
        out[str(n)] = per
    return out


def table(med: dict[str, Any], rounds: int) -> list[str]:
    heads = [f"{n} {scheme.upper()}" for n in med for scheme in SCHEMES]
    out = [
        f"medians over {rounds} round(s); errors = client - server, ms",
        "| figure | " + " | ".join(heads) + " |",
        "| --- |" + " --- |" * len(heads),
    ]
    for label, paths, digits in ROWS:
        cells = [
            " / ".join(fmt(med[n][scheme][p], digits) for p in paths)
            for n in med
            for scheme in SCHEMES
        ]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    ratios = []
    for n in med:
        by_round = ", ".join(fmt(v, 2) for v in med[n]["cpu_per_chunk_ratio_by_round"])
        ratios += ["", f"{fmt(med[n]['cpu_per_chunk_ratio'], 2)} (rounds: {by_round})"]
    out.append("| CPU per chunk HTTPS/HTTP | " + " | ".join(ratios) + " |")
    return out


def run_line(r: dict[str, Any]) -> str:
    head = f"round {r['round']} {r['streams']:>4} streams {r['scheme']:<5}"
    if "error" in r:
        return f"{head} ERROR {r['error']}"
    ttft = r.get("per_request_error_ms", {}).get("ttft", {})
    return (
        f"{head} {r['requests_in_window']:>6} req in window  "
        f"{r['chunks_in_cpu_window']:>7} chunks  "
        f"TTFT err p50/95/99 {ttft.get('p50', 0):+.2f}/{ttft.get('p95', 0):+.2f}/"
        f"{ttft.get('p99', 0):+.2f} ms  gen CPU {r['gen_cpu_mean']}%  "
        f"{r['cpu_us_per_chunk']} µs/chunk  mock CPU {r['mock_cpu_mean']}%  "
        f"connections {r['connections']}  tls_ms p50 {r['tls_ms']['p50']}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--streams", default="50,100", help="stream counts (default 50,100)")
    p.add_argument("--seconds", type=float, default=15.0, help="run time of each run (default 15)")
    p.add_argument(
        "--rounds", type=int, default=2, help="HTTP/HTTPS pairs per stream count (default 2)"
    )
    p.add_argument("--keep", type=Path, help="keep run folders, certificates and logs here")
    add_common_args(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sigterm_as_interrupt()
    started = time.time()
    streams = [int(s) for s in args.streams.split(",")]
    pinned, pin_server, pin_gen = pins(args)
    work = args.keep or Path(tempfile.mkdtemp(prefix="tls_timing-"))
    work.mkdir(parents=True, exist_ok=True)
    say = Say()
    n_runs = len(streams) * len(SCHEMES) * args.rounds
    say(
        f"tls_timing: mock TTFT {TIMING.ttft_ms:g} ms, {TIMING.tokens_min} tokens "
        f"{TIMING.itl_ms:g} ms apart, every {TIMING.slow_every}th +{TIMING.slow_ms:g} ms; "
        f"streams {args.streams}, {args.rounds} round(s) of HTTP then HTTPS, {args.seconds:g} s "
        f"each: {n_runs} runs, ~{n_runs * (args.seconds + RUN_OVERHEAD_S) / 60:.1f} min "
        f"(each killed after {args.seconds + 90:g} s); pinned: {pinned}"
    )
    ca_pem, server_pem = make_certs(work)
    results: list[dict[str, Any]] = []
    mocks: dict[str, Mock] = {}
    try:
        for scheme in SCHEMES:
            mock_dir = work / f"mock-{scheme}"
            mock_dir.mkdir(exist_ok=True)
            tls = scheme == "https"
            mocks[scheme] = Mock(
                "tls_timing",
                mock_dir,
                {MODEL: TIMING},
                pin_server,
                serve_only=True,
                tls_cert=server_pem if tls else None,
                ca_cert=ca_pem if tls else None,
            )
        say(f"mocks: {mocks['http'].url} and {mocks['https'].url}")
        for rnd in range(1, args.rounds + 1):
            for n in streams:
                for scheme in SCHEMES:
                    result = one_run(n, scheme, rnd, mocks[scheme], args, work, pin_gen, ca_pem)
                    results.append(result)
                    say(run_line(result))
    except KeyboardInterrupt:
        say("interrupted: partial results")
    finally:
        for mock in mocks.values():
            mock.close()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    med = medians(results, streams)
    say("")
    for line in table(med, args.rounds):
        say(line)
    noisy = [
        f"round {r['round']} {r['streams']} {r['scheme']} ({r['gen_runq_ms_per_s']:.0f} ms/s)"
        for r in results
        if (r.get("gen_runq_ms_per_s") or 0.0) > NOISY_RUNQ_MS_PER_S
    ]
    if noisy:
        say(
            f"NOISY: the generator waited for its core > {NOISY_RUNQ_MS_PER_S:g} ms/s (other "
            f"load on it) in {len(noisy)} of {len(results)} runs: {', '.join(noisy)}; the "
            "HTTPS outbound error (no kernel stamps) takes such waits, HTTP's does not"
        )
    say(f"took {time.time() - started:.0f} s")
    if not args.no_save:
        save_results(
            "tls_timing", started, args, results, say.lines, pinned=pinned, extra={"medians": med}
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
