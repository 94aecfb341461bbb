"""The content contract: a reply's text against the user's JSON Schema (pure).

For prompts that ask for JSON (``--content-schema FILE``): the reply, or the JSON inside its
first fenced code block (```json ... ```), must parse and validate. Models wrap JSON in
prose and fences in their own ways; ``--content-extract`` says where to look:

    auto    the first fenced block if there is one, else the whole reply (default)
    fenced  only a fenced block counts (a bare JSON reply breaks the contract)
    raw     the whole reply, fences and all (a parser that takes the reply as it is)

jsonschema (the reference implementation of JSON Schema for Python) does the validating, for
whichever draft the schema's ``$schema`` names (2020-12 when it names none).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from loadprofile.errors import ConfigError

EXTRACT_MODES = ("auto", "fenced", "raw")
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n(.*?)```", re.S)


def load_schema(path: Path) -> dict[str, Any]:
    """The schema file, checked against its metaschema; ConfigError (one line) if not."""
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--content-schema {path}: cannot read it: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"--content-schema {path}: not JSON: {exc}") from None
    if not isinstance(schema, dict | bool):
        raise ConfigError(f"--content-schema {path}: a JSON Schema is an object")
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        raise ConfigError(
            f"--content-schema {path}: not a valid JSON Schema: {exc.message}"
        ) from None
    return schema if isinstance(schema, dict) else {}


def extract(text: str, mode: str) -> str | None:
    """The JSON text to check; None when ``fenced`` finds no fenced block."""
    if mode == "raw":
        return text
    match = _FENCE.search(text)
    if match is not None:
        return match.group(2)
    return None if mode == "fenced" else text


class ContentCheck:
    """Validates reply texts against one schema (the validator is built once per run)."""

    def __init__(self, schema: dict[str, Any], mode: str = "auto") -> None:
        from jsonschema.validators import validator_for

        self.mode = mode
        self._validator = validator_for(schema)(schema)

    def violation(self, text: str) -> str | None:
        """Why the reply breaks the content contract (one line), or None if it keeps it."""
        body = extract(text, self.mode)
        if body is None:
            return "content: no fenced code block (--content-extract fenced)"
        try:
            value = json.loads(body)
        except ValueError as exc:
            return f"content is not JSON: {exc}"
        from jsonschema.exceptions import best_match

        error = best_match(self._validator.iter_errors(value))
        if error is None:
            return None
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        return f"content breaks the schema at {where}: {error.message}"[:300]
