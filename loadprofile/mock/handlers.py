"""The reply handlers (`/v1/chat/completions`, `/v1/completions`, `/v1/messages`, under
`--api-prefix`, and Azure's deployment route): admission and queueing of a request, then
timed delivery of its plan (delivery.py). The APIs share all of it; only their request
parser and encoder differ (`apis.MockApi`).
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
    check_auth,
    error_response,
)
from loadprofile.mock.azure import for_deployment, missing_api_version
from loadprofile.mock.chat_request import ChatRequest, RequestError
from loadprofile.mock.context import within_context
from loadprofile.mock.delivery import hold_while_frozen, stream_reply, unary_reply
from loadprofile.mock.generation import Plan, plan_from_seed, repeat_seed, request_seed
from loadprofile.mock.profiles import ModelProfile
from loadprofile.mock.state import (
    Freeze,
    ModelSlots,
    PrefixCache,
    Record,
    RecordStore,
    RepeatCounter,
)

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


async def azure_chat_completions(request: web.Request) -> web.StreamResponse:
    """Azure OpenAI: chat under a deployment (the model), with its api-version required."""
    refused = missing_api_version(request)
    if refused is not None:
        return refused
    return await _handle(request, for_deployment(request.match_info["deployment"]))


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
            return await stream_reply(request, ctx.freeze, profile, chat, plan, slots, rec, api)
        return await unary_reply(request, ctx.freeze, profile, chat, plan, slots, rec, api)
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


_MASK = (1 << 63) - 1  # a text key as repeat_seed's unsigned 64-bit stream number
_TEXT = 0x7E47_5EED_7E47_5EED  # the text's own stream: apart from every copy's timing


def _plan(
    ctx: MockContext, profile: ModelProfile, chat: ChatRequest, rec: Record, cached: int | None
) -> Plan:
    # Copies are counted per model; the plan is drawn as the model whose text this is.
    key = request_seed(ctx.seed, profile.name, chat.messages, chat.max_tokens)
    rec.repeat = ctx.repeats.next(key)
    base = request_seed(ctx.seed, profile.text_of or profile.name, chat.messages, chat.max_tokens)
    # temperature 0 or a seed: every copy reads the same (its timing still varies by copy)
    text_seed = (
        None
        if chat.text_key is None or not profile.greedy
        else repeat_seed(base ^ _TEXT, 1 + (chat.text_key & _MASK))
    )
    plan = plan_from_seed(
        profile, repeat_seed(base, rec.repeat), chat.messages, chat.max_tokens, cached, text_seed
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
