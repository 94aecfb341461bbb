"""``--warm-cache``: before the load, every model sees every prompt of the run once.

Servers keep the KV of prompts they have prefilled (vLLM's prefix caching, llama.cpp's slots,
hosted APIs), so a prompt seen before is answered sooner. A replayed dataset makes that an
unfair race in a canary run: the baseline, with 90 % of the users, replays each prompt nine
times as often as the candidate, so its cache is warm while the candidate's is still cold,
and a candidate identical to its baseline fails "TTFT p99 +40 %" and fires the rollback.
Sending every prompt once to every model first (``max_tokens`` 1, recorded history, the
run's own extra body) starts all of them equally warm; what it cost and how cold each model
was is kept in run.json (``cache_warmup``) and the gate and the report say it was done.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import gevent.pool

from loadprofile.client.apis.endpoints import endpoint_path
from loadprofile.client.apis.flavours import flavour
from loadprofile.client.streaming import send_chat
from loadprofile.client.target_client import api_client
from loadprofile.config.extra_body import apply_extra_body
from loadprofile.config.run_config import RunConfig, Target
from loadprofile.core.results import RequestResult
from loadprofile.dataset.turns import Conversation, build_messages, every_turn

#: At most this many prompts per model: a cache holds the hot prompts, not a whole corpus.
WARMUP_LIMIT = 2000
#: Prompts in flight per model during the warm-up.
WARMUP_CONCURRENCY = 8


def warm_cache_wanted(config: RunConfig) -> bool:
    """``--warm-cache on``, or ``auto`` in a canary run; never with ``--unique-prefix``
    (every conversation then opens with a nonce of its own: there is nothing to warm)."""
    mode = config.load.warm_cache
    wanted = mode == "on" or (mode == "auto" and config.canary is not None)
    return wanted and not config.load.unique_prefix


def warmup_prompts(conversations: list[Conversation]) -> list[list[dict[str, str]]]:
    """Every turn with its recorded history, in the order the run replays them."""
    return [build_messages(c, i, None) for c, i in every_turn(conversations)[:WARMUP_LIMIT]]


def warm_caches(
    config: RunConfig, conversations: list[Conversation], say: Callable[[str], None]
) -> dict[str, dict[str, Any]]:
    """Send the prompts to every target; what each one cost (run.json's ``cache_warmup``)."""
    prompts = warmup_prompts(conversations)
    say(
        f"warming the prefix caches: {len(prompts)} prompts to each of "
        f"{len(config.targets)} model(s) before the load (--warm-cache)"
    )
    return {t.name: _warm_one(config, t, prompts) for t in config.targets}


def _warm_one(
    config: RunConfig, target: Target, prompts: list[list[dict[str, str]]]
) -> dict[str, Any]:
    assert target.host is not None
    started = time.monotonic()

    def send(messages: list[dict[str, str]]) -> RequestResult:
        client = api_client(target, config.load.timeout_s)
        body = flavour(target.api).request(target.model, messages, 1)
        apply_extra_body(body, config.load.extra_body, target.extra_body)
        result = RequestResult(target.name, "cache-warmup", 0, time.time())
        try:
            return send_chat(client, body, result, api=target.api, path=endpoint_path(target))
        finally:
            client.close()

    pool = gevent.pool.Pool(WARMUP_CONCURRENCY)
    results = list(pool.imap_unordered(send, prompts))
    ttfts = [r.ttft_ms for r in results if r.ok and r.ttft_ms is not None]
    prompt_tokens = sum(r.prompt_tokens or 0 for r in results if r.ok)
    cached = sum(r.cached_tokens or 0 for r in results if r.ok)
    return {
        "prompts": len(results),
        "failures": sum(not r.ok for r in results),
        "seconds": round(time.monotonic() - started, 3),
        "ttft_ms_p50": round(statistics.median(ttfts), 3) if ttfts else None,
        # how warm the model already was: the share its cache served during the warm-up
        "cached_share": round(cached / prompt_tokens, 4) if prompt_tokens else None,
    }
