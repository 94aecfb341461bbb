"""The server-metrics scraper against a local endpoint that fails now and then (loopback)."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import gevent

from loadprofile.client.server_metrics import read_series, scrape_times
from loadprofile.client.server_scrape import META_KEY, ServerScraper
from tests.receiver import Receiver

GOOD = '# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name="m"} %d\n'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Flaky:
    """Answers /metrics in turn: good, HTTP 500, an HTML page, good, ..."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, path: str) -> tuple[int, bytes]:
        self.n += 1
        if path != "/metrics?x=1":
            return 404, b"no such page"
        turn = (self.n - 1) % 3
        if turn == 1:
            return 500, b"internal error"
        if turn == 2:
            return 200, b"<html>oops</html>"
        return 200, (GOOD % self.n).encode()


def test_failed_scrapes_are_counted_and_warned_once_and_never_raise(tmp_path: Path) -> None:
    refused = f"http://127.0.0.1:{_free_port()}/metrics"
    warnings: list[str] = []
    meta: dict[str, Any] = {}
    with Receiver(get=Flaky()) as receiver:
        url = receiver.url.replace("/rollback", "/metrics?x=1")
        scraper = ServerScraper([url, refused], warnings.append, timeout_s=1.0)
        scraper.start(tmp_path, time.time() - 10.0, meta)  # the run began 10 s ago
        gevent.killall(scraper._greenlets)  # not started yet: scrape by hand, in order
        results = [scraper.scrape_once(url) for _ in range(6)]
        assert not scraper.scrape_once(refused)
        assert not scraper.scrape_once(refused)
        scraper.stop()
    assert results == [True, False, False, True, False, False]
    stats = meta[META_KEY]
    assert stats[url]["ok"] == 2 and stats[url]["failed"] == 4
    assert "not Prometheus text" in stats[url]["last_error"]
    assert stats[refused]["ok"] == 0 and stats[refused]["failed"] == 2
    assert "connect" in stats[refused]["last_error"]
    assert len(warnings) == 2 and "HTTP 500" in warnings[0] and refused in warnings[1]
    series = read_series(tmp_path / "server_metrics.csv")
    times = scrape_times(series)[url]
    assert len(times) == 2 and all(10.0 <= t < 12.0 for t in times)  # the run's clock
    running = next(s for (_, name, _), s in series.items() if name.endswith("running"))
    assert running.v == [1.0, 4.0]


def test_the_loop_scrapes_on_its_period_until_stopped(tmp_path: Path) -> None:
    calls: list[float] = []

    def answer(path: str) -> tuple[int, bytes]:
        calls.append(time.monotonic())
        return 200, (GOOD % len(calls)).encode()

    meta: dict[str, Any] = {}
    with Receiver(get=answer) as receiver:
        url = receiver.url.replace("/rollback", "/metrics")
        scraper = ServerScraper([url], every_s=0.05, timeout_s=1.0)
        scraper.start(tmp_path, time.time(), meta)
        gevent.sleep(0.32)
        scraper.stop()
        scraper.stop()  # idempotent
        after = len(calls)
        gevent.sleep(0.1)
    assert len(calls) == after  # stopped means stopped
    assert 4 <= after <= 9, after
    assert meta[META_KEY][url] == {"ok": after, "failed": 0, "last_error": None}
    assert len(scrape_times(read_series(tmp_path / "server_metrics.csv"))[url]) == after
