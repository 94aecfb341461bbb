"""Validation of request bodies, pure and testable without HTTP: OpenAI chat completions,
OpenAI legacy completions and Anthropic Messages, each turned into one ``ChatRequest``.

Like a real server the mock rejects malformed bodies with a 400 and an unknown model with
a 404, so a load tester's error classification can be checked against it. A legacy prompt
becomes one user message and Anthropic's ``system`` a leading system message, so plans,
prompt token counts and the prefix cache work alike for every API.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from typing import Any


class RequestError(Exception):
    """A request the mock answers with an OpenAI error envelope instead of a completion."""

    def __init__(self, status: int, message: str, type_: str, code: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    stream: bool
    include_usage: bool
    max_tokens: int | None
    #: ``temperature: 0`` or a ``seed``: the same request gets the same text, as greedy
    #: decoding (or a seeded sampler) gives on a real server; None: sampled anew each time.
    text_key: int | None = None


def _bad(message: str, param: str | None = None) -> RequestError:
    return RequestError(400, message, "invalid_request_error", param and f"invalid_{param}")


def parse_chat_request(body: Any, models: Container[str]) -> ChatRequest:
    """The validated request, or a `RequestError` (400 bad body, 404 unknown model).

    `temperature: 0` and `seed` make the text deterministic (``text_key``); the other
    sampling fields are accepted and ignored.
    """
    return ChatRequest(
        model=_model(body, models),
        messages=_messages(body.get("messages")),
        stream=_stream(body.get("stream", False)),
        include_usage=_include_usage(body.get("stream_options")),
        max_tokens=_max_tokens(body),
        text_key=text_key(body),
    )


def parse_completions_request(body: Any, models: Container[str]) -> ChatRequest:
    """A legacy completions request (`prompt`: one string), as a chat of one user message."""
    model = _model(body, models)
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise _bad("'prompt' must be a non-empty string", "prompt")
    return ChatRequest(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        stream=_stream(body.get("stream", False)),
        include_usage=_include_usage(body.get("stream_options")),
        max_tokens=_max_tokens(body),
        text_key=text_key(body),
    )


def parse_messages_request(body: Any, models: Container[str]) -> ChatRequest:
    """An Anthropic Messages request: `max_tokens` required, `system` a string or text
    blocks, roles user and assistant only; its streams always carry usage."""
    model = _model(body, models)
    messages = _messages(body.get("messages"))
    for i, m in enumerate(messages):
        if m["role"] not in ("user", "assistant"):
            raise _bad(f"messages[{i}].role must be 'user' or 'assistant'", "messages")
    if body.get("max_tokens") is None:
        raise _bad("'max_tokens' is required", "max_tokens")
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        raise _bad("'system' must be a string or a list of text blocks", "system")
    lead = [{"role": "system", "content": system}] if system else []
    stream = _stream(body.get("stream", False))
    return ChatRequest(
        model=model,
        messages=lead + messages,
        stream=stream,
        include_usage=stream,
        max_tokens=_max_tokens(body),
        text_key=text_key(body),
    )


def text_key(body: dict[str, Any]) -> int | None:
    """What fixes the reply's text: 0 for greedy decoding (``temperature: 0``: the same
    text for the same request, whatever the seed), an odd number per ``seed`` when the request
    samples with one (the same text per seed), None when it samples freely (every copy may
    differ). Malformed values count as absent."""
    temperature = body.get("temperature")
    greedy = isinstance(temperature, int | float) and not isinstance(temperature, bool)
    if greedy and temperature == 0:
        return 0
    seed = body.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool):
        return (seed << 1) | 1
    return None


def _model(body: Any, models: Container[str]) -> str:
    if not isinstance(body, dict):
        raise _bad("request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("'model' must be a non-empty string", "model")
    if model not in models:
        raise RequestError(
            404, f"The model '{model}' does not exist", "invalid_request_error", "model_not_found"
        )
    return model


def _messages(messages: Any) -> list[dict[str, Any]]:
    if not isinstance(messages, list) or not messages:
        raise _bad("'messages' must be a non-empty list", "messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise _bad(f"messages[{i}] must be an object with a string 'role'", "messages")
        content = m.get("content")
        if content is not None and not isinstance(content, str | list):
            raise _bad(f"messages[{i}].content must be a string or a list", "messages")
    return messages


def _stream(stream: Any) -> bool:
    if stream is None:
        return False
    if not isinstance(stream, bool):
        raise _bad("'stream' must be a boolean", "stream")
    return stream


def _include_usage(options: Any) -> bool:
    if options is None:
        return False
    if not isinstance(options, dict):
        raise _bad("'stream_options' must be an object", "stream_options")
    return bool(options.get("include_usage", False))


def _max_tokens(body: dict[str, Any]) -> int | None:
    """`max_completion_tokens` (the newer name) wins over `max_tokens` when both are set."""
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _bad(f"'{key}' must be a positive integer", key)
        return value
    return None
