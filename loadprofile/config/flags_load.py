"""The flags that say what is loaded and how hard: targets, dataset, users and run length, the
load shape and open-loop arrivals (the registry: flags.py)."""

from __future__ import annotations

from pathlib import Path

from loadprofile.config.flag_spec import (
    OPEN,
    SHAPE,
    Flag,
    InLocust,
    flag,
)

LOAD_FLAGS: tuple[Flag, ...] = (
    # -- what to load, with what ------------------------------------------------------------
    flag(
        "--host",
        help="base URL of an OpenAI-compatible server, as the OpenAI SDKs take it: its path "
        "is the API base (a bare host means /v1) (default: mock)",
        default="embedded mock",
        doc="base URL of an OpenAI-compatible server as the OpenAI SDKs take it: its path is "
        "the API base (`https://openrouter.ai/api/v1`, `.../v1beta/openai`), a bare host means "
        "`/v1` (`--api azure`: nothing)",
        locust=InLocust.OWN,
        env="LOADPROFILE_HOST",
    ),
    flag(
        "--model",
        help="model to load (repeatable); WEIGHT sets its share of the users",
        default="mock-small, mock-large",
        doc="model(s) to load, with traffic weights (by default even)",
        action="append",
        metavar="NAME[=WEIGHT]",
    ),
    flag(
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
    flag(
        "--dataset",
        help="conversations: OpenAI chat JSONL or ShareGPT JSON/JSONL",
        default="packaged sample (256 conversations, 722 turns)",
        doc="OpenAI chat JSONL or ShareGPT (JSON or JSONL)",
        metavar="FILE",
        env="LOADPROFILE_DATASET",
    ),
    flag(
        "-u",
        "--users",
        help="concurrent users (default 20)",
        default="20",
        doc="concurrent simulated users",
        type=int,
        metavar="N",
        locust=InLocust.OWN,
    ),
    flag(
        "-r",
        "--spawn-rate",
        help="users started per second (default 5)",
        default="5",
        doc="users started per second",
        type=float,
        metavar="N",
        locust=InLocust.OWN,
    ),
    flag(
        "-t",
        "--run-time",
        help="e.g. 30s, 5m, 1h30m (default 30s; with -n: 10m)",
        default="30s (with `-n`: 10m)",
        doc="`30s`, `5m`, `1h30m`",
        metavar="T",
        locust=InLocust.OWN,
    ),
    flag(
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
    flag(
        "--until-stable",
        help="end the run once every model's gated percentiles are known within --stable-ci "
        "(95 %% interval), or at -t",
        default="off",
        doc="end the run once, for every model, the 95 % confidence interval of each "
        "`--stable-metrics` percentile is within ±`--stable-ci` of its estimate (and the "
        "window's halves agree), after `--warmup` and not before `--min-time`; `-t` still "
        "bounds it ([measurements.md](measurements.md#until-stable))",
        action="store_true",
        locust=InLocust.NO,  # Locust's runner does not stop on it: `loadprofile run` does
    ),
    flag(
        "--stable-metrics",
        help="percentiles --until-stable waits for (default ttft_ms.p99,e2e_ms.p99)",
        default="`ttft_ms.p99,e2e_ms.p99`",
        doc="the percentiles `--until-stable` waits for, `METRIC.pNN` comma-separated",
        metavar="LIST",
        locust=InLocust.NO,
    ),
    flag(
        "--stable-ci",
        help="--until-stable's bound: the 95 %% interval within +-PCT %% of the estimate "
        "(default 5)",
        default="5",
        doc="`--until-stable`'s bound, in % of the estimate",
        type=float,
        metavar="PCT",
        locust=InLocust.NO,
    ),
    flag(
        "--warmup",
        help="with --until-stable: the first T left out of the figures (default 10s)",
        default="10s",
        doc="with `--until-stable`: the first T of the run, left out of summary.json's "
        "figures and of the stop rule (its own phase, `warm-up`)",
        metavar="T",
        locust=InLocust.NO,
    ),
    flag(
        "--min-time",
        help="with --until-stable: never end sooner (default 30s)",
        default="30s",
        doc="with `--until-stable`: the run is never called stable sooner",
        metavar="T",
        locust=InLocust.NO,
    ),
    flag(
        "--think-time",
        help="seconds between turns, MIN-MAX (default 1-3; 0 = none)",
        default="`1-3`",
        doc="seconds between turns (and conversations); `0` for none",
        metavar="MIN-MAX",
    ),
    flag(
        "--history",
        help="history holds the recorded replies (default) or the model's own",
        default="`recorded`",
        doc="history holds the recorded replies (byte-identical prompts for every model) or "
        "the model's own",
        choices=("recorded", "live"),
    ),
    flag(
        "--timeout",
        help="per-request timeout (default 300s)",
        default="300s",
        doc="bounds every request",
        metavar="T",
    ),
    flag(
        "--max-tokens",
        help="max_tokens per request (default 256)",
        default="256",
        doc="`max_tokens` per request (a per-turn `max_tokens` in the dataset wins)",
        type=int,
        metavar="N",
    ),
    flag(
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
    flag(
        "--interval",
        help="histogram interval (default 1s)",
        default="1s",
        doc="histogram interval (time series resolution)",
        metavar="T",
    ),
    flag(
        "--seed",
        help="seed for think times and the mock (default 0)",
        default="0",
        doc="think times, the arrival schedule and the embedded mock's behaviour",
        type=int,
        metavar="N",
    ),
    flag(
        "--api-key-env",
        help="environment variable holding the API key (default for api.openai.com: "
        "OPENAI_API_KEY)",
        doc="the environment variable holding the API key (its name, never its value, is "
        "written to the run folder); for `https://api.openai.com`: `OPENAI_API_KEY`",
        metavar="VAR",
        env="LOADPROFILE_API_KEY_ENV",
    ),
    flag(
        "--out",
        help="run folder (default reports/<run-id>)",
        default="`reports/<run-id>`",
        doc="run folder",
        metavar="DIR",
    ),
    flag(
        "--no-report",
        help="skip building report.html",
        default="off",
        action="store_true",
        locust=InLocust.NO,  # plain Locust builds the report when it quits
    ),
    flag(
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
    flag(
        "--shape",
        help="steady (default), step, spike, or stages from --config",
        group=SHAPE,
        default="steady",
        doc="load shape (see [Bursts, steps and open-loop arrivals]"
        "(running.md#bursts-steps-and-open-loop-arrivals)); `stages`: `[[load.stages]]` in "
        "`--config`",
        choices=("steady", "step", "spike", "stages"),
    ),
    flag(
        "--base-users",
        help="step/spike: users before (and for spike after) the burst; step users = base x step",
        group=SHAPE,
        type=int,
        metavar="N",
    ),
    flag("--steps", help="step: multiples of --base-users, e.g. 1,10,25,50,100", group=SHAPE),
    flag("--step-time", help="step: how long each step holds, e.g. 60s", group=SHAPE, metavar="T"),
    flag("--spike-users", help="spike: users during the burst", group=SHAPE, type=int, metavar="N"),
    flag("--spike-at", help="spike: when the burst starts, e.g. 60s", group=SHAPE, metavar="T"),
    flag("--spike-for", help="spike: how long the burst lasts, e.g. 30s", group=SHAPE, metavar="T"),
    flag(
        "--pace",
        help="closed loop: each user starts a request every PACE (like Locust's "
        "constant_pacing); tails get HdrHistogram's correction",
        group=SHAPE,
        default="off",
        metavar="T",
    ),
    flag(
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
    flag(
        "--arrival",
        help="poisson (default), constant or gamma:SHAPE (SHAPE < 1: burstier)",
        group=OPEN,
        default="poisson",
        metavar="KIND",
    ),
    flag(
        "--rate-unit",
        help="an arrival is one request (default) or a whole conversation",
        group=OPEN,
        default="requests",
        choices=("requests", "conversations"),
    ),
)
