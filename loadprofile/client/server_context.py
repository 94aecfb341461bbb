"""The context size a server publishes, read from its answers (pure).

Two servers publish it where a client can ask before any load:

- vLLM lists ``max_model_len`` with each model in ``GET /v1/models`` (the most a request's
  prompt plus max_tokens may hold: vLLM rejects more with HTTP 400);
- llama.cpp's ``llama-server`` answers ``GET /props`` with
  ``default_generation_settings.n_ctx``, the context of one slot (the ``--ctx-size`` it was
  started with divided among its ``--parallel`` slots), which is what one request gets: a
  longer prompt is rejected with HTTP 400 "exceeds the available context size", a reply
  that would not fit is cut short. A top-level ``n_ctx`` is read when the settings lack one.

Anything else (no such field, not JSON, a wrong type) means "not published": the caller
skips the check, as for servers that publish nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["LLAMA_CPP_PROPS", "VLLM_MODELS", "ServerContext", "from_models", "from_props"]

VLLM_MODELS = "vLLM /v1/models max_model_len"
LLAMA_CPP_PROPS = "llama.cpp /props n_ctx"


@dataclass(frozen=True)
class ServerContext:
    """The tokens one request may hold, and where the server said so (for the console)."""

    tokens: int
    source: str


def from_models(body: bytes, model: str) -> ServerContext | None:
    """``max_model_len`` of ``model`` in a ``/v1/models`` answer, if listed."""
    data = _object(body).get("data")
    if not isinstance(data, list):
        return None
    for entry in data:
        if isinstance(entry, dict) and entry.get("id") == model:
            tokens = _tokens(entry.get("max_model_len"))
            return ServerContext(tokens, VLLM_MODELS) if tokens is not None else None
    return None


def from_props(body: bytes) -> ServerContext | None:
    """A ``/props`` answer's per-slot ``n_ctx``, if it has one."""
    props = _object(body)
    settings = props.get("default_generation_settings")
    tokens = _tokens(settings.get("n_ctx")) if isinstance(settings, dict) else None
    if tokens is None:
        tokens = _tokens(props.get("n_ctx"))
    return ServerContext(tokens, LLAMA_CPP_PROPS) if tokens is not None else None


def _object(body: bytes) -> dict[str, object]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _tokens(value: object) -> int | None:
    """A positive whole number of tokens (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value
