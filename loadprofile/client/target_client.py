"""An HTTP client for one target: its API base URL, its key and its extra headers.

One place decides where a target's requests go and what they carry, so the load, the
preflight, the cache warm-up and snapshots cannot differ. Values of ``--header-env`` are
read from the environment here, when a client is made, and live only in its headers (the
client blanks them out of the error texts servers echo them in).
"""

from __future__ import annotations

import os

from loadprofile.client.apis.endpoints import api_base_url, server_root
from loadprofile.client.http.client import HttpClient
from loadprofile.client.http.response import BodyDriver
from loadprofile.client.streaming import auth_headers
from loadprofile.config.targets import Target


def extra_headers(target: Target) -> dict[str, str]:
    """The target's ``--header`` values and, as they are now, its ``--header-env``
    variables' (an unset one is left out: the preflight refuses it before)."""
    out = dict(target.headers)
    for name, variable in target.header_env:
        value = os.environ.get(variable)
        if value:
            out[name] = value
    return out


def request_headers(target: Target) -> dict[str, str]:
    """Its flavour's key headers, then its extra headers: one of the same name (an
    ``Authorization`` a gateway wants) replaces the key's."""
    extra = extra_headers(target)
    given = {name.lower() for name in extra}
    auth = {k: v for k, v in auth_headers(target).items() if k.lower() not in given}
    return {**auth, **extra}


def api_client(
    target: Target,
    timeout_s: float,
    *,
    read_timeouts: bool = True,
    connect_timeout_s: float | None = None,
    body_driver: BodyDriver | None = None,
) -> HttpClient:
    """A client whose paths go under the target's API base URL (``endpoints.py``)."""
    assert target.host is not None, "targets get their host before any request"
    return HttpClient(
        api_base_url(target.host, target.api),
        timeout_s,
        request_headers(target),
        read_timeouts=read_timeouts,
        connect_timeout_s=connect_timeout_s,
        body_driver=body_driver,
    )


def root_client(target: Target, timeout_s: float) -> HttpClient:
    """A client for the target's server root (llama.cpp's /props), with the same headers:
    a gateway in front wants them there too."""
    assert target.host is not None, "targets get their host before any request"
    return HttpClient(
        server_root(target.host), timeout_s, request_headers(target), connect_timeout_s=timeout_s
    )
