"""How this process reaches its targets: which certificates it trusts, the one it shows,
and the proxy it goes through (pure: the checks of the flags, not the connections).

Company networks put hosted APIs behind an egress proxy and a private CA, and self-hosted
gateways often want a client certificate; users expect the flags and the environment
variables of curl and requests to work here the same way (``SSL_CERT_FILE``,
``REQUESTS_CA_BUNDLE``, ``HTTPS_PROXY``, ``NO_PROXY``). ``client.http.reach`` builds the
connections from these options.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from loadprofile.errors import ConfigError

#: Where users of requests and of OpenSSL put a CA bundle, checked in this order after
#: ``--ca-cert`` (requests reads the first, Python's ssl module the second by itself).
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


@dataclass(frozen=True)
class TlsOptions:
    """``--ca-cert``, ``--client-cert``/``--client-key`` and ``--insecure``."""

    ca_cert: str | None = None  # a PEM bundle that replaces the system's trust store
    ca_source: str = ""  # where ca_cert came from: --ca-cert or the variable's name
    client_cert: str | None = None  # PEM certificate (with its key, unless client_key)
    client_key: str | None = None
    insecure: bool = False  # no verification at all


@dataclass(frozen=True)
class ProxyUrl:
    """An HTTP proxy, its credentials apart: they go into Proxy-Authorization only."""

    host: str
    port: int
    username: str = ""
    password: str = ""

    @property
    def display(self) -> str:
        """Host and port, never the credentials: what the run records and prints."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class ProxyOptions:
    """``--proxy URL`` (for every target) or ``--no-proxy`` (the environment's ignored);
    neither: ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` decide per target."""

    proxy: ProxyUrl | None = None
    ignore_environment: bool = False


@dataclass(frozen=True)
class ReachOptions:
    tls: TlsOptions = TlsOptions()
    proxy: ProxyOptions = ProxyOptions()


def tls_options(
    ca_cert: str | None,
    client_cert: str | None,
    client_key: str | None,
    insecure: bool,
    environ: Mapping[str, str] | None = None,
) -> TlsOptions:
    """Checked TLS flags; the CA bundle from the environment when ``--ca-cert`` names none."""
    env = os.environ if environ is None else environ
    source = "--ca-cert"
    if ca_cert is None and not insecure:
        for name in CA_BUNDLE_VARIABLES:
            if env.get(name):
                ca_cert, source = env[name], f"${name}"
                break
    if ca_cert is not None:
        _readable(ca_cert, source)
    if client_key is not None and client_cert is None:
        raise ConfigError("--client-key goes with --client-cert")
    if client_cert is not None:
        _readable(client_cert, "--client-cert")
    if client_key is not None:
        _readable(client_key, "--client-key")
    if insecure and ca_cert is not None and source == "--ca-cert":
        raise ConfigError("--insecure and --ca-cert contradict each other: choose one")
    return TlsOptions(ca_cert, source if ca_cert else "", client_cert, client_key, insecure)


def parse_proxy_url(url: str, what: str = "--proxy") -> ProxyUrl:
    """``http://[user:password@]host[:port]``; the password never leaves this object but
    as a header. Only plain-HTTP proxies: CONNECT tunnels carry https targets through them."""
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{what}: bad proxy URL: {exc}") from None
    if parts.scheme != "http":
        raise ConfigError(
            f"{what}: only http:// proxies are supported (got {parts.scheme}://); "
            "https targets go through them in a CONNECT tunnel"
        )
    if not parts.hostname:
        raise ConfigError(f"{what}: the proxy URL names no host")
    if parts.path not in ("", "/") or parts.query:
        raise ConfigError(f"{what}: a proxy URL is scheme://[user:password@]host[:port]")
    return ProxyUrl(
        parts.hostname,
        port or 80,
        unquote(parts.username or ""),
        unquote(parts.password or ""),
    )


def proxy_options(proxy: str | None, no_proxy: bool) -> ProxyOptions:
    if proxy is not None and no_proxy:
        raise ConfigError("--proxy and --no-proxy contradict each other: choose one")
    return ProxyOptions(None if proxy is None else parse_proxy_url(proxy), no_proxy)


def _readable(path: str, what: str) -> None:
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{what} {path}: no such file")
    try:
        with file.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot read it: {exc.strerror or exc}") from None


def reach_record(options: ReachOptions) -> dict[str, object]:
    """run.json's ``reach``: what was set, never a credential (a proxy by host and port)."""
    tls, proxy = options.tls, options.proxy
    out: dict[str, object] = {}
    if tls.ca_cert is not None:
        out["ca_cert"] = {"file": tls.ca_cert, "from": tls.ca_source}
    if tls.client_cert is not None:
        out["client_cert"] = tls.client_cert
    if tls.insecure:
        out["insecure"] = True
    if proxy.proxy is not None:
        out["proxy"] = proxy.proxy.display
    elif proxy.ignore_environment:
        out["proxy"] = "none (--no-proxy)"
    return out
