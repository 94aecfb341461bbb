"""Connections: a server closing kept-alive connections after clean replies is no fault;
"stale" is said only of requests whose pooled connection was dead and which then failed."""

from __future__ import annotations

import pandas as pd

from loadprofile.report.connections import connections_table, model_connections
from loadprofile.report.tables import Table
from tests.models import summary_of


def requests(*rows: tuple[str, str, str, float | None]) -> pd.DataFrame:
    """(model, connection, error_class, connect_ms) per request."""
    return pd.DataFrame(rows, columns=["model", "connection", "error_class", "connect_ms"])


def labels(table: Table | None) -> dict[str, list[str]]:
    assert table is not None
    return {r.label: [c.text for c in r.cells] for r in table.rows}


CLOSED = "new connection: the server had closed the kept-alive one"


def test_a_server_closing_after_every_clean_reply_is_counted_not_flagged() -> None:
    """llama.cpp: every request after a user's first found its connection closed."""
    frame = requests(
        ("llama", "new", "", 0.4),
        *[("llama", "stale", "", 0.2)] * 5,
        ("other", "new", "", 0.3),
        *[("other", "reused", "", None)] * 5,
    )
    table = connections_table(["llama", "other"], summary_of({}), frame)
    rows = labels(table)
    assert rows[CLOSED] == ["5", "0"]
    assert rows["kept-alive connection reused"] == ["0", "5"]
    assert rows["connect time, median (ms)"] == ["0.200", "0.300"]
    assert not [label for label in rows if "stale" in label]
    assert table is not None and "none of them failed for it" in table.note
    assert "normal keep-alive behaviour, not a fault" in table.note
    assert "stale" not in table.note


def test_stale_is_said_only_when_the_request_then_failed_on_the_connection() -> None:
    frame = requests(
        ("m", "new", "", 0.3),
        ("m", "stale", "stream_incomplete", None),
        ("m", "stale", "http_5xx", 0.3),
        ("m", "stale", "", 0.3),
    )
    figures = model_connections("m", summary_of({}), frame)
    assert (figures.reopened, figures.stale_failed) == (2, 1)  # an HTTP 500 is the server's word
    table = connections_table(["m"], summary_of({}), frame)
    rows = labels(table)
    assert rows["stale: the kept-alive one was dead, then the request failed"] == ["1"]
    assert table is not None and "1 request(s) found their kept-alive connection dead" in (
        table.note
    )


def test_no_table_when_connections_were_kept_or_opened_uneventfully() -> None:
    frame = requests(("m", "new", "", 0.3), ("m", "reused", "", None))
    assert connections_table(["m"], summary_of({}), frame) is None


def test_expired_ones_are_named_as_such() -> None:
    frame = requests(("m", "new", "", 0.3), ("m", "expired", "", 0.3), ("m", "reused", "", None))
    table = connections_table(["m"], summary_of({}), frame)
    assert labels(table)["new connection: the kept-alive one neared its timeout"] == ["1"]
    assert table is not None and "neared the keep-alive timeout the server announced" in table.note


def test_without_the_column_the_summary_counts_are_shown_and_outcomes_not_claimed() -> None:
    summary = summary_of({"models": {"m": {"connections": {"new": 2, "stale": 7}}}})
    frame = requests(("m", "", "", None))
    figures = model_connections("m", summary, frame)
    assert (figures.new, figures.reopened, figures.outcome_known) == (2, 7, False)
    table = connections_table(["m"], summary, frame)
    assert table is not None and "does not say whether any of them then failed" in table.note
