"""Every flag of ``loadprofile run``, declared once: the run's parser, plain Locust's (through
the plugin) and the gate command's register them from here, and docs/flags.md's table is
generated from here (``make flags-doc``; a test fails when it is stale).

A flag offered to plain ``locust -f`` means the same there; where Locust has a flag of its
own with the same meaning (``--host``, ``-u``, ``-r``, ``-t``, the distributed flags), the
plugin adds nothing and the run takes Locust's.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from loadprofile.config.run_config import CliValues

Command = Literal["run", "gate", "locust"]


class InLocust(Enum):
    """How plain ``locust -f locustfiles/chat.py`` offers a flag."""

    SAME = "same"  # registered by the plugin, under the same name
    OWN = "own"  # Locust's own flag of the same meaning
    RENAMED = "renamed"  # registered under ``locust_names`` (Locust has the name already)
    NO = "no"  # not offered


@dataclass(frozen=True)
class Flag:
    names: tuple[str, ...]
    help: str  # --help's line
    group: str
    default: str = "none"  # as the docs show it (the value itself is resolved in run_config)
    doc: str = ""  # the docs table's meaning; --help's line when empty
    type: Callable[[str], object] | None = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    action: Literal["append", "store_true"] | None = None
    commands: frozenset[str] = frozenset({"run"})
    locust: InLocust = InLocust.SAME
    locust_names: tuple[str, ...] = ()
    env: str | None = None  # read when the flag is not given

    @property
    def dest(self) -> str:
        return self.names[-1].lstrip("-").replace("-", "_")

    def dest_in(self, command: Command) -> str:
        """Where argparse puts the value: a renamed flag keeps clear of Locust's own."""
        if command == "locust" and self.locust_names:
            return self.locust_names[-1].lstrip("-").replace("-", "_")
        return self.dest

    def offered_to(self, command: Command) -> bool:
        if command == "locust":
            return self.locust in (InLocust.SAME, InLocust.RENAMED)
        return command in self.commands


RUN = "target, dataset and run"
SHAPE = "load shape (closed loop: users)"
OPEN = "open loop (arrivals on a schedule, whatever the server does)"
ENDPOINT = "endpoint"
SLOS = "SLOs"
RETRIES = "retries (off by default; as the OpenAI/Anthropic SDKs retry)"
CONTRACT = "response contract"
GATE = "gate (SLOs -> exit code 1 on failure)"
FLEET = "distributed (Locust's master and workers)"
_RUN_AND_GATE = frozenset({"run", "gate"})


def _flag(*names: str, help: str, group: str = RUN, **kw: Any) -> Flag:
    return Flag(names=names, help=help, group=group, **kw)


def _gate(*names: str, help: str, **kw: Any) -> Flag:
    """A gate flag: `loadprofile gate` has it too; plain Locust runs are gated afterwards."""
    kw.setdefault("commands", _RUN_AND_GATE)
    return Flag(names=names, help=help, group=GATE, locust=InLocust.NO, **kw)


def _fleet(*names: str, help: str, **kw: Any) -> Flag:
    """A distributed-run flag: Locust's own of the same name under plain Locust."""
    return Flag(names=names, help=help, group=FLEET, locust=InLocust.OWN, **kw)


FLAGS: tuple[Flag, ...] = (
    # -- what to load, with what ------------------------------------------------------------
    _flag(
        "--host",
        help="base URL of an OpenAI-compatible server (default: mock)",
        default="embedded mock",
        doc="base URL of an OpenAI-compatible server (without `/v1`)",
        locust=InLocust.OWN,
        env="LOADPROFILE_HOST",
    ),
    _flag(
        "--model",
        help="model to load (repeatable); WEIGHT sets its share of the users",
        default="mock-small, mock-large",
        doc="model(s) to load, with traffic weights (by default even)",
        action="append",
        metavar="NAME[=WEIGHT]",
    ),
    _flag(
        "--config",
        help="TOML file with [[targets]] and [load]",
        doc="TOML file with `[[targets]]` (several hosts in one run), `[load]` (any run flag; "
        "the command line wins) and `[prices]`",
        type=Path,
        metavar="FILE",
        locust=InLocust.RENAMED,
        locust_names=("--loadprofile-config",),  # Locust's --config is its own file
        env="LOADPROFILE_CONFIG",
    ),
    _flag(
        "--dataset",
        help="conversations: OpenAI chat JSONL or ShareGPT JSON/JSONL",
        default="packaged sample (256 conversations, 722 turns)",
        doc="OpenAI chat JSONL or ShareGPT (JSON or JSONL)",
        metavar="FILE",
        env="LOADPROFILE_DATASET",
    ),
    _flag(
        "-u",
        "--users",
        help="concurrent users (default 20)",
        default="20",
        doc="concurrent simulated users",
        type=int,
        metavar="N",
        locust=InLocust.OWN,
    ),
    _flag(
        "-r",
        "--spawn-rate",
        help="users started per second (default 5)",
        default="5",
        doc="users started per second",
        type=float,
        metavar="N",
        locust=InLocust.OWN,
    ),
    _flag(
        "-t",
        "--run-time",
        help="e.g. 30s, 5m, 1h30m (default 30s; with -n: 10m)",
        default="30s (with `-n`: 10m)",
        doc="`30s`, `5m`, `1h30m`",
        metavar="T",
        locust=InLocust.OWN,
    ),
    _flag(
        "-n",
        "--max-requests",
        help="end the run once N requests have been sent (then the usual drain), or at -t",
        default="off",
        doc="end the run once N requests have been sent (then the usual drain), or at `-t` if "
        "sooner: matches a run request for request with another tool's",
        type=int,
        metavar="N",
        locust=InLocust.NO,  # Locust's runner does not stop on it: `loadprofile run` does
    ),
    _flag(
        "--think-time",
        help="seconds between turns, MIN-MAX (default 1-3; 0 = none)",
        default="`1-3`",
        doc="seconds between turns (and conversations); `0` for none",
        metavar="MIN-MAX",
    ),
    _flag(
        "--history",
        help="history holds the recorded replies (default) or the model's own",
        default="`recorded`",
        doc="history holds the recorded replies (byte-identical prompts for every model) or "
        "the model's own",
        choices=("recorded", "live"),
    ),
    _flag(
        "--timeout",
        help="per-request timeout (default 300s)",
        default="300s",
        doc="bounds every request",
        metavar="T",
    ),
    _flag(
        "--max-tokens",
        help="max_tokens per request (default 256)",
        default="256",
        doc="`max_tokens` per request (a per-turn `max_tokens` in the dataset wins)",
        type=int,
        metavar="N",
    ),
    _flag(
        "--stop-timeout",
        help="at the end, wait this long for requests in flight (default 30s)",
        default="30s",
        doc="at the end, how long requests in flight may finish; any still running are "
        "recorded as `timeout` failures, never dropped, with what arrived before the cut (TTFT, "
        "chunks, tokens, gaps: in the TTFT and ITL figures); when they are 1 % of the requests "
        "or more, the end summary says how many and what to change (`raise --stop-timeout or "
        "lower -u`). Plain Locust: its own `-s/--stop-timeout` (30s when not given)",
        metavar="T",
        locust=InLocust.OWN,
    ),
    _flag(
        "--interval",
        help="histogram interval (default 1s)",
        default="1s",
        doc="histogram interval (time series resolution)",
        metavar="T",
    ),
    _flag(
        "--seed",
        help="seed for think times and the mock (default 0)",
        default="0",
        doc="think times, the arrival schedule and the embedded mock's behaviour",
        type=int,
        metavar="N",
    ),
    _flag(
        "--api-key-env",
        help="environment variable holding the API key (default for api.openai.com: "
        "OPENAI_API_KEY)",
        doc="the environment variable holding the API key (its name, never its value, is "
        "written to the run folder); for `https://api.openai.com`: `OPENAI_API_KEY`",
        metavar="VAR",
        env="LOADPROFILE_API_KEY_ENV",
    ),
    _flag(
        "--out",
        help="run folder (default reports/<run-id>)",
        default="`reports/<run-id>`",
        doc="run folder",
        metavar="DIR",
    ),
    _flag(
        "--no-report",
        help="skip building report.html",
        default="off",
        action="store_true",
        locust=InLocust.NO,  # plain Locust builds the report when it quits
    ),
    _flag(
        "--no-pin",
        help="let the embedded mock and the load generator share every CPU",
        default="off",
        doc="let the embedded mock and the load generator share every CPU; by default (Linux, "
        "2+ CPUs, not distributed) the mock runs on the last CPU and the generator on the "
        "others, so the mock's work never delays the generator's timestamps (run.json's "
        "`pinning`)",
        action="store_true",
        locust=InLocust.NO,  # plain Locust never starts the mock
    ),
    # -- load shape, open loop ----------------------------------------------------------------
    _flag(
        "--shape",
        help="steady (default), step, spike, or stages from --config",
        group=SHAPE,
        default="steady",
        doc="load shape (see [Bursts, steps and open-loop arrivals]"
        "(running.md#bursts-steps-and-open-loop-arrivals)); `stages`: `[[load.stages]]` in "
        "`--config`",
        choices=("steady", "step", "spike", "stages"),
    ),
    _flag(
        "--base-users",
        help="step/spike: users before (and for spike after) the burst; step users = base x step",
        group=SHAPE,
        type=int,
        metavar="N",
    ),
    _flag("--steps", help="step: multiples of --base-users, e.g. 1,10,25,50,100", group=SHAPE),
    _flag("--step-time", help="step: how long each step holds, e.g. 60s", group=SHAPE, metavar="T"),
    _flag(
        "--spike-users", help="spike: users during the burst", group=SHAPE, type=int, metavar="N"
    ),
    _flag("--spike-at", help="spike: when the burst starts, e.g. 60s", group=SHAPE, metavar="T"),
    _flag(
        "--spike-for", help="spike: how long the burst lasts, e.g. 30s", group=SHAPE, metavar="T"
    ),
    _flag(
        "--pace",
        help="closed loop: each user starts a request every PACE (like Locust's "
        "constant_pacing); tails get HdrHistogram's correction",
        group=SHAPE,
        default="off",
        metavar="T",
    ),
    _flag(
        "--rate",
        help="arrivals per second (all models together); requests are timed from their "
        "scheduled start",
        group=OPEN,
        default="off (closed loop)",
        doc="open loop: arrivals per second (all models together); requests are timed from "
        "their scheduled start",
        type=float,
        metavar="R",
    ),
    _flag(
        "--arrival",
        help="poisson (default), constant or gamma:SHAPE (SHAPE < 1: burstier)",
        group=OPEN,
        default="poisson",
        metavar="KIND",
    ),
    _flag(
        "--rate-unit",
        help="an arrival is one request (default) or a whole conversation",
        group=OPEN,
        default="requests",
        choices=("requests", "conversations"),
    ),
    # -- endpoint -----------------------------------------------------------------------------
    _flag(
        "--api",
        help="wire format: OpenAI chat completions (default), OpenAI legacy completions, or "
        "Anthropic Messages (x-api-key); [[targets]] may set their own",
        group=ENDPOINT,
        default="chat",
        doc="wire format (`api` per target in `[[targets]]`): OpenAI chat "
        "(`/v1/chat/completions`); OpenAI legacy completions (`/v1/completions`: the chat "
        "rendered as one prompt of `Role: text` blocks ending in `Assistant:`, `max_tokens` "
        "1024 when none); Anthropic Messages (`/v1/messages`: `x-api-key` and "
        "`anthropic-version` headers, system messages in `system`, `max_tokens` 1024 when none, "
        "usage and stop reasons mapped to OpenAI's). TTFT is the first chunk with any generated "
        "output (text, reasoning: `reasoning_content`/`thinking_delta`, tool calls: "
        "`tool_calls`/`input_json_delta`); `ttfvt_ms` the first with visible text",
        choices=("chat", "completions", "anthropic"),
    ),
    _flag(
        "--unique-prefix",
        help="open each conversation's prompt with a nonce, so no server prefix cache can serve "
        "it (cold prefill); turns of one conversation still share it",
        group=ENDPOINT,
        default="off",
        doc="a per-conversation nonce opens every prompt: no prefix cache serves one "
        "conversation's prompt to another (see [Prefix caches](measurements.md#what-is-measured))",
        action="store_true",
    ),
    _flag(
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
    _flag(
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
    _flag(
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
    _flag(
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
    _flag(
        "--slo-ttft-ms",
        help="goodput: a request is good if its TTFT is at most this",
        group=SLOS,
        type=float,
        metavar="X",
    ),
    _flag(
        "--slo-tpot-ms",
        help="goodput: ... and its TPOT at most this",
        group=SLOS,
        type=float,
        metavar="Y",
    ),
    _flag(
        "--slo-ttft-p99-ms",
        help="step: the TTFT p99 that sets max_concurrency_within_slo",
        group=SLOS,
        doc="step runs: the highest concurrency whose TTFT p99 stays within X",
        type=float,
        metavar="X",
    ),
    _flag(
        "--retries",
        help="retry a failed request up to N times (default 0); latency is reported for the "
        "first attempt and as felt",
        group=RETRIES,
        default="0 (off)",
        type=int,
        metavar="N",
    ),
    _flag(
        "--retry-backoff",
        help="BASE[:MAX] wait before a retry, doubling per attempt, with jitter (default 0.5s:8s)",
        group=RETRIES,
        default="0.5s:8s",
        metavar="BASE[:MAX]",
    ),
    _flag(
        "--retry-on",
        help="error classes to retry, comma-separated (default http_429,http_5xx,timeout,connect)",
        group=RETRIES,
        default="http_429,http_5xx,timeout,connect",
        metavar="CLASSES",
    ),
    _flag(
        "--content-schema",
        help="JSON Schema file every reply's content must meet (for prompts that ask for "
        "JSON); a reply that does not is a contract error",
        group=CONTRACT,
        metavar="FILE",
    ),
    _flag(
        "--content-extract",
        help="where the JSON is: auto (a fenced block if any, else the reply; default), "
        "fenced, raw",
        group=CONTRACT,
        default="auto",
        metavar="WHERE",
    ),
    _flag(
        "--entities",
        help="known entity names (one per line, or a JSON list): replies naming product-like "
        "things found neither there nor in the prompt are flagged (a signal, not a verdict)",
        group=CONTRACT,
        metavar="FILE",
    ),
    _flag(
        "--sample-outputs",
        help="keep N replies per model (a uniform sample over the run) in samples.jsonl",
        group=CONTRACT,
        default="off",
        type=int,
        metavar="N",
    ),
    _flag(
        "--baseline",
        help="compare the sampled replies with a snapshot taken at low load (repeatable); "
        "with --canary: the model the canary is judged against",
        group=CONTRACT,
        action="append",
        metavar="[MODEL=]SNAPSHOT",
    ),
    # -- gate -----------------------------------------------------------------------------------
    _gate(
        "--slo",
        help="TOML file of bounds (see docs/gates.md); with `loadprofile run`: gate the run "
        "when it ends",
        doc="gate the run when it ends (exit 1 on failure; see [Gates](gates.md))",
        type=Path,
        metavar="FILE",
    ),
    _gate(
        "--canary",
        help="judge MODEL against --baseline MODEL under the same load (relative bounds; "
        "default canary bounds without --slo)",
        default="off",
        doc="judge model M against `--baseline B` under the same load (with `--model B=90 "
        "--model M=10`); default canary bounds without `--slo`",
        metavar="MODEL",
        commands=frozenset({"run"}),
    ),
    _gate(
        "--significance",
        help="relative bounds fail only if the violation is significant at this level "
        "(default: the SLO file's, 0.05; 0 = judge the point values)",
        default="0.05",
        type=float,
        metavar="A",
    ),
    _gate(
        "--against",
        help="a baseline run (last night's, say): limits name its figures as before.METRIC",
        type=Path,
        metavar="RUN_DIR",
    ),
    _gate(
        "--junit",
        help="write the verdicts as JUnit XML",
        type=Path,
        metavar="FILE",
    ),
    _gate(
        "--markdown",
        help="write a short Markdown summary",
        type=Path,
        metavar="FILE",
    ),
    _gate(
        "--on-fail-webhook",
        help="POST once to URL when the gate fails (e.g. a router's rollback endpoint); the "
        "answer goes to webhook.json",
        metavar="URL",
    ),
    _gate(
        "--webhook-body",
        help="the JSON body to POST (default: run id, canary, failed bounds, canary_pct 0)",
        metavar="JSON",
    ),
    # -- distributed (plain Locust: its own flags of the same names) ------------------------------
    _fleet(
        "--processes",
        help="run N worker processes on this machine (-1: one per core) under a master in "
        "this process; with --worker: N workers of a remote master",
        default="off",
        type=int,
        metavar="N",
    ),
    _fleet(
        "--master",
        help="be the master of workers on other machines (they run `loadprofile run --worker "
        "--master-host THIS`)",
        default="off",
        action="store_true",
    ),
    _fleet(
        "--worker",
        help="be a worker: take the run from the master at --master-host",
        default="off",
        doc="be a worker: take the whole run (config, conversations) from the master at "
        "`--master-host`",
        action="store_true",
    ),
    _fleet(
        "--expect-workers",
        help="master: start once N workers are connected (default 1)",
        default="1",
        type=int,
        metavar="N",
    ),
    _fleet(
        "--expect-workers-max-wait",
        help="master: give up after this many seconds without them (default 120; 0 = wait forever)",
        default="120",
        type=float,
        metavar="S",
    ),
    _fleet(
        "--master-host",
        help="worker: the master's address (default 127.0.0.1)",
        default="127.0.0.1",
        metavar="H",
    ),
    _fleet(
        "--master-port",
        help="worker: the master's port (default 5557)",
        default="5557",
        type=int,
        metavar="P",
    ),
    _fleet(
        "--master-bind-host",
        help="master: interface to listen on (default *)",
        default="`*`",
        metavar="H",
    ),
    _fleet(
        "--master-bind-port",
        help="master: port (default 5557)",
        default="5557",
        type=int,
        metavar="P",
    ),
)

BY_DEST = {flag.dest: flag for flag in FLAGS}


def flags_for(command: Command) -> tuple[Flag, ...]:
    return tuple(flag for flag in FLAGS if flag.offered_to(command))


def add_flags(
    parser: argparse.ArgumentParser, command: Command, groups: Iterable[str] | None = None
) -> None:
    """Register the flags ``command`` offers (``groups``: only these) into ``parser``, in
    their groups (Locust's parser is a configargparse one, alike)."""
    wanted = set(groups) if groups is not None else None
    added: dict[str, argparse._ArgumentGroup] = {}
    for flag in flags_for(command):
        if wanted is not None and flag.group not in wanted:
            continue
        if flag.group not in added:
            title = "loadprofile" if command == "locust" and flag.group == RUN else flag.group
            added[flag.group] = parser.add_argument_group(title)
        names = flag.locust_names if command == "locust" and flag.locust_names else flag.names
        added[flag.group].add_argument(*names, **_argparse_options(flag, command))


def _argparse_options(flag: Flag, command: Command) -> dict[str, Any]:
    options: dict[str, Any] = {"help": flag.help, "dest": flag.dest_in(command)}
    if flag.action is not None:
        options["action"] = flag.action
    if flag.action == "store_true":
        options["default"] = None  # not given: the TOML file's [load] value, if any, counts
    if flag.type is not None:
        options["type"] = flag.type
    if flag.metavar is not None:
        options["metavar"] = flag.metavar
    if flag.choices is not None:
        options["choices"] = flag.choices
    if flag.env is not None:
        options["help"] += f" [env {flag.env}]"
        if os.environ.get(flag.env):
            options["default"] = os.environ[flag.env]  # argparse converts it like a value
    return options


#: CliValues fields named apart from their flag's dest.
_FIELD_OF_DEST = {"model": "models"}
_CLI_FIELDS = {field.name for field in dataclasses.fields(CliValues)}


def cli_values(args: argparse.Namespace, command: Command, **given: object) -> CliValues:
    """What the command line said, for ``config.resolve``: every flag ``command`` offers
    (None when not given); ``given`` adds or overrides fields (plain Locust: its own -u, -r,
    -t and --host)."""
    values: dict[str, Any] = {}
    for flag in flags_for(command):
        field = _FIELD_OF_DEST.get(flag.dest, flag.dest)
        if field in _CLI_FIELDS:
            values[field] = getattr(args, flag.dest_in(command), None)
    values.update(given)
    values["models"] = tuple(values.get("models") or ())
    return CliValues(**values)
