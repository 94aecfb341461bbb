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

from loadprofile.client.apis.endpoints import MODELS_PATH, api_base_url, endpoint_path
from loadprofile.client.apis.flavours import flavour
from loadprofile.client.http.client import HttpClient, TransportError
from loadprofile.client.server_context import ServerContext, from_models, from_props
from loadprofile.client.streaming import send_chat
from loadprofile.client.target_client import api_client, root_client
from loadprofile.config.headers import valid_header_value
from loadprofile.config.run_config import Target
from loadprofile.core.results import ErrorClass, RequestResult
from loadprofile.dataset.prompt_fit import context_fit, context_warning
from loadprofile.dataset.turns import Conversation
from loadprofile.errors import UnreachableError, UsageError

_PREFLIGHT_TIMEOUT_S = 60.0
_CONNECT_TIMEOUT_S = 10.0
#: Asking for the context is a courtesy check: a server slow to say gives no answer.
_CONTEXT_TIMEOUT_S = 5.0
PROPS_PATH = "/props"  # llama.cpp's server properties


def list_models(probe: Target) -> list[str]:
    """Model ids served at the ``probe`` target's host (GET {base}/models, which Anthropic
    serves in the same shape), sent with its key and headers (its model is not asked)."""
    assert probe.host is not None
    host = probe.host
    if not flavour(probe.api).lists_models:
        raise UsageError(
            f"--api {probe.api} lists no deployments to pick from; name yours with "
            "--model DEPLOYMENT"
        )
    check_variables(probe, f"--host {host}")
    models_url = api_base_url(host, probe.api) + MODELS_PATH
    client = api_client(probe, _PREFLIGHT_TIMEOUT_S, connect_timeout_s=_CONNECT_TIMEOUT_S)
    try:
        response = client.request("GET", MODELS_PATH)
        body = response.read()
    except TransportError as exc:
        _raise_transport(host, models_url, exc)
    finally:
        client.close()
    if response.status in (401, 403):
        raise UsageError(_key_message(probe, response.status))
    try:
        return [str(m["id"]) for m in json.loads(body)["data"]]
    except (ValueError, KeyError, TypeError):
        msg = f"{models_url} did not list models; name them with --model"
        raise UsageError(msg) from None


def check_variables(target: Target, who: str) -> None:
    """Every environment variable the target's requests need (its key, its --header-env
    values) is set, and holds a value a header can carry; else a one-line UsageError."""
    if target.api_key_env and not os.environ.get(target.api_key_env):
        raise UsageError(f"{who}: API key variable ${target.api_key_env} is not set")
    for name, variable in target.header_env:
        value = os.environ.get(variable)
        if not value:
            raise UsageError(f"{who}: header {name}: variable ${variable} is not set")
        if not valid_header_value(value):
            raise UsageError(
                f"{who}: header {name}: ${variable} is not a header value (printable ASCII "
                "on one line)"
            )


def check_target(target: Target) -> str | None:
    """Send one tiny streamed request; returns a warning, or raises with an exit code."""
    assert target.host is not None
    check_variables(target, f"target {target.name}")
    client = api_client(target, _PREFLIGHT_TIMEOUT_S, connect_timeout_s=_CONNECT_TIMEOUT_S)
    body = flavour(target.api).request(target.model, [{"role": "user", "content": "Say OK."}], 1)
    result = send_chat(
        client,
        body,
        RequestResult(target.name, "preflight", 0, 0.0),
        api=target.api,
        path=endpoint_path(target),
    )
    client.close()
    if result.ok:
        return None
    if result.status == 407:  # the proxy wants (other) credentials: nothing gets through
        raise UnreachableError(
            f"cannot reach {target.host} (target {target.name}): the proxy refused our "
            f"credentials (its URL's USER:PASSWORD): {result.error}"
        )
    if result.error_class in (ErrorClass.CONNECT, ErrorClass.TLS) or (
        result.error_class is ErrorClass.TIMEOUT and result.status == 0
    ):  # no connection, or no answer at all within the preflight's time
        raise UnreachableError(f"cannot reach {target.host} (target {target.name}): {result.error}")
    if result.status in (401, 403):
        raise UsageError(_key_message(target, result.status))
    if result.status == 404:
        raise UsageError(
            f"target {target.name}: {target.host} answered 404 for "
            f"{'deployment' if target.api == 'azure' else 'model'} "
            f"{target.model!r}: {result.error}"
        )
    return f"preflight of {target.name} failed ({result.error_class}): {result.error}"


def server_context(target: Target) -> ServerContext | None:
    """The context the server publishes for the target's model: vLLM's ``max_model_len`` in
    /v1/models, else llama.cpp's /props; None when it publishes none, answers anything but
    200 with a readable body, or cannot be asked (the preflight has already reached it).
    /props is at the server's root, whatever the API base; Azure publishes neither."""
    assert target.host is not None
    if not flavour(target.api).lists_models:
        return None
    api = api_client(target, _CONTEXT_TIMEOUT_S, connect_timeout_s=_CONTEXT_TIMEOUT_S)
    root = root_client(target, _CONTEXT_TIMEOUT_S)
    try:
        return _ask(api, MODELS_PATH, lambda body: from_models(body, target.model)) or _ask(
            root, PROPS_PATH, from_props
        )
    finally:
        api.close()
        root.close()


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
    if target.headers or target.header_env:
        names = ", ".join(name for name, _ in (*target.headers, *target.header_env))
        return (
            f"{target.host} refused the request (HTTP {status}, target {target.name}): check "
            f"the headers sent ({names}) and the API key (--api-key-env)"
        )
    return (
        f"{target.host} needs an API key (HTTP {status}, target {target.name}); set it in an "
        "environment variable and name it with --api-key-env or api_key_env in the config "
        "(a gateway's own header: --header, --header-env)"
    )


def _raise_transport(host: str, url: str, exc: TransportError) -> None:
    if exc.error_class in (ErrorClass.CONNECT, ErrorClass.TLS, ErrorClass.TIMEOUT):
        raise UnreachableError(f"cannot reach {host}: {exc}")
    raise UsageError(f"{url}: {exc}")
