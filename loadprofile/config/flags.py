"""The command-line flags for load shapes, open-loop arrivals and SLOs, in one place.

``loadprofile run`` and plain ``locust -f`` (through the plugin) offer the same flags with
the same meaning; both hand the values to ``config.resolve`` through ``load_flag_values``.
"""

from __future__ import annotations

from typing import Any

from loadprofile.config.toml_file import LOAD_OPTION_FIELDS


def add_load_flags(p: Any) -> None:
    """Add the flags to ``p``: an argparse parser, or Locust's (configargparse, alike)."""
    g = p.add_argument_group("load shape (closed loop: users)")
    g.add_argument(
        "--shape",
        choices=("steady", "step", "spike", "stages"),
        help="steady (default), step, spike, or stages from --config",
    )
    g.add_argument(
        "--base-users",
        type=int,
        help="step/spike: users before (and for spike after) the burst; step users = base x step",
    )
    g.add_argument("--steps", help="step: multiples of --base-users, e.g. 1,10,25,50,100")
    g.add_argument("--step-time", help="step: how long each step holds, e.g. 60s")
    g.add_argument("--spike-users", type=int, help="spike: users during the burst")
    g.add_argument("--spike-at", help="spike: when the burst starts, e.g. 60s")
    g.add_argument("--spike-for", help="spike: how long the burst lasts, e.g. 30s")
    g.add_argument(
        "--pace",
        help="closed loop: each user starts a request every PACE (like "
        "Locust's constant_pacing); tails get HdrHistogram's correction",
    )
    o = p.add_argument_group("open loop (arrivals on a schedule, whatever the server does)")
    o.add_argument(
        "--rate",
        type=float,
        help="arrivals per second (all models together); "
        "requests are timed from their scheduled start",
    )
    o.add_argument(
        "--arrival", help="poisson (default), constant or gamma:SHAPE (SHAPE < 1: burstier)"
    )
    o.add_argument(
        "--rate-unit",
        choices=("requests", "conversations"),
        help="an arrival is one request (default) or a whole conversation",
    )
    e = p.add_argument_group("endpoint")
    e.add_argument(
        "--api",
        choices=("chat", "completions", "anthropic"),
        help="wire format: OpenAI chat completions (default), OpenAI legacy "
        "completions, or Anthropic Messages (x-api-key); [[targets]] may set their own",
    )
    e.add_argument(
        "--unique-prefix",
        action="store_true",
        default=None,
        help="open each conversation's prompt with a nonce, so no server prefix "
        "cache can serve it (cold prefill); turns of one conversation still share it",
    )
    e.add_argument(
        "--server-metrics",
        action="append",
        metavar="URL",
        help="scrape this Prometheus endpoint (e.g. http://HOST:8080/metrics of "
        "llama.cpp or vLLM) every second into the run folder (repeatable)",
    )
    e.add_argument(
        "--extra-body",
        metavar="JSON",
        help="fields merged into every request "
        "body, e.g. '{\"ignore_eos\": true}' or '{\"temperature\": 0}' (a "
        "target's extra_body and a dataset turn's merge over it)",
    )
    e.add_argument(
        "--max-prompt-tokens",
        type=int,
        metavar="N",
        help="skip turns whose "
        "prompt (history included, estimated at 4 characters a token) exceeds N "
        "tokens: a conversation ends before its first such turn (e.g. the context "
        "size minus --max-tokens)",
    )
    s = p.add_argument_group("SLOs")
    s.add_argument(
        "--slo-ttft-ms", type=float, help="goodput: a request is good if its TTFT is at most this"
    )
    s.add_argument("--slo-tpot-ms", type=float, help="goodput: ... and its TPOT at most this")
    s.add_argument(
        "--slo-ttft-p99-ms",
        type=float,
        help="step: the TTFT p99 that sets max_concurrency_within_slo",
    )

    r = p.add_argument_group("retries (off by default; as the OpenAI/Anthropic SDKs retry)")
    r.add_argument(
        "--retries",
        type=int,
        help="retry a failed request up to N times "
        "(default 0); latency is reported for the first attempt and as felt",
    )
    r.add_argument(
        "--retry-backoff",
        help="BASE[:MAX] wait before a retry, doubling per attempt, with jitter (default 0.5s:8s)",
    )
    r.add_argument(
        "--retry-on",
        help="error classes to retry, comma-separated (default http_429,http_5xx,timeout,connect)",
    )
    c = p.add_argument_group("response contract")
    c.add_argument(
        "--content-schema",
        help="JSON Schema file every reply's content must meet "
        "(for prompts that ask for JSON); a reply that does not is a contract error",
    )
    c.add_argument(
        "--content-extract",
        help="where the JSON is: auto (a fenced block if any, "
        "else the reply; default), fenced, raw",
    )
    c.add_argument(
        "--entities",
        help="known entity names (one per line, or a JSON list): "
        "replies naming product-like things found neither there nor in the prompt "
        "are flagged (a signal, not a verdict)",
    )
    c.add_argument(
        "--sample-outputs",
        type=int,
        help="keep N replies per model (a uniform sample over the run) in samples.jsonl",
    )
    c.add_argument(
        "--baseline",
        action="append",
        metavar="[MODEL=]SNAPSHOT",
        help="compare the sampled replies with a snapshot taken at low load (repeatable)",
    )


def load_flag_values(args: Any) -> dict[str, Any]:
    """The parsed flags as ``CliValues`` keyword arguments (None = not given)."""
    names = (
        *LOAD_OPTION_FIELDS,
        "content_schema",
        "content_extract",
        "sample_outputs",
        "baseline",
        "entities",
        "retries",
        "retry_backoff",
        "retry_on",
        "api",
        "unique_prefix",
        "server_metrics",
        "max_prompt_tokens",
        "extra_body",
    )
    return {name: getattr(args, name, None) for name in names}
