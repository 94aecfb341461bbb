"""The mock over HTTPS: a certificate and key to serve with, and optionally a CA whose
client certificates it demands (mutual TLS), so the client's TLS path is tested end to end
against a real handshake."""

from __future__ import annotations

import argparse
import ssl


def add_tls_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this PEM certificate")
    parser.add_argument("--tls-key", metavar="FILE", help="its private key (PEM)")
    parser.add_argument(
        "--tls-client-ca",
        metavar="FILE",
        help="demand a client certificate signed by a CA in this PEM bundle (mutual TLS)",
    )


def check_tls_arguments(args: argparse.Namespace) -> str | None:
    """What is wrong with the TLS flags, or None."""
    if args.tls_key and not args.tls_cert:
        return "--tls-key goes with --tls-cert"
    if args.tls_client_ca and not args.tls_cert:
        return "--tls-client-ca goes with --tls-cert"
    return None


def server_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    """The listening socket's TLS context; None for plain HTTP. Raises OSError/SSLError on
    unreadable files (the caller says so in one line)."""
    if not args.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    if args.tls_client_ca:
        context.load_verify_locations(args.tls_client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context
