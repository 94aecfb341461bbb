"""Secrets kept off disk and screen: URLs and command lines as loadprofile records them (pure).

Webhook URLs carry their token in the path or query (Slack:
``https://hooks.slack.com/services/T000/B000/XXXX``), a proxy URL its password, a gateway
header its key, and a base URL may carry userinfo or a key in its query. run.json, gate.json,
webhook.json, the console and the report are shared, pasted into tickets and archived, so
they get these redacted; only the request itself goes to the real URL. Both functions are
idempotent (redacting a redacted value changes nothing), so a reader may redact again what an
older loadprofile wrote verbatim.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import SplitResult, urlsplit

#: Flags whose value is a URL that is a secret as a whole (its path or query is the token).
SECRET_URL_FLAGS = ("--on-fail-webhook", "--proxy")
#: Flags whose value is an HTTP header ``Name: value``: the name is kept, the value hidden.
HEADER_FLAGS = ("--header",)
#: Query parameters whose value is no secret and worth reading (Azure's API version).
PUBLIC_QUERY_PARAMS = frozenset({"api-version"})

MASK = "***"
UNREADABLE = "<redacted>"
#: What stands for a secret URL's path, query and fragment (ASCII: any terminal prints it).
HIDDEN_PATH = "/..."
_FINGERPRINT = re.compile(r"[0-9a-f]{8}")


def fingerprint(text: str) -> str:
    """First 8 hex digits of the text's sha256: tells two secrets apart, reveals neither."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _split(url: str) -> SplitResult | None:
    """The URL's parts, None unless it has a scheme and a host (and a valid port)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return None
    return parts if parts.scheme and parts.hostname else None


def _host_port(parts: SplitResult) -> str:
    """The netloc without userinfo, as written (an IPv6 host keeps its brackets)."""
    return parts.netloc.rpartition("@")[2]


def _is_redacted(parts: SplitResult) -> bool:
    return (
        parts.path == HIDDEN_PATH
        and not parts.query
        and "@" not in parts.netloc
        and _FINGERPRINT.fullmatch(parts.fragment) is not None
    )


def redact_url(url: str) -> str:
    """``https://hooks.slack.com/...#3f9a2c1b``: scheme, host and port kept; userinfo, path,
    query and fragment replaced by the whole URL's fingerprint. A bare origin stays as is;
    text that is no URL becomes ``<redacted>``."""
    parts = _split(url)
    if parts is None:
        return UNREADABLE
    if _is_redacted(parts):
        return url
    bare = "@" not in parts.netloc and parts.path in ("", "/")
    if bare and not parts.query and not parts.fragment:
        return url
    return f"{parts.scheme}://{_host_port(parts)}{HIDDEN_PATH}#{fingerprint(url)}"


def _mask_query(query: str) -> str:
    """Every parameter's value masked but the public ones'; a bare piece is masked whole."""
    pieces = []
    for piece in query.split("&"):
        name, equals, value = piece.partition("=")
        if not equals:
            pieces.append(MASK if piece else piece)
        elif value and name.lower() not in PUBLIC_QUERY_PARAMS:
            pieces.append(f"{name}={MASK}")
        else:
            pieces.append(piece)
    return "&".join(pieces)


def _mask_url_secrets(arg: str) -> str:
    """An argument that is a URL with userinfo, a query or a fragment: userinfo dropped,
    query values and fragment masked, the rest (a base URL's path) kept. Other text as is."""
    if "://" not in arg:
        return arg
    try:
        parts = urlsplit(arg)
    except ValueError:
        return UNREADABLE  # looks like a URL, cannot be read: may hide anything
    if not parts.netloc or not ("@" in parts.netloc or parts.query or parts.fragment):
        return arg
    return parts._replace(
        netloc=_host_port(parts),
        query=_mask_query(parts.query),
        fragment=MASK if parts.fragment else "",
    ).geturl()


def redact_header(header: str) -> str:
    """``X-Team: secret`` -> ``X-Team: ***``; text without a name, masked whole."""
    name, colon, _ = header.partition(":")
    return f"{name}: {MASK}" if colon and name.strip() else MASK


def _redact_value(flag: str, value: str) -> str:
    if flag in SECRET_URL_FLAGS:
        return redact_url(value)
    if flag in HEADER_FLAGS:
        return redact_header(value)
    return _mask_url_secrets(value)


def redact_argv(argv: list[str]) -> list[str]:
    """A command line fit for run.json and the report: the values of SECRET_URL_FLAGS and
    HEADER_FLAGS redacted (``--flag VALUE`` and ``--flag=VALUE``), any URL argument's
    userinfo and query values masked; every other argument unchanged."""
    redacted: list[str] = []
    flag = ""  # the flag whose value comes next
    for arg in argv:
        if flag:
            redacted.append(_redact_value(flag, arg))
            flag = ""
        elif arg in SECRET_URL_FLAGS or arg in HEADER_FLAGS:
            redacted.append(arg)
            flag = arg
        elif arg.startswith("--") and "=" in arg:
            name, _, value = arg.partition("=")
            redacted.append(f"{name}={_redact_value(name, value)}")
        else:
            redacted.append(_mask_url_secrets(arg))
    return redacted
