"""`GET /metrics`: the mock's state in Prometheus text format, under vLLM's metric names.

So `--server-metrics` has a server to scrape in tests and demos without a GPU. Each model
is one `model_name` label, as on a vLLM server with several models behind one router:
requests running (holding a slot) and waiting (queued for one), prompt and generated token
counters, prefix-cache queries and hits (in tokens), finished requests, and a KV-cache use
that is nominal: the tokens held by the requests in service (prompt plus generated so far;
a non-streamed reply's tokens count once it is sent) over `KV_TOKENS_PER_SLOT` per
concurrency slot (`ModelSlots.kv_capacity`), at most 1. Rendered by hand: a few families
need no client library in the mock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from loadprofile.mock.state import ModelSlots

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_FAMILIES: tuple[tuple[str, str, str, Callable[[ModelSlots], float]], ...] = (
    (
        "vllm:num_requests_running",
        "gauge",
        "Number of requests in model execution batches.",
        lambda s: s.in_flight,
    ),
    (
        "vllm:num_requests_waiting",
        "gauge",
        "Number of requests waiting to be processed.",
        lambda s: s.queued,
    ),
    (
        "vllm:kv_cache_usage_perc",
        "gauge",
        "KV-cache usage. 1 means 100 percent usage.",
        lambda s: s.kv_usage,
    ),
    (
        "vllm:prompt_tokens_total",
        "counter",
        "Number of prefill tokens processed.",
        lambda s: s.prompt_tokens_total,
    ),
    (
        "vllm:generation_tokens_total",
        "counter",
        "Number of generation tokens processed.",
        lambda s: s.generation_tokens_total,
    ),
    (
        "vllm:prefix_cache_queries_total",
        "counter",
        "Prefix cache queries, in queried tokens.",
        lambda s: s.prompt_tokens_total,
    ),
    (
        "vllm:prefix_cache_hits_total",
        "counter",
        "Prefix cache hits, in cached tokens.",
        lambda s: s.cached_tokens_total,
    ),
    (
        "vllm:request_success_total",
        "counter",
        "Count of successfully processed requests.",
        lambda s: s.completed,
    ),
)


def _label_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(slots: Mapping[str, ModelSlots]) -> str:
    """The exposition of every model's state right now."""
    lines: list[str] = []
    for name, kind, doc, value in _FAMILIES:
        lines += [f"# HELP {name} {doc}", f"# TYPE {name} {kind}"]
        for model, state in slots.items():
            lines.append(f'{name}{{model_name="{_label_value(model)}"}} {float(value(state))!r}')
    return "\n".join(lines) + "\n"
