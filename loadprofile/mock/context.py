"""A mock model's context size: where it is published and how a request over it is answered,
in the two ways real servers do it (pure, no HTTP).

- ``llama.cpp``: ``GET /props`` answers ``default_generation_settings.n_ctx``; a prompt of
  n_ctx tokens or more is rejected with HTTP 400 "request (N tokens) exceeds the available
  context size (M tokens), try increasing it"; a reply is cut (finish reason "length") where
  the context is full, whatever max_tokens asked for.
- ``vllm``: ``GET /v1/models`` lists ``max_model_len`` with the model; a request whose prompt
  plus max_tokens exceeds it is rejected with HTTP 400 (a missing max_tokens means "all the
  room the prompt leaves").

Prompt tokens are counted by the mock's own tokenizer (``tokens.prompt_tokens``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from loadprofile.mock.chat_request import ChatRequest, RequestError
from loadprofile.mock.profiles import ModelProfile
from loadprofile.mock.tokens import prompt_tokens

LLAMA_CPP, VLLM = "llama.cpp", "vllm"


def within_context(profile: ModelProfile, chat: ChatRequest) -> ChatRequest:
    """The request as the model serves it (max_tokens capped to the room left), or a 400."""
    room = profile.context_tokens
    if not room:
        return chat
    prompt = prompt_tokens(chat.messages)
    if profile.context_style == LLAMA_CPP:
        if prompt >= room:
            raise RequestError(
                400,
                f"request ({prompt} tokens) exceeds the available context "
                f"size ({room} tokens), try increasing it",
                "exceed_context_size_error",
                None,
            )
        return replace(chat, max_tokens=min(chat.max_tokens or room, room - prompt))
    wanted = chat.max_tokens or 0
    if prompt >= room or prompt + wanted > room:
        raise RequestError(
            400,
            f"This model's maximum context length is {room} tokens. "
            f"However, you requested {prompt + wanted} tokens ({prompt} in the "
            f"messages, {wanted} in the completion). Please reduce the length "
            "of the messages or completion.",
            "BadRequestError",
            None,
        )
    return chat if chat.max_tokens is not None else replace(chat, max_tokens=room - prompt)


def model_entry(profile: ModelProfile) -> dict[str, Any]:
    """The model's item in ``GET /v1/models``: with ``max_model_len`` as vLLM lists it."""
    entry: dict[str, Any] = {
        "id": profile.name,
        "object": "model",
        "created": 0,
        "owned_by": "loadprofile-mock",
    }
    if profile.context_tokens and profile.context_style == VLLM:
        entry["max_model_len"] = profile.context_tokens
    return entry


def props_body(profiles: Iterable[ModelProfile]) -> dict[str, Any] | None:
    """llama-server's ``GET /props`` answer (the parts clients read) for the first model
    with a llama.cpp-style context (llama-server serves one model); None: no such model."""
    for p in profiles:
        if p.context_tokens and p.context_style == LLAMA_CPP:
            return {
                "default_generation_settings": {
                    "n_ctx": p.context_tokens,
                    "params": {"n_predict": -1},
                },
                "total_slots": p.max_concurrency or 1,
                "model_alias": p.name,
                "model_path": f"models/{p.name}.gguf",
                "build_info": "loadprofile-mock",
            }
    return None
