"""The flags that say how targets are reached: certificates trusted and shown, proxies
(the registry: flags.py; the checks: reach.py)."""

from __future__ import annotations

from loadprofile.config.flag_spec import Flag, flag

REACH = "reach (TLS and proxies; as curl and requests)"
#: A snapshot asks the same servers, through the same networks.
RUN_AND_SNAPSHOT = frozenset({"run", "snapshot"})

REACH_FLAGS: tuple[Flag, ...] = (
    flag(
        "--ca-cert",
        help="trust only the CAs in this PEM bundle for https targets (a company's private CA)",
        group=REACH,
        commands=RUN_AND_SNAPSHOT,
        default="system store",
        doc="trust only the CAs in this PEM bundle for https targets (as curl's `--cacert`); "
        "not given: `$REQUESTS_CA_BUNDLE`, then `$SSL_CERT_FILE`, then the system's store",
        metavar="FILE",
    ),
    flag(
        "--client-cert",
        help="show this PEM client certificate (mTLS); with its key unless --client-key",
        group=REACH,
        commands=RUN_AND_SNAPSHOT,
        doc="client certificate for mutual TLS (PEM; holds the key too unless `--client-key`)",
        metavar="FILE",
    ),
    flag(
        "--client-key",
        help="the private key of --client-cert (PEM)",
        group=REACH,
        commands=RUN_AND_SNAPSHOT,
        metavar="FILE",
    ),
    flag(
        "--insecure",
        help="do not verify https targets' certificates (warned, and recorded in run.json)",
        group=REACH,
        commands=RUN_AND_SNAPSHOT,
        default="off",
        doc="no certificate verification at all (as curl's `-k`): warned on the console and "
        "recorded in run.json's `reach`",
        action="store_true",
    ),
    flag(
        "--proxy",
        help="send every request through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT); "
        "https targets through a CONNECT tunnel",
        group=REACH,
        commands=RUN_AND_SNAPSHOT,
        default="$HTTPS_PROXY / $HTTP_PROXY",
        doc="HTTP proxy for every target, `http://[USER:PASSWORD@]HOST:PORT` (the password "
        "only ever goes into `Proxy-Authorization`); https targets in a CONNECT tunnel, http "
        "ones in absolute form. Not given: `https_proxy`/`http_proxy`/`all_proxy` (either "
        "case) per target scheme, as curl and requests; `NO_PROXY` exempts hosts (names, "
        "suffixes, `*`, CIDR blocks), loopback included only when it names it",
        metavar="URL",
    ),
    flag(
        "--no-proxy",
        help="connect directly, whatever HTTP(S)_PROXY say",
        group=REACH,
        commands=RUN_AND_SNAPSHOT,
        default="off",
        doc="connect directly: the proxy variables are ignored",
        action="store_true",
    ),
)
