"""The bare aiohttp client of ``peers.py``: one coroutine per stream, reading lines and
timing them; the bar loadprofile's throughput must reach.

    python benchmarks/peer_aiohttp.py URL STREAMS SECONDS WARMUP_S OUT.json

Each coroutine loops: POST the chat body (the same fields loadprofile sends), read the SSE
body line by line (``resp.content``), take ``perf_counter_ns()`` for every ``data:`` line
and keep the times of the request (no JSON parsing: a bare client). It counts the requests
that completed with ``[DONE]`` and started after ``WARMUP_S`` and before ``SECONDS``, and
writes {"requests", "window_s", "failures", "chunks"} to OUT.json. One process, asyncio's
default loop, one connection per coroutine (a TCPConnector with no limit).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp

BODY = {
    "model": "peer",
    "messages": [{"role": "user", "content": "Say something."}],
    "stream": True,
    "stream_options": {"include_usage": True},
    "max_tokens": 16,
}


async def stream(
    session: aiohttp.ClientSession,
    url: str,
    window: tuple[float, float],
    stats: dict[str, int],
    kept: list[tuple[int, list[int]]],
) -> None:
    start, end = window
    payload = json.dumps(BODY).encode()
    headers = {"Content-Type": "application/json"}
    while time.perf_counter() < end:
        sent_ns = time.perf_counter_ns()
        times: list[int] = []
        done = False
        try:
            async with session.post(url, data=payload, headers=headers) as resp:
                async for line in resp.content:
                    if line.startswith(b"data: "):
                        times.append(time.perf_counter_ns())
                        if line.startswith(b"data: [DONE]"):
                            done = True
        except aiohttp.ClientError:
            done = False
        if sent_ns / 1e9 >= start and time.perf_counter() <= end:
            stats["requests" if done else "failures"] += 1
            stats["chunks"] += len(times)
            kept.append((sent_ns, times))


async def main(url: str, streams: int, seconds: float, warmup_s: float) -> dict[str, float]:
    t0 = time.perf_counter()
    window = (t0 + warmup_s, t0 + seconds)
    stats = {"requests": 0, "failures": 0, "chunks": 0}
    kept: list[tuple[int, list[int]]] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(stream(session, url, window, stats, kept) for _ in range(streams)))
    return {**stats, "window_s": seconds - warmup_s}


if __name__ == "__main__":
    base, n, secs, warm, out = sys.argv[1:6]
    result = asyncio.run(
        main(base.rstrip("/") + "/v1/chat/completions", int(n), float(secs), float(warm))
    )
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
