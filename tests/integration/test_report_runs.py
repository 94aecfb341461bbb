"""The report of a real run (the CLI against the mock): it opens with the answer, keeps a
server's clean connection closes out of its warnings, and leaves out the TTFT-by-turn chart
for single-turn data.

One short run serves every check: two models on single-turn conversations, the slow one
closing its connection after every complete reply, as llama.cpp's server does.
"""

from __future__ import annotations

import csv
import json
import re
from typing import Any

import pytest
from markupsafe import escape

from loadprofile.report.answer import fmt_ms_words, fmt_times

from .conftest import Launched, Launcher

pytestmark = pytest.mark.integration

PROFILES = """
[models.small]
ttft_base_ms = 40.0
itl_ms = 3.0
output_tokens_min = 6
output_tokens_max = 10

[models.large]
ttft_base_ms = 480.0
itl_ms = 5.0
output_tokens_min = 6
output_tokens_max = 10
drop_after_stream = true
"""

SINGLE_TURN = [
    {"id": f"q-{i}", "messages": [{"role": "user", "content": f"Question {i}?"}]} for i in range(12)
]


@pytest.fixture(scope="module")
def run(launcher: Launcher) -> Launched:
    launcher.dataset.write_text(
        "".join(json.dumps(c) + "\n" for c in SINGLE_TURN), encoding="utf-8"
    )
    launched = launcher.launch(
        "pair",
        PROFILES,
        [
            "run",
            "--model",
            "small",
            "--model",
            "large",
            "-u",
            "4",
            "-r",
            "50",
            "-t",
            "2s",
            "--think-time",
            "0.2-0.3",
        ],
    )
    done = launched.done()
    assert done.returncode == 0, done.stderr
    return launched


def _read(run: Launched) -> tuple[dict[str, Any], str]:
    summary = json.loads((run.out / "summary.json").read_text(encoding="utf-8"))
    return summary, (run.out / "report.html").read_text(encoding="utf-8")


def _section(html: str, key: str) -> str:
    match = re.search(rf'<section id="{key}">(.*?)</section>', html, re.S)
    assert match, f"section {key} missing"
    return match.group(1)


def test_the_report_opens_with_the_models_side_by_side_in_words(run: Launched) -> None:
    summary, html = _read(run)
    assert html.index('id="answer"') < html.index('id="details"') < html.index('id="overview"')
    small, large = (summary["models"][m] for m in ("small", "large"))
    assert small["failures"] == large["failures"] == 0
    a, b = large["ttft_ms"]["p99"], small["ttft_ms"]["p99"]
    expected = (
        f"large's TTFT p99 is {fmt_times(a / b)} small's "
        f"({fmt_ms_words(a)} against {fmt_ms_words(b)} ms)"
    )
    words = _section(html, "answer")
    assert str(escape(expected)) in words
    assert "neither failed a request" in words
    assert 'id="table-answer"' in words
    # The run's details follow, for people: labelled, with units, no JSON.
    details = _section(html, "details")
    assert "<dt>think time</dt><dd>0.2–0.3 s</dd>" in details
    assert "{" not in re.sub(r"<[^>]*>", "", details)


def test_a_server_closing_each_connection_after_a_clean_stream_is_no_warning(
    run: Launched,
) -> None:
    """The large model's server closed every connection after its reply (keep-alive
    announced): the next request found it closed and went out on a new one. No request
    failed, so nothing on the page calls it stale; the table counts them as server closes."""
    summary, html = _read(run)
    with (run.out / "requests.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["model"] == "large"]
    reopened = sum(r["connection"] == "stale" for r in rows)
    assert reopened >= 2 and all(not r["error_class"] for r in rows)  # what the client saw
    assert summary["models"]["large"]["connections"].get("reused", 0) == 0
    assert "stale" not in html.lower()
    table = re.search(r'<table class="num" id="table-connections">(.*?)</table>', html, re.S)
    assert table, "connections table missing"
    row = re.search(
        r"<th>new connection: the server had closed the kept-alive one</th>"
        r"<td[^>]*>(.*?)</td><td[^>]*>(.*?)</td>",
        table.group(1),
    )
    assert row and row.group(2) == f"{reopened:,}"
    assert "none of them failed for it" in _section(html, "overview")


def test_single_turn_data_has_no_ttft_by_turn_chart(run: Launched) -> None:
    _, html = _read(run)
    with (run.out / "requests.csv").open(encoding="utf-8") as fh:
        assert {r["turn"] for r in csv.DictReader(fh)} == {"1"}
    assert 'id="ttft-turn"' not in html and 'id="ttft-prompt"' in html
    assert 'id="single-turn-note"' in html
