"""The flags that say how requests are sent, checked and judged, and where the load runs: the
endpoint, SLOs, retries, the response contract, the gate and distributed runs (the registry:
flags.py)."""

from __future__ import annotations

from pathlib import Path

from loadprofile.config.flag_spec import (
    CONTRACT,
    ENDPOINT,
    RETRIES,
    SLOS,
    Flag,
    InLocust,
    flag,
    fleet_flag,
    gate_flag,
)

REQUEST_FLAGS: tuple[Flag, ...] = (
    # -- endpoint -----------------------------------------------------------------------------
    flag(
        "--api",
        help="wire format: OpenAI chat completions (default), OpenAI legacy completions, "
        "Anthropic Messages (x-api-key), or Azure OpenAI (--model names the deployment); "
        "[[targets]] may set their own",
        group=ENDPOINT,
        default="chat",
        doc="wire format (`api` per target in `[[targets]]`), paths under the `--host` base URL "
        "(`/v1` on a bare host): OpenAI chat (`/chat/completions`); OpenAI legacy completions "
        "(`/completions`: the chat rendered as one prompt of `Role: text` blocks ending in "
        "`Assistant:`, `max_tokens` 1024 when none); Anthropic Messages (`/messages`: "
        "`x-api-key` and `anthropic-version` headers, system messages in `system`, `max_tokens` "
        "1024 when none, usage and stop reasons mapped to OpenAI's); Azure OpenAI (chat's body "
        "and stream at `/openai/deployments/MODEL/chat/completions?api-version=V` from the "
        "host's root, the key in an `api-key` header; `--model` names the deployment). TTFT is "
        "the first chunk with any generated output (text, reasoning: "
        "`reasoning_content`/`thinking_delta`, tool calls: `tool_calls`/`input_json_delta`); "
        "`ttfvt_ms` the first with visible text",
        choices=("chat", "completions", "anthropic", "azure"),
    ),
    flag(
        "--api-version",
        help="--api azure: the api-version query parameter (default 2024-10-21, the current "
        "GA version); [[targets]] may set their own (api_version)",
        group=ENDPOINT,
        default="2024-10-21",
        doc="`--api azure`: the `api-version` query parameter (`api_version` per target in "
        "`[[targets]]`)",
        metavar="VERSION",
    ),
    flag(
        "--header",
        help="send this header with every request (the preflight and the cache warm-up "
        "too), e.g. 'X-Team: perf' (repeatable); its name, never its value, is recorded",
        group=ENDPOINT,
        doc="send this header with every request, the preflight's and the cache warm-up's "
        'too, e.g. `\'X-Team: perf\'` (repeatable; `headers = { "X-Team" = "perf" }` per '
        "target in `[[targets]]` adds to or overrides them); run.json keeps its name, never its "
        "value. `Host`, `Content-Type`, `Content-Length`, `Transfer-Encoding`, `Connection`, "
        "`User-Agent`, `Accept-Encoding` and `X-Request-Id` are loadprofile's own",
        action="append",
        metavar="NAME:VALUE",
    ),
    flag(
        "--header-env",
        help="send header NAME with the value of environment variable VAR, read when the "
        "run starts and never written anywhere (repeatable)",
        group=ENDPOINT,
        doc="send header NAME with the value of the environment variable VAR (a gateway's key), "
        "read when the requests are made and never written to the run folder (repeatable; "
        '`header_env = { "X-Gateway-Key" = "GATEWAY_KEY" }` per target); a variable not '
        "set stops the run at the preflight (exit 2)",
        action="append",
        metavar="NAME=VAR",
    ),
    flag(
        "--unique-prefix",
        help="open each conversation's prompt with a nonce, so no server prefix cache can serve "
        "it (cold prefill); turns of one conversation still share it",
        group=ENDPOINT,
        default="off",
        doc="a per-conversation nonce opens every prompt: no prefix cache serves one "
        "conversation's prompt to another (see [Prefix caches](measurements.md#what-is-measured))",
        action="store_true",
    ),
    flag(
        "--server-metrics",
        help="scrape this Prometheus endpoint (e.g. http://HOST:8080/metrics of llama.cpp or "
        "vLLM) every second into the run folder (repeatable)",
        group=ENDPOINT,
        doc="scrape the server's Prometheus endpoint (`http://HOST:PORT` means `/metrics`) each "
        "second into the run folder (repeatable; see [Server-side metrics]"
        "(measurements.md#what-is-measured))",
        action="append",
        metavar="URL",
    ),
    flag(
        "--extra-body",
        help="fields merged into every request body, e.g. '{\"ignore_eos\": true}' or "
        "'{\"temperature\": 0}' (a target's extra_body and a dataset turn's merge over it)",
        group=ENDPOINT,
        doc='fields merged into every request body, e.g. `{"ignore_eos": true}`, '
        '`{"temperature": 0}`; a target\'s `extra_body` (in `[[targets]]`), a dataset '
        "record's or user message's `\"extra_body\"` merge over it, in that order; `model`, "
        "`messages`, `prompt`, `system`, `stream` cannot be set",
        metavar="JSON",
    ),
    flag(
        "--max-prompt-tokens",
        help="skip turns whose prompt (history included, estimated at 4 characters a token) "
        "exceeds N tokens: a conversation ends before its first such turn (e.g. the context "
        "size minus --max-tokens)",
        group=ENDPOINT,
        default="off",
        doc="skip turns whose prompt (history included, estimated at 4 characters a token) "
        "exceeds N tokens; a conversation ends before its first such turn (see [Prompts that "
        "do not fit](running.md#running-against-real-endpoints))",
        type=int,
        metavar="N",
    ),
    flag(
        "--warm-cache",
        help="before the load, send every prompt of the dataset once (max_tokens 1) to every "
        "model, so prefix caches start equally warm (auto: with --canary)",
        group=ENDPOINT,
        default="auto",
        doc="before the load, send every prompt the run replays once (`max_tokens` 1, the first "
        "2,000) to every model, so their prefix caches start equally warm: a canary that gets "
        "10 % of the traffic replays each prompt a tenth as often as its baseline, and a warm "
        "baseline against a cold candidate is a false regression. `auto`: on with `--canary`. "
        "run.json's `cache_warmup` keeps what it cost; see [Gates](gates.md)",
        choices=("auto", "on", "off"),
        locust=InLocust.NO,
    ),
    # -- SLOs, retries, contract ----------------------------------------------------------------
    flag(
        "--slo-ttft-ms",
        help="goodput: a request is good if its TTFT is at most this",
        group=SLOS,
        type=float,
        metavar="X",
    ),
    flag(
        "--slo-tpot-ms",
        help="goodput: ... and its TPOT at most this",
        group=SLOS,
        type=float,
        metavar="Y",
    ),
    flag(
        "--slo-ttft-p99-ms",
        help="step: the TTFT p99 that sets max_concurrency_within_slo",
        group=SLOS,
        doc="step runs: the highest concurrency whose TTFT p99 stays within X",
        type=float,
        metavar="X",
    ),
    flag(
        "--retries",
        help="retry a failed request up to N times (default 0); latency is reported for the "
        "first attempt and as felt",
        group=RETRIES,
        default="0 (off)",
        type=int,
        metavar="N",
    ),
    flag(
        "--retry-backoff",
        help="BASE[:MAX] wait before a retry, doubling per attempt, with jitter (default 0.5s:8s)",
        group=RETRIES,
        default="0.5s:8s",
        metavar="BASE[:MAX]",
    ),
    flag(
        "--retry-on",
        help="error classes to retry, comma-separated (default http_429,http_5xx,timeout,connect)",
        group=RETRIES,
        default="http_429,http_5xx,timeout,connect",
        metavar="CLASSES",
    ),
    flag(
        "--content-schema",
        help="JSON Schema file every reply's content must meet (for prompts that ask for "
        "JSON); a reply that does not is a contract error",
        group=CONTRACT,
        metavar="FILE",
    ),
    flag(
        "--content-extract",
        help="where the JSON is: auto (a fenced block if any, else the reply; default), "
        "fenced, raw",
        group=CONTRACT,
        default="auto",
        metavar="WHERE",
    ),
    flag(
        "--entities",
        help="known entity names (one per line, or a JSON list): replies naming product-like "
        "things found neither there nor in the prompt are flagged (a signal, not a verdict)",
        group=CONTRACT,
        metavar="FILE",
    ),
    flag(
        "--sample-outputs",
        help="keep N replies per model (a uniform sample over the run) in samples.jsonl",
        group=CONTRACT,
        default="off",
        type=int,
        metavar="N",
    ),
    flag(
        "--baseline",
        help="compare the sampled replies with a snapshot taken at low load (repeatable); "
        "with --canary: the model the canary is judged against",
        group=CONTRACT,
        action="append",
        metavar="[MODEL=]SNAPSHOT",
    ),
    # -- gate -----------------------------------------------------------------------------------
    gate_flag(
        "--slo",
        help="TOML file of bounds (see docs/gates.md); with `loadprofile run`: gate the run "
        "when it ends",
        doc="gate the run when it ends (exit 1 on failure; see [Gates](gates.md))",
        type=Path,
        metavar="FILE",
    ),
    gate_flag(
        "--canary",
        help="judge MODEL against --baseline MODEL under the same load (relative bounds; "
        "default canary bounds without --slo)",
        default="off",
        doc="judge model M against `--baseline B` under the same load (with `--model B=90 "
        "--model M=10`); default canary bounds without `--slo`",
        metavar="MODEL",
        commands=frozenset({"run"}),
    ),
    gate_flag(
        "--significance",
        help="relative bounds fail only if the violation is significant at this level "
        "(default: the SLO file's, 0.05; 0 = judge the point values)",
        default="0.05",
        type=float,
        metavar="A",
    ),
    gate_flag(
        "--against",
        help="a baseline run (last night's, say): limits name its figures as before.METRIC; "
        "trend:LAST_GOOD: the newest run of the series with no open regression (--trend-db)",
        type=Path,
        metavar="RUN_DIR",
    ),
    gate_flag(
        "--junit",
        help="write the verdicts as JUnit XML",
        type=Path,
        metavar="FILE",
    ),
    gate_flag(
        "--markdown",
        help="write a short Markdown summary",
        type=Path,
        metavar="FILE",
    ),
    gate_flag(
        "--on-fail-webhook",
        help="POST once to URL when the gate fails (e.g. a router's rollback endpoint); the "
        "answer goes to webhook.json",
        metavar="URL",
    ),
    gate_flag(
        "--webhook-body",
        help="the JSON body to POST (default: run id, canary, failed bounds, canary_pct 0)",
        metavar="JSON",
    ),
    # -- distributed (plain Locust: its own flags of the same names) ------------------------------
    fleet_flag(
        "--processes",
        help="run N worker processes on this machine (-1: one per core) under a master in "
        "this process; with --worker: N workers of a remote master",
        default="off",
        type=int,
        metavar="N",
    ),
    fleet_flag(
        "--master",
        help="be the master of workers on other machines (they run `loadprofile run --worker "
        "--master-host THIS`)",
        default="off",
        action="store_true",
    ),
    fleet_flag(
        "--worker",
        help="be a worker: take the run from the master at --master-host",
        default="off",
        doc="be a worker: take the whole run (config, conversations) from the master at "
        "`--master-host`",
        action="store_true",
    ),
    fleet_flag(
        "--expect-workers",
        help="master: start once N workers are connected (default 1)",
        default="1",
        type=int,
        metavar="N",
    ),
    fleet_flag(
        "--expect-workers-max-wait",
        help="master: give up after this many seconds without them (default 120; 0 = wait forever)",
        default="120",
        type=float,
        metavar="S",
    ),
    fleet_flag(
        "--master-host",
        help="worker: the master's address (default 127.0.0.1)",
        default="127.0.0.1",
        metavar="H",
    ),
    fleet_flag(
        "--master-port",
        help="worker: the master's port (default 5557)",
        default="5557",
        type=int,
        metavar="P",
    ),
    fleet_flag(
        "--master-bind-host",
        help="master: interface to listen on (default *)",
        default="`*`",
        metavar="H",
    ),
    fleet_flag(
        "--master-bind-port",
        help="master: port (default 5557)",
        default="5557",
        type=int,
        metavar="P",
    ),
)
