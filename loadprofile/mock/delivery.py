"""Timed delivery of an admitted request's plan: streamed chunk by chunk (`stream_reply`)
or sent whole when its last token would have been generated (`unary_reply`), with the usage
the profile reports. handlers.py admits the request and hands its plan over.

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
from typing import Any

from aiohttp import web

from loadprofile.mock.apis import CHAT, MockApi, StreamEncoder
from loadprofile.mock.chat_request import ChatRequest
from loadprofile.mock.generation import Plan
from loadprofile.mock.pacer import ContentPacer
from loadprofile.mock.profiles import ModelProfile
from loadprofile.mock.state import Freeze, ModelSlots, Record
from loadprofile.mock.wire import usage_dict


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


async def stream_reply(
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


async def unary_reply(
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
