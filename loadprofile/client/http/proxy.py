"""Which proxy a target is reached through, and the CONNECT tunnel for https targets.

The rules are curl's and requests': ``--proxy`` for every target, else the scheme's
variable (``https_proxy``/``HTTPS_PROXY`` for https targets, ``http_proxy``/``HTTP_PROXY``
for http ones, ``all_proxy``/``ALL_PROXY`` for both; lower case first), and ``NO_PROXY``
exempts hosts (names, domain suffixes, ``*``, and CIDR blocks as requests allows).
Loopback is proxied too unless ``NO_PROXY`` names it, as with curl and requests.
"""

from __future__ import annotations

import base64
import ipaddress
import os
from collections.abc import Mapping
from urllib.request import proxy_bypass_environment  # type: ignore[attr-defined]  # typeshed lacks it

from loadprofile.client.http.transport import Connection, Origin
from loadprofile.config.reach import ProxyOptions, ProxyUrl, parse_proxy_url

_MAX_HEAD = 16384


def proxy_for(
    origin: Origin, options: ProxyOptions, environ: Mapping[str, str] | None = None
) -> ProxyUrl | None:
    """The proxy requests to ``origin`` go through, or None for a direct connection.
    A malformed proxy variable is a ConfigError naming it."""
    env = os.environ if environ is None else environ
    if options.ignore_environment:
        return None
    if _exempt(origin.host, origin.port, _variable(env, "no_proxy")):
        return None
    if options.proxy is not None:
        return options.proxy
    for name in (f"{origin.scheme}_proxy", "all_proxy"):
        value = _variable(env, name)
        if value:
            return parse_proxy_url(value, f"${name.upper()}")
    return None


def authorization(proxy: ProxyUrl) -> dict[str, str]:
    """Proxy-Authorization (basic) from the proxy URL's userinfo; sent only to the proxy."""
    if not proxy.username and not proxy.password:
        return {}
    token = base64.b64encode(f"{proxy.username}:{proxy.password}".encode()).decode("ascii")
    return {"Proxy-Authorization": f"Basic {token}"}


class TunnelRefused(Exception):
    """The proxy answered the CONNECT with something other than 2xx."""


def open_tunnel(connection: Connection, origin: Origin, proxy: ProxyUrl) -> None:
    """Ask the proxy for a tunnel to ``origin`` (CONNECT host:port); returns when it stands.
    Raises TunnelRefused with the proxy's status line, or OSError."""
    authority = f"{_bracketed(origin.host)}:{origin.port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    lines += [f"{k}: {v}" for k, v in authorization(proxy).items()]
    connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    head = b""
    while b"\r\n\r\n" not in head:
        data = connection.recv(4096)
        if not data:
            raise TunnelRefused("the proxy closed the connection instead of answering CONNECT")
        head += data
        if len(head) > _MAX_HEAD:
            raise TunnelRefused("the proxy's answer to CONNECT is too large")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].startswith("2"):
        raise TunnelRefused(f"the proxy refused the tunnel: {status_line[:120]}")
    if not head.endswith(b"\r\n\r\n"):
        raise TunnelRefused("the proxy sent bytes after its answer to CONNECT")


def _variable(env: Mapping[str, str], name: str) -> str:
    return env.get(name) or env.get(name.upper()) or ""


def _exempt(host: str, port: int, no_proxy: str) -> bool:
    if not no_proxy:
        return False
    if proxy_bypass_environment(f"{_bracketed(host)}:{port}", {"no": no_proxy}):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    for entry in (e.strip() for e in no_proxy.split(",")):
        if "/" in entry:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
