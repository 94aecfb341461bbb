"""Extra request-body fields (``--extra-body``, a target's ``extra_body``, a dataset turn's):
checked once, carried as canonical JSON text, merged into every request body (pure).

Text rather than a dict: configs and turns are frozen, hashable and sent to a distributed
run's workers as they are; the decoded form is cached, so a request pays one dict update.
Layers merge in order, later keys winning: the run's, the target's, the conversation's, the
turn's. The fields that make the request what it is (the model, the prompt, streaming) are
loadprofile's and cannot be overridden: a body that did would measure something else.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from loadprofile.errors import ConfigError

#: Keys loadprofile owns: the model, the prompt (chat, completions, Anthropic) and streaming.
RESERVED = frozenset({"model", "messages", "prompt", "system", "stream"})


def check_extra_body(value: object, what: str) -> str:
    """A JSON object (given as JSON text, or already decoded from TOML/JSON) as canonical
    JSON text; "" for none. Raises ConfigError with a one-line reason."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{what}: not valid JSON ({exc.msg}, column {exc.colno})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{what}: must be a JSON object, e.g. '{{\"ignore_eos\": true}}'")
    owned = sorted(RESERVED & set(value))
    if owned:
        raise ConfigError(f"{what}: cannot set {', '.join(owned)} (loadprofile sets them)")
    return json.dumps(value, sort_keys=True, ensure_ascii=False) if value else ""


def merge_layers(*layers: str) -> str:
    """Several layers as one (later keys win); "" when all are empty."""
    present = [layer for layer in layers if layer]
    if len(present) <= 1:
        return present[0] if present else ""
    merged: dict[str, Any] = {}
    for layer in present:
        merged.update(decoded(layer))
    return json.dumps(merged, sort_keys=True, ensure_ascii=False)


@lru_cache(maxsize=1024)
def decoded(layer: str) -> dict[str, Any]:
    """The fields of one layer (shared: callers must not change it)."""
    fields: dict[str, Any] = json.loads(layer)
    return fields


def apply_extra_body(body: dict[str, Any], *layers: str) -> dict[str, Any]:
    """``body`` with the layers' fields merged in, in order."""
    for layer in layers:
        if layer:
            body.update(decoded(layer))
    return body


def asks_greedy(*layers: str) -> bool:
    """Whether a request with these layers asks for greedy decoding (``temperature: 0``):
    the only setting whose replies a temperature-0 snapshot can be held against."""
    return apply_extra_body({}, *layers).get("temperature") == 0
