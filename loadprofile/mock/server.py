"""The mock target's process: application factory, small endpoints, CLI and lifecycle.

It runs as its own process (asyncio must never share a process with locust). Parents wait
for the one ready line on stdout, which carries the real port when `--port 0` was given,
and stop it with SIGTERM, on which it exits 0.

Besides the model endpoints (`/v1/models`; `/v1/chat/completions`, legacy `/v1/completions`
and Anthropic's `/v1/messages`, all with the same plans, queueing and faults, under
`--api-prefix` instead of `/v1` when given; Azure OpenAI's
`/openai/deployments/{deployment}/chat/completions`, `mock.azure`), `/health` and,
when a model publishes a llama.cpp-style context, llama-server's `/props` (`mock.context`),
tests and benchmarks control and inspect the mock through:

- `GET /mock/requests` (`?request_id=ID`, `?last=N`), `DELETE /mock/requests`: the
  per-request records kept with `--record`;
- `GET /mock/stats`: counters per model, with the freezes so far;
- `GET /metrics`: the same state in Prometheus text under vLLM's names (`mock.metrics`);
- `POST /mock/freeze` `{"seconds": S}` (0 < S <= 60): a whole-server stall. For S seconds
  nothing goes out on any chat request; new requests wait and streams pause, then all go
  on with their remaining gaps unchanged. Another freeze meanwhile extends it to
  max(end, now + S). The answer gives the stall's interval in `perf_counter_ns` (the
  records' clock) and Unix time. The other endpoints keep answering.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import ssl
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from aiohttp import web

from loadprofile.mock.azure import AZURE_ROUTE
from loadprofile.mock.chat_request import RequestError
from loadprofile.mock.context import model_entry, props_body
from loadprofile.mock.gateway import add_gateway_arguments, check_gateway_arguments, require_headers
from loadprofile.mock.handlers import (
    CONTEXT,
    MockContext,
    azure_chat_completions,
    chat_completions,
    check_auth,
    completions,
    error_response,
    messages,
    read_json,
)
from loadprofile.mock.metrics import CONTENT_TYPE, render_metrics
from loadprofile.mock.profiles import ModelProfile, ProfileError, load_profiles
from loadprofile.mock.state import MAX_FREEZE_S, ModelSlots, RecordStore, RepeatCounter
from loadprofile.mock.tls import add_tls_arguments, check_tls_arguments, server_context

log = logging.getLogger("loadprofile.mock")

READY_PREFIX = "loadprofile mock listening on "
#: Recorded conversations can be long; aiohttp's 1 MiB default would reject them.
MAX_BODY_BYTES = 64 * 1024 * 1024
#: How long open streams may run on after SIGTERM before they are cut.
SHUTDOWN_GRACE_S = 1.0


def create_app(
    profiles: dict[str, ModelProfile],
    seed: int,
    record: bool,
    api_key: str | None,
    vary_repeats: bool = True,
    api_prefix: str = "/v1",
    required_headers: tuple[tuple[str, str], ...] = (),
) -> web.Application:
    """An aiohttp application serving `profiles`; call inside a running event loop.

    With `vary_repeats`, the k-th copy of an identical request gets the plan of
    `make_plan(..., repeat=k)`; without, every copy gets the same plan. The model APIs are
    served under `api_prefix`; `required_headers` must come with every model request
    (`mock.gateway`).
    """
    middlewares = [require_headers(required_headers)] if required_headers else []
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=middlewares)
    app[CONTEXT] = MockContext(
        profiles=dict(profiles),
        slots={name: ModelSlots(p) for name, p in profiles.items()},
        records=RecordStore(record),
        repeats=RepeatCounter(vary_repeats),
        seed=seed,
        api_key=api_key,
    )
    app.router.add_get("/health", _health)
    app.router.add_get(f"{api_prefix}/models", _models)
    app.router.add_get("/props", _props)  # llama.cpp's server properties
    app.router.add_post(f"{api_prefix}/chat/completions", chat_completions)
    app.router.add_post(f"{api_prefix}/completions", completions)  # OpenAI legacy completions
    app.router.add_post(f"{api_prefix}/messages", messages)  # Anthropic Messages
    app.router.add_post(AZURE_ROUTE, azure_chat_completions)  # Azure OpenAI
    app.router.add_get("/mock/requests", _get_records)
    app.router.add_delete("/mock/requests", _clear_records)
    app.router.add_get("/mock/stats", _stats)
    app.router.add_get("/metrics", _metrics)
    app.router.add_post("/mock/freeze", _freeze)
    return app


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _models(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        check_auth(request, ctx.api_key)
    except RequestError as exc:
        return error_response(exc)
    data = [model_entry(profile) for profile in ctx.profiles.values()]
    return web.json_response({"object": "list", "data": data})


async def _props(request: web.Request) -> web.Response:
    """llama-server's properties, for a model whose profile publishes its context that way;
    404 otherwise (as from servers without the endpoint)."""
    ctx = request.app[CONTEXT]
    try:
        check_auth(request, ctx.api_key)
    except RequestError as exc:
        return error_response(exc)
    body = props_body(ctx.profiles.values())
    if body is None:
        return error_response(RequestError(404, "File Not Found", "not_found_error", None))
    return web.json_response(body)


def _records_or_404(request: web.Request) -> RecordStore:
    records = request.app[CONTEXT].records
    if not records.enabled:
        raise web.HTTPNotFound(
            text='{"error": "start the mock with --record to keep records"}',
            content_type="application/json",
        )
    return records


async def _get_records(request: web.Request) -> web.Response:
    """All records, or `?request_id=ID` only, or the `?last=N` most recent."""
    store = _records_or_404(request)
    last = request.query.get("last")
    if last is not None and not last.isdigit():
        raise web.HTTPBadRequest(
            text='{"error": "last must be a non-negative integer"}', content_type="application/json"
        )
    records = store.to_json(request.query.get("request_id"), None if last is None else int(last))
    return web.json_response(records)


async def _clear_records(request: web.Request) -> web.Response:
    _records_or_404(request).clear()
    return web.json_response({"cleared": True})


async def _stats(request: web.Request) -> web.Response:
    """Counters per model; a freeze stops every model, so each shows all of them."""
    ctx = request.app[CONTEXT]
    frozen = ctx.freeze.stats(time.perf_counter_ns())
    return web.json_response({name: {**s.stats(), **frozen} for name, s in ctx.slots.items()})


async def _metrics(request: web.Request) -> web.Response:
    """Prometheus text under vLLM's names (`mock.metrics`), for `--server-metrics`."""
    body = render_metrics(request.app[CONTEXT].slots).encode()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def freeze_seconds(body: Any) -> float:
    """The `seconds` of a freeze request, or a 400: exactly `{"seconds": S}`, 0 < S <= 60."""
    seconds = body.get("seconds") if isinstance(body, dict) and body.keys() == {"seconds"} else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):  # bool is an int
        raise RequestError(
            400,
            'Expected a JSON body {"seconds": S}',
            "invalid_request_error",
            "invalid_freeze",
        )
    # json.loads accepts NaN and Infinity: both fail this comparison, as does 10**400.
    if not 0 < seconds <= MAX_FREEZE_S:
        raise RequestError(
            400,
            f"seconds must be a finite number in (0, {MAX_FREEZE_S:g}], got {seconds}",
            "invalid_request_error",
            "invalid_freeze",
        )
    return float(seconds)


async def _freeze(request: web.Request) -> web.Response:
    """Freeze the whole server for `seconds` from now (or extend the current freeze)."""
    freeze = request.app[CONTEXT].freeze
    try:
        seconds = freeze_seconds(await read_json(request))
    except RequestError as exc:
        return error_response(exc)
    now_ns, now_unix = time.perf_counter_ns(), time.time()
    freeze.freeze(now_ns, seconds)
    # The whole stall however often it was extended: it began before now if it was.
    return web.json_response(
        {
            "frozen_from_ns": freeze.from_ns,
            "frozen_until_ns": freeze.until_ns,
            "frozen_from_unix": now_unix + (freeze.from_ns - now_ns) / 1e9,
            "frozen_until_unix": now_unix + (freeze.until_ns - now_ns) / 1e9,
        }
    )


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line on stderr, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = _Parser(
        prog="python -m loadprofile.mock",
        description="OpenAI-compatible mock target with seeded latency profiles.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    p.add_argument("--profiles", type=Path, metavar="FILE", help="TOML [models.NAME] tables")
    p.add_argument("--models", metavar="A,B", help="serve only these models")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--record", action="store_true", help="keep per-request records")
    p.add_argument(
        "--repeat-same",
        action="store_true",
        help="give every copy of an identical request the same plan, timing included "
        "(default: the k-th copy draws its own, reproducibly; at temperature 0 or with a "
        "seed only its timing and faults, its text stays)",
    )
    p.add_argument(
        "--api-key",
        metavar="KEY",
        help="require Authorization: Bearer KEY (x-api-key: KEY on /v1/messages, api-key: KEY "
        "on Azure's route)",
    )
    p.add_argument(
        "--keepalive-timeout",
        type=float,
        metavar="SECONDS",
        help="close connections idle this long, without announcing it (as many "
        "servers and proxies do; default: aiohttp's, about an hour)",
    )
    add_tls_arguments(p)
    add_gateway_arguments(p)
    p.add_argument("--quiet", action="store_true", help="log only warnings and errors")
    args = p.parse_args(argv)
    if not 0 <= args.port <= 65535:
        p.error(f"--port must be within 0..65535, got {args.port}")
    if args.keepalive_timeout is not None and not args.keepalive_timeout > 0:
        p.error(f"--keepalive-timeout must be positive, got {args.keepalive_timeout}")
    tls_problem = check_tls_arguments(args)
    if tls_problem:
        p.error(tls_problem)
    gateway_problem = check_gateway_arguments(args)
    if gateway_problem:
        p.error(gateway_problem)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the mock until SIGTERM/SIGINT; 0 on a clean stop, 2 on bad input, 1 if bind fails."""
    # Until the event loop takes over, a SIGTERM (a parent giving up on startup) still
    # means a clean exit 0, not a kill or a traceback.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    args = _parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s mock %(levelname)s %(message)s",
    )
    only = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    try:
        profiles = load_profiles(args.profiles, only)
    except ProfileError as exc:
        print(f"loadprofile mock: error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(args, profiles))
    except _BindError as exc:
        print(f"loadprofile mock: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass  # a second Ctrl-C during shutdown: still a requested stop
    return 0


#: How often the mock moves what is alive into the GC's permanent generation.
GC_FREEZE_EVERY_S = 1.0


async def _freeze_gc_young() -> None:
    """Keep the cyclic GC's passes short. Every stream in flight holds a few dozen young
    objects (its coroutine chain, timer, plan), so at 100 streams each gen-0 pass walked
    ~6,600 of them (2-3 ms, several times a second, finding nothing to free) and a gen-2
    pass all records (36 ms). During a pause no chunk is written and no request is read,
    and a request read late is a delay the record cannot show. Frozen objects are still
    freed by reference counting when done; only cycles among them would wait (the mock's
    serving makes next to none)."""
    while True:
        gc.freeze()
        await asyncio.sleep(GC_FREEZE_EVERY_S)


class _BindError(Exception):
    """The listening socket could not be opened (port in use, bad host)."""


def _exit_cleanly(signum: int, frame: object) -> NoReturn:
    raise SystemExit(0)


async def _serve(args: argparse.Namespace, profiles: dict[str, ModelProfile]) -> None:
    app = create_app(
        profiles,
        args.seed,
        args.record,
        args.api_key,
        vary_repeats=not args.repeat_same,
        api_prefix=args.api_prefix,
        required_headers=args.required_headers,
    )
    # Cancel a handler when its client disconnects, as real servers abort the generation.
    runner = web.AppRunner(
        app,
        handler_cancellation=True,
        access_log=None,
        shutdown_timeout=SHUTDOWN_GRACE_S,
        **({} if args.keepalive_timeout is None else {"keepalive_timeout": args.keepalive_timeout}),
    )
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        try:
            tls = server_context(args)
        except (OSError, ssl.SSLError) as exc:
            raise _BindError(f"cannot serve TLS with {args.tls_cert}: {exc}") from exc
        site = web.TCPSite(runner, args.host, args.port, ssl_context=tls)
        try:
            await site.start()
        except OSError as exc:
            where = f"{args.host}:{args.port}"
            raise _BindError(f"cannot listen on {where}: {exc.strerror or exc}") from exc
        host, port = runner.addresses[0][:2]
        url_host = f"[{host}]" if ":" in host else host
        scheme = "https" if tls else "http"
        print(f"{READY_PREFIX}{scheme}://{url_host}:{port} models={','.join(profiles)}", flush=True)
        for p in profiles.values():
            log.info("model %s: %s", p.name, p)
        freezer = asyncio.create_task(_freeze_gc_young())
        await stop.wait()
        freezer.cancel()
        log.info("stopping")
    finally:
        await runner.cleanup()
