"""The mock behind a gateway: ``--require-header 'Name: value'`` (repeatable) answers 401 to
any request for the models that lacks one of the headers, as API gateways do with their own
keys and tags, so that ``--header`` and ``--header-env`` are tested end to end. The mock's
own endpoints (``/mock/*``), ``/metrics`` and ``/health`` stay open: tests and scrapers
use them, and a gateway would not stand in front of them.
"""

from __future__ import annotations

import argparse
import hmac
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from aiohttp.typedefs import Middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_OPEN = ("/mock/", "/metrics", "/health")


def add_gateway_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--require-header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="answer 401 to model requests without this header (repeatable), like a gateway",
    )
    parser.add_argument(
        "--api-prefix",
        default="/v1",
        metavar="PATH",
        help="serve the OpenAI and Anthropic routes under PATH (default /v1), e.g. "
        "/v1beta/openai as Gemini does",
    )


def check_gateway_arguments(args: argparse.Namespace) -> str | None:
    """What is wrong with --require-header or --api-prefix (one line), else None; the
    parsed headers go to ``args.required_headers``."""
    required = []
    for spec in args.require_header:
        name, colon, value = spec.partition(":")
        if not colon or not name.strip() or " " in name.strip():
            return f"--require-header {spec!r}: use 'Name: value'"
        required.append((name.strip(), value.strip()))
    args.required_headers = tuple(required)
    prefix = args.api_prefix
    if not prefix.startswith("/") or prefix.endswith("/") or "//" in prefix or "?" in prefix:
        return f"--api-prefix {prefix!r}: a path such as /v1 or /v1beta/openai"
    return None


def require_headers(required: Sequence[tuple[str, str]]) -> Middleware:
    """An aiohttp middleware: 401 unless every required header came with its value."""

    @web.middleware
    async def gateway(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(_OPEN):
            for name, value in required:
                given = request.headers.get(name, "")
                if not hmac.compare_digest(given.encode(), value.encode()):
                    return web.json_response(
                        {
                            "error": {
                                "message": f"missing or wrong header {name} (gateway)",
                                "type": "invalid_request_error",
                                "code": "gateway_header",
                            }
                        },
                        status=401,
                    )
        return await handler(request)

    return gateway
