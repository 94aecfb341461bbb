"""The reply handlers (`/v1/chat/completions`, `/v1/completions`, `/v1/messages`):
admission, queueing and timed delivery of a plan. The three APIs share all of it; only
their request parser and encoder differ (`apis.MockApi`).

Timing follows the plan against absolute targets on the service clock
(`service_start + ttft + sum(itl[:i])`), so scheduling delays never accumulate, and every
write is recorded with `perf_counter_ns` for the benchmark to compare with the client.
The service clock is the monotonic clock stopped during a freeze (`state.Freeze`): nothing
is written while the server is frozen, and what remains of each schedule shifts by the
time frozen.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web

from loadprofile.mock.apis import (
    ANTHROPIC,
    CHAT,
    COMPLETIONS,
    MockApi,
    StreamEncoder,
    check_auth,
    error_response,
)
from loadprofile.mock.chat_request import ChatRequest, RequestError
from loadprofile.mock.context import within_context
from loadprofile.mock.generation import Plan, plan_from_seed, repeat_seed, request_seed
from loadprofile.mock.pacer import ContentPacer
from loadprofile.mock.profiles import ModelProfile
from loadprofile.mock.state import (
    Freeze,
    ModelSlots,
    PrefixCache,
    Record,
    RecordStore,
    RepeatCounter,
)
from loadprofile.mock.wire import usage_dict

#: nginx's code for "client closed the request": the record's status for a disconnect.
CLIENT_CLOSED = 499

_INJECTED_HTTP = {
    "error_429": (429, "Injected rate limit (mock)", "rate_limit_exceeded"),
    "error_500": (500, "Injected server error (mock)", "internal_error"),
}


@dataclass
class MockContext:
    """Everything the handlers share; one per application."""

    profiles: dict[str, ModelProfile]
    slots: dict[str, ModelSlots]
    records: RecordStore
    repeats: RepeatCounter
    seed: int
    api_key: str | None
    freeze: Freeze = field(default_factory=Freeze)
    prefix_caches: dict[str, PrefixCache] = field(default_factory=dict)  # by model

    def prefix_cache(self, profile: ModelProfile) -> PrefixCache | None:
        if not profile.prefix_cache:
            return None
        return self.prefix_caches.setdefault(profile.name, PrefixCache())


CONTEXT = web.AppKey("loadprofile_mock_context", MockContext)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    return await _handle(request, CHAT)


async def completions(request: web.Request) -> web.StreamResponse:
    return await _handle(request, COMPLETIONS)


async def messages(request: web.Request) -> web.StreamResponse:
    return await _handle(request, ANTHROPIC)


async def _handle(request: web.Request, api: MockApi) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    rec = Record(
        request_id=request.headers.get("X-Request-Id") or uuid.uuid4().hex,
        received_ns=time.perf_counter_ns(),
    )
    try:
        return await _serve(request, ctx, rec, api)
    except RequestError as exc:
        rec.status = exc.status
        await hold_while_frozen(ctx.freeze)
        return error_response(exc, api)
    except asyncio.CancelledError:
        rec.status = rec.status or CLIENT_CLOSED
        raise
    finally:
        if rec.end_ns is None:
            rec.end_ns = time.perf_counter_ns()
        ctx.records.add(rec)


async def read_json(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(
            400, f"Invalid JSON body: {exc}", "invalid_request_error", "invalid_json"
        ) from exc


#: Body fields the record keeps elsewhere (or that only shape the reply's framing).
_NOT_OPTIONS = frozenset(
    {
        "model",
        "messages",
        "prompt",
        "system",
        "stream",
        "stream_options",
        "max_tokens",
        "max_completion_tokens",
    }
)


async def _serve(
    request: web.Request, ctx: MockContext, rec: Record, api: MockApi
) -> web.StreamResponse:
    check_auth(request, ctx.api_key, api)
    body = await read_json(request)
    if isinstance(body, dict) and isinstance(body.get("model"), str):
        rec.model = body["model"]  # kept even when unknown, to explain a 404 in the records
    if isinstance(body, dict) and ctx.records.enabled:
        rec.options = {k: v for k, v in body.items() if k not in _NOT_OPTIONS}
    chat = api.parse(body, ctx.profiles)
    rec.model, rec.messages, rec.stream = chat.model, chat.messages, chat.stream
    rec.max_tokens = chat.max_tokens
    profile, slots = ctx.profiles[chat.model], ctx.slots[chat.model]
    chat = within_context(profile, chat)  # a 400 when over the context, as real servers do
    cache = ctx.prefix_cache(profile)
    cached, prefixes = cache.lookup(chat.messages) if cache is not None else (None, [])
    plan = _admit(profile, slots, _plan(ctx, profile, chat, rec, cached), chat, rec)
    if cache is not None:
        cache.remember(prefixes)  # admitted: its prefill will happen
    try:
        if chat.stream:
            return await _stream(request, ctx.freeze, profile, chat, plan, slots, rec, api)
        return await _unary(request, ctx.freeze, profile, chat, plan, slots, rec, api)
    except ConnectionError:
        rec.status = CLIENT_CLOSED
        slots.disconnected += 1
        return web.Response(status=CLIENT_CLOSED)
    except asyncio.CancelledError:
        # aiohttp cancels the handler when the client goes away (handler_cancellation).
        rec.status = CLIENT_CLOSED
        slots.disconnected += 1
        raise
    finally:
        slots.end_service(rec)
        slots.release(in_service=rec.service_start_ns is not None)


def _plan(
    ctx: MockContext, profile: ModelProfile, chat: ChatRequest, rec: Record, cached: int | None
) -> Plan:
    # Copies are counted per model; the plan is drawn as the model whose text this is.
    key = request_seed(ctx.seed, profile.name, chat.messages, chat.max_tokens)
    rec.repeat = ctx.repeats.next(key)
    base = request_seed(ctx.seed, profile.text_of or profile.name, chat.messages, chat.max_tokens)
    plan = plan_from_seed(
        profile, repeat_seed(base, rec.repeat), chat.messages, chat.max_tokens, cached
    )
    # slow_every counts arrivals (this one is received + 1), not plans: exactly 1/N are slow.
    if profile.slow_every and (ctx.slots[chat.model].received + 1) % profile.slow_every == 0:
        plan = replace(plan, ttft_ms=plan.ttft_ms + profile.slow_ms)
    return plan


def _admit(
    profile: ModelProfile, slots: ModelSlots, plan: Plan, chat: ChatRequest, rec: Record
) -> Plan:
    """The plan, once the request holds a place; raises for injected errors and a full queue.

    Decided at once on arrival, so a 429 goes out before any stream would have started.
    """
    slots.received += 1
    rec.prompt_tokens, rec.cached_tokens = plan.prompt_tokens, plan.cached_tokens
    injected = plan.injected
    if injected == "contract_break" and not chat.stream:
        injected = None  # a whole body has one id: nothing to break, nothing injected
    for kind in (injected, "invalid_json" if plan.invalid_json else None):
        if kind is not None:
            slots.injected[kind] = slots.injected.get(kind, 0) + 1
    rec.injected, rec.invalid_json = injected, plan.invalid_json
    rec.invented, rec.rewritten = plan.invented, plan.rewritten
    if plan.injected in _INJECTED_HTTP:
        status, message, code = _INJECTED_HTTP[plan.injected]
        raise RequestError(status, message, "server_error", code)
    if not slots.admit():
        raise RequestError(
            429, f"Too many requests queued for {chat.model}", "rate_limit_exceeded", "queue_full"
        )
    return plan


async def _start_service(freeze: Freeze, slots: ModelSlots, rec: Record) -> int:
    """Wait for a slot, then past any freeze; returns the service start on the service clock."""
    await slots.acquire()
    slots.start_service(rec)
    # Stamped at once, as the mark that the slot is held (see `release`), then again
    # once no freeze holds the start back: the record tells when service really began.
    rec.service_start_ns = time.perf_counter_ns()
    await hold_while_frozen(freeze)
    rec.service_start_ns = now_ns = time.perf_counter_ns()
    return freeze.service_ns(now_ns)


async def hold_while_frozen(freeze: Freeze) -> None:
    """Return once the server is not frozen; a freeze extended meanwhile is waited out too.

    Call it right before every write. When not frozen it returns without yielding to the
    event loop, so no freeze can start between this check and the caller's write.
    """
    while (left_ns := freeze.until_ns - time.perf_counter_ns()) > 0:
        await asyncio.sleep(left_ns / 1e9)


async def _sleep_until(freeze: Freeze, due_ns: int) -> None:
    """Sleep until the service clock reaches `due_ns` and no freeze holds the write back.

    A freeze during the sleep stops the service clock, so the wake-up comes that much
    later: the gap it interrupted keeps its length after the freeze instead of shrinking.
    """
    while True:
        await hold_while_frozen(freeze)
        delay_ns = due_ns - freeze.service_ns(time.perf_counter_ns())
        if delay_ns <= 0:
            return
        await asyncio.sleep(delay_ns / 1e9)


async def _stream(
    request: web.Request,
    freeze: Freeze,
    profile: ModelProfile,
    chat: ChatRequest,
    plan: Plan,
    slots: ModelSlots,
    rec: Record,
    api: MockApi = CHAT,
) -> web.StreamResponse:
    enc = api.encoder(chat.model, int(time.time()))
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Request-Id": rec.request_id,
        }
    )
    resp.enable_chunked_encoding()
    if profile.close_after_stream:
        resp.force_close()
    # `prepare` sends the headers and does not yield: one hold covers them and the role
    # chunk, which real servers (vLLM) send before the request is scheduled.
    await hold_while_frozen(freeze)
    await resp.prepare(request)
    opening = enc.opening(
        reported_usage(plan, profile) if chat.include_usage and not profile.omit_usage else None
    )
    if opening:  # legacy completions have none: their first event carries text
        await resp.write(opening)
    rec.role_ns = time.perf_counter_ns()
    start_ns = await _start_service(freeze, slots, rec)
    if not await _send_content(
        request.transport, freeze, enc, plan, start_ns, rec, profile.reasoning_tokens
    ):
        if request.transport is not None:
            request.transport.abort()
        rec.status = 200
        return resp
    # The closing events go out in one write with the chunked terminator: one syscall
    # instead of four per request, and clients must cope with several events per read.
    await hold_while_frozen(freeze)
    await resp.write_eof(closing_events(enc, plan, profile, chat.include_usage))
    drop_if_asked(request, profile)
    rec.end_ns = time.perf_counter_ns()
    rec.status = 200
    rec.finish_reason = plan.finish_reason
    slots.completed += 1
    return resp


def drop_if_asked(request: web.Request, profile: ModelProfile) -> None:
    """``drop_after_stream``: close the connection once the reply is out, although its
    headers announced keep-alive, as llama.cpp's server does (the client finds out on its
    next request)."""
    if profile.drop_after_stream and request.transport is not None:
        request.transport.close()  # flushes what was written, then closes


def closing_events(
    enc: StreamEncoder, plan: Plan, profile: ModelProfile, include_usage: bool
) -> bytes:
    """The events after the last content chunk: finish reason, usage if asked (and not
    left out by the profile), then `[DONE]` (or its API's end) unless the profile leaves
    it out."""
    usage = reported_usage(plan, profile) if include_usage and not profile.omit_usage else None
    return enc.closing(plan.finish_reason, usage, done=not profile.omit_done)


async def _send_content(
    transport: asyncio.BaseTransport | None,
    freeze: Freeze,
    enc: StreamEncoder,
    plan: Plan,
    start_ns: int,
    rec: Record,
    reasoning: int = 0,
) -> bool:
    """Write the content chunks on time (the first `reasoning` of them as reasoning); False
    when the plan truncates the stream. Encoded up front, written by loop callbacks
    (``pacer.ContentPacer``)."""
    cut = plan.inject_at if plan.injected == "truncate" else None
    bad = plan.inject_at if plan.injected == "malformed" else None
    odd = plan.inject_at if plan.injected == "contract_break" else None
    chunks = [
        enc.odd(text) if i == odd else enc.reasoning(text) if i < reasoning else enc.content(text)
        for i, text in enumerate(plan.chunks)
    ]
    due_ns = [start_ns + round(offset_ms * 1e6) for offset_ms in plan.offsets_ms()]
    pacer = ContentPacer(
        transport,
        freeze,
        chunks,
        due_ns,
        rec,
        cut_after=cut,
        extra={bad: enc.malformed()} if bad is not None else None,
    )
    pacer.start()
    try:
        return await pacer.done
    finally:
        pacer.cancel()


async def _unary(
    request: web.Request,
    freeze: Freeze,
    profile: ModelProfile,
    chat: ChatRequest,
    plan: Plan,
    slots: ModelSlots,
    rec: Record,
    api: MockApi = CHAT,
) -> web.StreamResponse:
    """A reply sent whole when the last token would have been generated."""
    start_ns = await _start_service(freeze, slots, rec)
    offsets = plan.offsets_ms()
    sent = plan.inject_at if plan.injected == "truncate" and plan.inject_at else len(offsets)
    await _sleep_until(freeze, start_ns + round(offsets[sent - 1] * 1e6))
    body = _completion_bytes(api.encoder(chat.model, int(time.time())), plan, profile)
    resp = web.StreamResponse(headers={"X-Request-Id": rec.request_id})
    resp.content_type = "application/json"
    resp.content_length = len(body)
    if profile.close_after_stream:
        resp.force_close()
    await hold_while_frozen(freeze)
    await resp.prepare(request)
    rec.output_tokens, rec.status = sent, 200
    if plan.injected in ("truncate", "malformed"):
        # Half the announced body: cut off (truncate) or padded into invalid JSON.
        half = body[: len(body) // 2]
        if plan.injected == "truncate":
            await resp.write(half)
            if request.transport is not None:
                request.transport.abort()
            return resp
        body = half + b" " * (len(body) - len(half))
    await resp.write(body)
    await resp.write_eof()
    drop_if_asked(request, profile)
    rec.end_ns = time.perf_counter_ns()
    rec.finish_reason = plan.finish_reason
    slots.completed += 1
    return resp


def reported_tokens(plan: Plan, profile: ModelProfile) -> tuple[int, int]:
    """(prompt, completion) tokens as usage reports them (``token_inflation`` scales both)."""
    scale = profile.token_inflation
    return round(plan.prompt_tokens * scale), round(plan.completion_tokens * scale)


def reported_cached(plan: Plan, profile: ModelProfile) -> int | None:
    """Cached prompt tokens as usage reports them (None: the model has no prefix cache)."""
    if plan.cached_tokens is None:
        return None
    return round(plan.cached_tokens * profile.token_inflation)


def reported_usage(plan: Plan, profile: ModelProfile) -> dict[str, Any]:
    """The usage object (OpenAI's shape; each encoder turns it into its API's)."""
    return usage_dict(*reported_tokens(plan, profile), reported_cached(plan, profile))


def _completion_bytes(enc: StreamEncoder, plan: Plan, profile: ModelProfile) -> bytes:
    usage = None if profile.omit_usage else reported_usage(plan, profile)
    n = profile.reasoning_tokens
    body = enc.body("".join(plan.chunks[n:]), "".join(plan.chunks[:n]), plan.finish_reason, usage)
    return json.dumps(body).encode()
