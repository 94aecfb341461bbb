"""The `/v1/chat/completions` handler: admission, queueing and timed delivery of a plan.

Timing follows the plan against absolute targets on the monotonic clock
(`service_start + ttft + sum(itl[:i])`), so scheduling delays never accumulate, and every
write is recorded with `perf_counter_ns` for the benchmark to compare with the client.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from loadprofile.mock.chat_request import ChatRequest, RequestError, parse_chat_request
from loadprofile.mock.generation import Plan, plan_from_seed, repeat_seed, request_seed
from loadprofile.mock.profiles import ModelProfile
from loadprofile.mock.state import ModelSlots, Record, RecordStore, RepeatCounter
from loadprofile.mock.wire import DONE, ChunkEncoder, completion_body, error_body

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


CONTEXT = web.AppKey("loadprofile_mock_context", MockContext)


def error_response(exc: RequestError) -> web.Response:
    return web.json_response(error_body(exc.message, exc.type, exc.code), status=exc.status)


def check_auth(request: web.Request, api_key: str | None) -> None:
    """Raise a 401 unless the request carries `Authorization: Bearer <api_key>`."""
    if api_key is None:
        return
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {api_key}".encode()):
        raise RequestError(
            401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key"
        )


async def chat_completions(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    rec = Record(
        request_id=request.headers.get("X-Request-Id") or uuid.uuid4().hex,
        received_ns=time.perf_counter_ns(),
    )
    try:
        return await _serve(request, ctx, rec)
    except RequestError as exc:
        rec.status = exc.status
        return error_response(exc)
    except asyncio.CancelledError:
        rec.status = rec.status or CLIENT_CLOSED
        raise
    finally:
        if rec.end_ns is None:
            rec.end_ns = time.perf_counter_ns()
        ctx.records.add(rec)


async def _read_json(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(
            400, f"Invalid JSON body: {exc}", "invalid_request_error", "invalid_json"
        ) from exc


async def _serve(request: web.Request, ctx: MockContext, rec: Record) -> web.StreamResponse:
    check_auth(request, ctx.api_key)
    body = await _read_json(request)
    if isinstance(body, dict) and isinstance(body.get("model"), str):
        rec.model = body["model"]  # kept even when unknown, to explain a 404 in the records
    chat = parse_chat_request(body, ctx.profiles)
    rec.model, rec.messages, rec.stream = chat.model, chat.messages, chat.stream
    rec.max_tokens = chat.max_tokens
    profile, slots = ctx.profiles[chat.model], ctx.slots[chat.model]
    plan = _admit(profile, slots, _plan(ctx, profile, chat, rec), chat, rec)
    try:
        if chat.stream:
            return await _stream(request, profile, chat, plan, slots, rec)
        return await _unary(request, profile, chat, plan, slots, rec)
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
        slots.release(in_service=rec.service_start_ns is not None)


def _plan(ctx: MockContext, profile: ModelProfile, chat: ChatRequest, rec: Record) -> Plan:
    base = request_seed(ctx.seed, profile.name, chat.messages, chat.max_tokens)
    rec.repeat = ctx.repeats.next(base)
    return plan_from_seed(profile, repeat_seed(base, rec.repeat), chat.messages, chat.max_tokens)


def _admit(
    profile: ModelProfile, slots: ModelSlots, plan: Plan, chat: ChatRequest, rec: Record
) -> Plan:
    """The plan, once the request holds a place; raises for injected errors and a full queue.

    Decided at once on arrival, so a 429 goes out before any stream would have started.
    """
    slots.received += 1
    rec.prompt_tokens = plan.prompt_tokens
    if plan.injected is not None:
        rec.injected = plan.injected
        slots.injected[plan.injected] = slots.injected.get(plan.injected, 0) + 1
    if plan.injected in _INJECTED_HTTP:
        status, message, code = _INJECTED_HTTP[plan.injected]
        raise RequestError(status, message, "server_error", code)
    if not slots.admit():
        raise RequestError(
            429, f"Too many requests queued for {chat.model}", "rate_limit_exceeded", "queue_full"
        )
    return plan


async def _start_service(slots: ModelSlots, rec: Record) -> float:
    """Wait for a slot; returns the service start in perf_counter seconds."""
    await slots.acquire()
    rec.service_start_ns = time.perf_counter_ns()
    return rec.service_start_ns / 1e9


async def _sleep_until(target_s: float) -> None:
    delay = target_s - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)


async def _stream(
    request: web.Request,
    profile: ModelProfile,
    chat: ChatRequest,
    plan: Plan,
    slots: ModelSlots,
    rec: Record,
) -> web.StreamResponse:
    enc = ChunkEncoder("chatcmpl-" + uuid.uuid4().hex, chat.model, int(time.time()))
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
    await resp.prepare(request)
    # Real servers (vLLM) answer with the role chunk before the request is scheduled.
    await resp.write(enc.role())
    rec.role_ns = time.perf_counter_ns()
    start_s = await _start_service(slots, rec)
    if not await _send_content(resp, enc, plan, start_s, rec):
        if request.transport is not None:
            request.transport.abort()
        rec.status = 200
        return resp
    usage = enc.usage(plan.prompt_tokens, plan.completion_tokens) if chat.include_usage else b""
    # The closing events go out in one write with the chunked terminator: one syscall
    # instead of four per request, and clients must cope with several events per read.
    await resp.write_eof(enc.finish(plan.finish_reason) + usage + DONE)
    rec.end_ns = time.perf_counter_ns()
    rec.status = 200
    rec.finish_reason = plan.finish_reason
    slots.completed += 1
    return resp


async def _send_content(
    resp: web.StreamResponse,
    enc: ChunkEncoder,
    plan: Plan,
    start_s: float,
    rec: Record,
) -> bool:
    """Write the content chunks on time; False when the plan truncates the stream.

    Each chunk is encoded before sleeping until its due time, so that the encoding work
    of many streams is spread out instead of delaying the writes that are due.
    """
    cut = plan.inject_at if plan.injected == "truncate" else None
    bad = plan.inject_at if plan.injected == "malformed" else None
    token_ns = rec.token_ns
    for i, (offset_ms, text) in enumerate(zip(plan.offsets_ms(), plan.chunks, strict=True)):
        chunk = enc.content(text)
        await _sleep_until(start_s + offset_ms / 1000.0)
        await resp.write(chunk)
        token_ns.append(time.perf_counter_ns())
        if i == 0:
            rec.first_content_ns = token_ns[0]
        rec.output_tokens = sent = i + 1
        if sent == bad:
            await resp.write(enc.malformed())
        elif sent == cut:
            return False
    return True


async def _unary(
    request: web.Request,
    profile: ModelProfile,
    chat: ChatRequest,
    plan: Plan,
    slots: ModelSlots,
    rec: Record,
) -> web.StreamResponse:
    """A `chat.completion` sent whole when the last token would have been generated."""
    start_s = await _start_service(slots, rec)
    offsets = plan.offsets_ms()
    sent = plan.inject_at if plan.injected == "truncate" and plan.inject_at else len(offsets)
    await _sleep_until(start_s + offsets[sent - 1] / 1000.0)
    body = _completion_bytes(chat.model, plan)
    resp = web.StreamResponse(headers={"X-Request-Id": rec.request_id})
    resp.content_type = "application/json"
    resp.content_length = len(body)
    if profile.close_after_stream:
        resp.force_close()
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
    rec.end_ns = time.perf_counter_ns()
    rec.finish_reason = plan.finish_reason
    slots.completed += 1
    return resp


def _completion_bytes(model: str, plan: Plan) -> bytes:
    body = completion_body(
        "chatcmpl-" + uuid.uuid4().hex,
        model,
        int(time.time()),
        plan.text,
        plan.finish_reason,
        plan.prompt_tokens,
        plan.completion_tokens,
    )
    return json.dumps(body).encode()
