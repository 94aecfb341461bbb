"""Where a target's requests go: its API base URL and each endpoint's path under it (pure).

The OpenAI SDKs' convention, so that a base URL copied from a provider's page works as it
is: the base includes the version path (``https://api.groq.com/openai/v1``,
``https://openrouter.ai/api/v1``, Gemini's ``.../v1beta/openai``), and a bare host means
``/v1`` (Anthropic's too). Azure OpenAI's paths start at the host's root
(``/openai/deployments/...``), so a bare Azure host gets nothing added; a path given with it
(a gateway's prefix) comes before them. Endpoints the server itself has at its root
(llama.cpp's ``/props``, ``/metrics``, ``/health``) are asked at ``server_root``, whatever
the base.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from loadprofile.client.apis.flavours import flavour
from loadprofile.client.apis.openai_chat import MODELS_PATH
from loadprofile.config.targets import AZURE_API_VERSION, Target

__all__ = ["MODELS_PATH", "api_base_url", "endpoint_path", "server_root"]


def api_base_url(host: str, api: str) -> str:
    """The base URL flavour ``api``'s paths go under: ``host`` (a checked URL,
    ``targets.normalize_host``) as given, or with the flavour's ``/v1`` when it has no path."""
    base = host.rstrip("/")
    return base if urlsplit(base).path else base + flavour(api).bare_base


def server_root(host: str) -> str:
    """``scheme://host:port`` of ``host``: where llama.cpp's /props is, under any base."""
    parts = urlsplit(host)
    return f"{parts.scheme}://{parts.netloc}"


def endpoint_path(target: Target) -> str:
    """The path (with its query) the target's requests are posted to, under its API base:
    the flavour's, with Azure's deployment (the target's model) and API version filled in."""
    path = flavour(target.api).path
    if "{" not in path:
        return path
    return path.format(
        deployment=quote(target.model, safe=""),
        api_version=quote(target.api_version or AZURE_API_VERSION, safe=""),
    )
