"""The rollback call of a failed gate: one POST to a URL the user named, answer recorded.

Never called unless ``--on-fail-webhook`` names the URL, and only when the gate failed. One
attempt (a rollback must not be sent twice by us; the receiver's answer, or the reason there
was none, goes to ``webhook.json`` in the run folder for the on-call engineer). The URL
is recorded and shown redacted (config/redaction.py): its path or query is often the token.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from loadprofile.config.redaction import redact_url
from loadprofile.errors import ConfigError

TIMEOUT_S = 10.0
_ANSWER_LIMIT = 4096
WEBHOOK_FILE = "webhook.json"


def check_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError as exc:
        raise ConfigError(f"--on-fail-webhook {redact_url(url)}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--on-fail-webhook {redact_url(url)}: give an http(s) URL")
    if parts.username or parts.password:
        raise ConfigError("--on-fail-webhook: no credentials in the URL")
    if any(c.isspace() or not c.isprintable() for c in url):  # urllib would refuse to send it
        raise ConfigError(f"--on-fail-webhook {redact_url(url)}: percent-encode its spaces (%20)")
    return url


def parse_body(text: str | None) -> Any:
    """--webhook-body: the JSON sent as is (None: loadprofile's default body)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--webhook-body is not valid JSON: {exc}") from None


def default_body(gate: dict[str, Any]) -> dict[str, Any]:
    """What a router or a chat hook needs to act: which run, which canary, what failed."""
    canary = gate.get("canary") or {}
    return {
        "event": "loadprofile.gate_failed",
        "action": "rollback",
        "canary_pct": 0,
        "run_id": gate.get("run_id"),
        "canary": canary.get("candidate"),
        "baseline": canary.get("baseline"),
        "failed": [
            f"{v['model']}: {v['bound']}" for v in gate.get("verdicts", []) if not v.get("passed")
        ],
    }


def post(url: str, body: Any) -> dict[str, Any]:
    """POST ``body`` as JSON once to ``url``; the record of what happened, with the URL
    redacted (never raises)."""
    payload = json.dumps(body).encode("utf-8")
    record: dict[str, Any] = {
        "url": redact_url(url),
        "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "request_body": body,
        "status": None,
        "answer": None,
        "error": None,
    }
    request = urllib.request.Request(
        url,
        data=payload,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "loadprofile-gate"},
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            record["status"] = response.status
            record["answer"] = response.read(_ANSWER_LIMIT).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        record["status"] = exc.code
        record["answer"] = exc.read(_ANSWER_LIMIT).decode("utf-8", "replace")
        record["error"] = f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        record["error"] = f"{type(exc).__name__}: {reason}"
    record["elapsed_ms"] = round((time.perf_counter() - start) * 1000, 1)
    record["ok"] = record["error"] is None and 200 <= (record["status"] or 0) < 300
    return record
