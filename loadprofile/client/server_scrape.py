"""Scrapes the ``--server-metrics`` URLs once a second while a run goes (Locust glue).

It runs where the run folder is written (a local run, or a distributed run's master; never
on a worker), as one gevent greenlet per URL: Locust's process is gevent-patched, so the
HttpClient's sockets yield to the users instead of blocking them. A failed scrape (refused,
timed out, an HTTP error, text that is not Prometheus's) never disturbs the run: it is
counted, its error kept for run.json's ``server_metrics_scrapes``, and the first one per URL
printed. The recorder starts it as the run folder opens and stops it before the last
run.json, so scraping spans the load and its drain and ends with the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent

from loadprofile.client.http.client import HttpClient, TransportError
from loadprofile.client.server_metrics import MetricsCsvWriter, parse_scrape
from loadprofile.rundir.writer import SERVER_METRICS

SCRAPE_EVERY_S = 1.0
#: A busy llama.cpp answers /metrics between decode steps: slow, but not a second late.
SCRAPE_TIMEOUT_S = 2.0
#: Larger answers are cut (and then fail to parse): a /metrics page is tens of kB.
MAX_BODY_BYTES = 8 << 20
META_KEY = "server_metrics_scrapes"

Warn = Callable[[str], None]


class ServerScraper:
    """Scrapes ``urls`` every ``every_s`` seconds on the run's clock into server_metrics.csv."""

    def __init__(
        self,
        urls: Sequence[str],
        warn: Warn | None = None,
        every_s: float = SCRAPE_EVERY_S,
        timeout_s: float = SCRAPE_TIMEOUT_S,
    ) -> None:
        self.urls = list(dict.fromkeys(urls))
        self.warn = warn or (lambda text: None)
        self.every_s = every_s
        self.timeout_s = timeout_s
        self.stats: dict[str, dict[str, Any]] = {
            url: {"ok": 0, "failed": 0, "last_error": None} for url in self.urls
        }
        self._clients: dict[str, tuple[HttpClient, str]] = {}
        self._writer: MetricsCsvWriter | None = None
        self._greenlets: list[gevent.Greenlet] = []
        self._t0_ns = time.perf_counter_ns()

    def start(self, run_dir: Path, start_unix: float, meta: dict[str, Any]) -> None:
        """Open server_metrics.csv and scrape from now on; ``start_unix`` is the run's t=0."""
        if self._writer is not None:
            return
        meta[META_KEY] = self.stats  # the same dicts: every run.json written says how it goes
        self._t0_ns = time.perf_counter_ns() - round((time.time() - start_unix) * 1e9)
        self._writer = MetricsCsvWriter(run_dir / SERVER_METRICS)
        for url in self.urls:
            parts = urlsplit(url)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            client = HttpClient(
                f"{parts.scheme}://{parts.netloc}", self.timeout_s, connect_timeout_s=self.timeout_s
            )
            self._clients[url] = (client, path)
        self._greenlets = [gevent.spawn(self._loop, url) for url in self.urls]

    def stop(self) -> None:
        """Stop scraping (idempotent) and close the file: the run is over."""
        gevent.killall(self._greenlets, block=True, timeout=self.timeout_s)
        self._greenlets = []
        for client, _ in self._clients.values():
            client.close()
        if self._writer is not None:
            self._writer.close()

    def elapsed_s(self) -> float:
        return (time.perf_counter_ns() - self._t0_ns) / 1e9

    def _loop(self, url: str) -> None:
        """On the run's grid (k x every_s): a slow answer skips ticks, never piles them up."""
        while True:
            self.scrape_once(url)
            elapsed = self.elapsed_s()
            gevent.sleep((int(elapsed / self.every_s) + 1) * self.every_s - elapsed)

    def scrape_once(self, url: str) -> bool:
        """One scrape of ``url`` into the file; False (counted, never raised) if it failed."""
        stats = self.stats[url]
        try:
            t_s, text = self._fetch(url)
            samples = parse_scrape(text)
            assert self._writer is not None, "start() first"
            self._writer.write(t_s, url, samples)
        except Exception as exc:  # a scrape must never end the run, whatever went wrong
            known = isinstance(exc, TransportError | ValueError | OSError)
            self._failed(url, str(exc) if known else f"{type(exc).__name__}: {exc}")
            return False
        stats["ok"] += 1
        return True

    def _fetch(self, url: str) -> tuple[float, str]:
        """(seconds since the run's start when the answer came, its text); raises on failure."""
        client, path = self._clients[url]
        response = client.request("GET", path, headers={"Accept": "text/plain"})
        t_s = self.elapsed_s()  # the server computed its values just before answering
        body = response.read(MAX_BODY_BYTES)
        if response.status != 200:
            raise ValueError(f"HTTP {response.status} {response.reason}".strip())
        return t_s, body.decode("utf-8", "replace")

    def _failed(self, url: str, error: str) -> None:
        stats = self.stats[url]
        stats["failed"] += 1
        stats["last_error"] = error[:300]
        if stats["failed"] == 1:
            self.warn(
                f"server metrics: scraping {url} failed ({error[:200]}); the run goes "
                "on, failures are counted in run.json"
            )


def server_scraper(urls: Sequence[str], warn: Warn | None = None) -> ServerScraper | None:
    """The scraper for a run's ``--server-metrics`` URLs, or None without any."""
    return ServerScraper(urls, warn) if urls else None
