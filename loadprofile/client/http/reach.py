"""The process's one transport: the run's TLS settings and proxies, set once before any load.

Every HTTP client of a process (the load, the preflight, the cache warm-up, the scrapes of
server metrics, a snapshot) reaches the same targets the same way, so the transport is the
process's: ``use_reach`` sets it from the run's flags (the TLS context is built then, once:
a bad certificate file is a usage error before the load, not a wall of failed requests),
and clients take it unless a test hands them another.
"""

from __future__ import annotations

import functools

from loadprofile.client.http.connect import SocketTransport
from loadprofile.client.http.tls import build_context
from loadprofile.config.reach import ReachOptions
from loadprofile.errors import ConfigError, UsageError

_current: SocketTransport | None = None


@functools.cache
def transport_for(options: ReachOptions) -> SocketTransport:
    """One transport (and TLS context) per set of options for the process's lifetime."""
    return SocketTransport(build_context(options.tls), options.proxy)


def use_reach(options: ReachOptions) -> SocketTransport:
    """Make ``options`` the process's way to reach targets; UsageError (exit 2) on a
    certificate or key file that does not load."""
    global _current
    try:
        _current = transport_for(options)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    return _current


def default_transport() -> SocketTransport:
    """The transport set by ``use_reach``, else the defaults: the system's trust store
    (OpenSSL itself honours $SSL_CERT_FILE) and the environment's proxies."""
    return _current or transport_for(ReachOptions())
