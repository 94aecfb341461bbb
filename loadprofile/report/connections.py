"""How each request got its connection, and which of that was a problem.

Servers close kept-alive connections as a matter of course: llama.cpp's llama-server after
every complete reply (while announcing keep-alive), others when a connection has idled. The
client then finds its pooled connection closed and sends on a new one (requests.csv's
``connection`` is ``stale``), or gives up one near the keep-alive timeout the server
announced (``expired``). No request fails for it, so the report shows it as what it is,
normal keep-alive behaviour; "stale" is said only of a request whose pooled connection was
dead and which then failed on the connection itself.

What the run folder cannot tell apart: http.client writes ``stale`` both when the pooled
connection was seen closed before anything was sent and when the send on it failed and the
request was re-sent once on a new connection. Either way the request went out again whole;
only its outcome (``error_class``) says whether it then failed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from loadprofile.contract.summary import Latency, Summary, given
from loadprofile.core.results import ErrorClass
from loadprofile.report.tables import Row, Table, _cells, fmt_int, fmt_ms

NEW, REUSED, STALE, EXPIRED = "new", "reused", "stale", "expired"
#: Failures of the connection itself (results.ErrorClass): after a dead pooled connection,
#: these say the new one failed too. An HTTP error or a broken reply is the server's answer,
#: not the connection's fault.
CONNECTION_ERRORS = (str(ErrorClass.CONNECT), str(ErrorClass.STREAM_INCOMPLETE))


@dataclass(frozen=True)
class Connections:
    """One model's requests by how their connection came about."""

    new: int = 0
    reused: int = 0
    reopened: int = 0  # the server had closed the pooled connection; a new one carried it
    expired: int = 0
    stale_failed: int = 0  # the pooled connection was dead, and then the new one failed too
    connect_p50_ms: float | None = None
    #: summary.json's distributions of new connections' cost and their TLS handshakes
    #: (None: no connection opened, or plain HTTP)
    connect: Latency | None = None
    tls: Latency | None = None
    #: False for a folder whose requests.csv has no ``connection`` column (summary counts
    #: only): whether the reopened requests failed is then unknown.
    outcome_known: bool = True


def model_connections(model: str, summary: Summary, requests: pd.DataFrame) -> Connections:
    """From requests.csv (each request's own connection and outcome) when it says; else
    from summary.json's counts (every attempt, outcome unknown)."""
    rows = requests.loc[requests["model"] == model]
    kinds = rows["connection"].fillna("")
    connect = rows["connect_ms"].dropna()
    p50 = float(connect.median()) if len(connect) else None
    entry = summary.models.get(model)
    connect_cost = given(entry.connect_ms) if entry is not None else None
    tls_cost = given(entry.tls_ms) if entry is not None else None
    if (kinds != "").any():
        failed = rows["error_class"].fillna("").isin(CONNECTION_ERRORS)
        count = kinds.value_counts()
        stale_failed = int(((kinds == STALE) & failed).sum())
        return Connections(
            int(count.get(NEW, 0)),
            int(count.get(REUSED, 0)),
            int(count.get(STALE, 0)) - stale_failed,
            int(count.get(EXPIRED, 0)),
            stale_failed,
            p50,
            connect_cost,
            tls_cost,
        )
    counts = (given(entry.connections) if entry is not None else None) or {}

    def n(kind: str) -> int:
        return counts.get(kind, 0)

    return Connections(
        n(NEW), n(REUSED), n(STALE), n(EXPIRED), 0, p50, connect_cost, tls_cost, False
    )


def connections_table(models: list[str], summary: Summary, requests: pd.DataFrame) -> Table | None:
    """The table, when the server closed (or was about to close) kept-alive connections or
    connections were encrypted (the cost of new TLS connections under bursts is what users
    look for); None when every request kept or opened its plain connection uneventfully."""
    figures = [model_connections(m, summary, requests) for m in models]
    if not any(c.reopened or c.expired or c.stale_failed or c.tls for c in figures):
        return None

    def row(label: str, values: list[object], kind: str = "") -> Row:
        return Row(label, _cells(values, fmt_int, None), kind)

    rows = [
        row("kept-alive connection reused", [c.reused for c in figures]),
        row("new connection: nothing to reuse", [c.new for c in figures]),
        row(
            "new connection: the server had closed the kept-alive one",
            [c.reopened for c in figures],
        ),
    ]
    if any(c.expired for c in figures):
        rows.append(
            row(
                "new connection: the kept-alive one neared its timeout",
                [c.expired for c in figures],
            )
        )
    if any(c.stale_failed for c in figures):
        rows.append(
            row(
                "stale: the kept-alive one was dead, then the request failed",
                [c.stale_failed for c in figures],
                "warn",
            )
        )
    rows.append(
        Row("connect time, median (ms)", _cells([c.connect_p50_ms for c in figures], fmt_ms, None))
    )
    if any(c.connect for c in figures):
        rows.append(
            Row(
                "connect time, p99 (ms)",
                _cells([c.connect.p99 if c.connect else None for c in figures], fmt_ms, None),
            )
        )
    if any(c.tls for c in figures):
        for label, key in (("median", "p50"), ("p99", "p99")):
            values = [getattr(c.tls, key) if c.tls else None for c in figures]
            rows.append(Row(f"TLS handshake, {label} (ms)", _cells(values, fmt_ms, None)))
    return Table(
        "connections",
        "Connections (requests by how they got theirs)",
        models,
        rows,
        connections_note(figures),
    )


def connections_note(figures: list[Connections]) -> str:
    """What the counts mean, in the reader's terms: a clean close is not a fault."""
    reopened = sum(c.reopened for c in figures)
    expired = sum(c.expired for c in figures)
    failed = sum(c.stale_failed for c in figures)
    known = all(c.outcome_known for c in figures)
    words = []
    if reopened:
        outcome = (
            "none of them failed for it"
            if known
            else "this run folder does not say whether any of them then failed"
        )
        words.append(
            f"The server closed kept-alive connections after complete replies (llama.cpp's "
            f"server does so after every stream, although it announces keep-alive; others once "
            f"a connection has idled): {reopened:,} request(s) found theirs closed and went "
            f"out on a new connection, and {outcome}. That is normal keep-alive behaviour, "
            f"not a fault; opening the new connection is part of those requests' TTFT (connect "
            f"time above)."
        )
    if expired:
        words.append(
            f"{expired:,} kept-alive connection(s) were not reused because they neared "
            "the keep-alive timeout the server announced."
        )
    if failed:
        words.append(
            f"{failed:,} request(s) found their kept-alive connection dead (stale) "
            "and then failed on the connection itself (connect or stream_incomplete: "
            "the server went away or dropped it); they are under Errors."
        )
    return " ".join(words)
