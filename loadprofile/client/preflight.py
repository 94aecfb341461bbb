"""Before any load: can each target be reached, does it accept our key, does it know the model?
Will the dataset's prompts fit the context the server publishes?

Fails fast with the exit codes of docs/architecture.md instead of starting users that would only
collect a wall of identical errors. A context too small for some prompts is only a warning
(naming the flag that skips them): the rest of the run still measures something.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence

from loadprofile.client.apis.flavours import flavour
from loadprofile.client.apis.openai_chat import MODELS_PATH
from loadprofile.client.http.client import HttpClient, TransportError
from loadprofile.client.server_context import ServerContext, from_models, from_props
from loadprofile.client.streaming import auth_headers, send_chat
from loadprofile.config.run_config import Target
from loadprofile.config.targets import DEFAULT_API
from loadprofile.core.results import ErrorClass, RequestResult
from loadprofile.dataset.prompt_fit import context_fit, context_warning
from loadprofile.dataset.turns import Conversation
from loadprofile.errors import UnreachableError, UsageError

_PREFLIGHT_TIMEOUT_S = 60.0
_CONNECT_TIMEOUT_S = 10.0
#: Asking for the context is a courtesy check: a server slow to say gives no answer.
_CONTEXT_TIMEOUT_S = 5.0
PROPS_PATH = "/props"  # llama.cpp's server properties


def list_models(host: str, api_key_env: str | None, api: str = DEFAULT_API) -> list[str]:
    """Model ids served at ``host`` (GET /v1/models, which Anthropic serves in the same
    shape), with the key in flavour ``api``'s header."""
    probe = Target(name="?", model="?", host=host, api_key_env=api_key_env, api=api)
    client = HttpClient(
        host, _PREFLIGHT_TIMEOUT_S, auth_headers(probe), connect_timeout_s=_CONNECT_TIMEOUT_S
    )
    try:
        response = client.request("GET", MODELS_PATH)
        body = response.read()
    except TransportError as exc:
        _raise_transport(host, exc)
    finally:
        client.close()
    if response.status in (401, 403):
        raise UsageError(_key_message(probe, response.status))
    try:
        return [str(m["id"]) for m in json.loads(body)["data"]]
    except (ValueError, KeyError, TypeError):
        msg = f"{host}{MODELS_PATH} did not list models; name them with --model"
        raise UsageError(msg) from None


def check_target(target: Target) -> str | None:
    """Send one tiny streamed request; returns a warning, or raises with an exit code."""
    assert target.host is not None
    if target.api_key_env and not os.environ.get(target.api_key_env):
        raise UsageError(f"target {target.name}: API key variable ${target.api_key_env} is not set")
    client = HttpClient(
        target.host,
        _PREFLIGHT_TIMEOUT_S,
        auth_headers(target),
        connect_timeout_s=_CONNECT_TIMEOUT_S,
    )
    body = flavour(target.api).request(target.model, [{"role": "user", "content": "Say OK."}], 1)
    result = send_chat(
        client, body, RequestResult(target.name, "preflight", 0, 0.0), api=target.api
    )
    client.close()
    if result.ok:
        return None
    if result.error_class is ErrorClass.CONNECT or (
        result.error_class is ErrorClass.TIMEOUT and result.status == 0
    ):  # no connection, or no answer at all within the preflight's time
        raise UnreachableError(f"cannot reach {target.host} (target {target.name}): {result.error}")
    if result.status in (401, 403):
        raise UsageError(_key_message(target, result.status))
    if result.status == 404:
        raise UsageError(
            f"target {target.name}: {target.host} answered 404 for model "
            f"{target.model!r}: {result.error}"
        )
    return f"preflight of {target.name} failed ({result.error_class}): {result.error}"


def server_context(target: Target) -> ServerContext | None:
    """The context the server publishes for the target's model: vLLM's ``max_model_len`` in
    /v1/models, else llama.cpp's /props; None when it publishes none, answers anything but
    200 with a readable body, or cannot be asked (the preflight has already reached it)."""
    assert target.host is not None
    client = HttpClient(
        target.host, _CONTEXT_TIMEOUT_S, auth_headers(target), connect_timeout_s=_CONTEXT_TIMEOUT_S
    )
    try:
        return _ask(client, MODELS_PATH, lambda body: from_models(body, target.model)) or _ask(
            client, PROPS_PATH, from_props
        )
    finally:
        client.close()


def _ask(
    client: HttpClient, path: str, parse: Callable[[bytes], ServerContext | None]
) -> ServerContext | None:
    try:
        response = client.request("GET", path)
        body = response.read()
    except TransportError:
        return None
    return parse(body) if response.status == 200 else None


def context_warnings(
    targets: Sequence[Target], conversations: Sequence[Conversation], max_tokens: int | None
) -> list[str]:
    """One warning per target whose published context some turns would not fit (prompt
    plus max_tokens), naming how many and the --max-prompt-tokens that skips them."""
    warnings = []
    for target in targets:
        context = server_context(target)
        if context is None:
            continue
        text = context_warning(
            context_fit(conversations, context.tokens, max_tokens), context.source
        )
        if text is not None:
            warnings.append(f"{target.name}: {text}")
    return warnings


def _key_message(target: Target, status: int) -> str:
    if target.api_key_env and os.environ.get(target.api_key_env):
        return (
            f"{target.host} refused the API key from ${target.api_key_env} "
            f"(HTTP {status}, target {target.name})"
        )
    return (
        f"{target.host} needs an API key (HTTP {status}, target {target.name}); set it in an "
        "environment variable and name it with --api-key-env or api_key_env in the config"
    )


def _raise_transport(host: str, exc: TransportError) -> None:
    if exc.error_class in (ErrorClass.CONNECT, ErrorClass.TIMEOUT):
        raise UnreachableError(f"cannot reach {host}: {exc}")
    raise UsageError(f"{host}{MODELS_PATH}: {exc}")
