"""TLS for the client: one context per run, and a one-line reason for every way a handshake
or an encrypted connection fails.

A context costs ~17 ms of CPU to build (the trust store is parsed), which would stall every
other stream's timing: it is built once, before the load starts, and bad files are a usage
error then rather than a wall of failed requests.
"""

from __future__ import annotations

import ssl

from loadprofile.config.reach import TlsOptions
from loadprofile.core.results import ErrorClass
from loadprofile.errors import ConfigError


def build_context(options: TlsOptions) -> ssl.SSLContext:
    """The client context: the system's trust store, or only ``ca_cert``'s (as curl's
    --cacert and requests' verify= do), the client certificate when given, or no
    verification at all with ``insecure``."""
    try:
        context = ssl.create_default_context(cafile=options.ca_cert)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"{options.ca_source} {options.ca_cert}: not a CA bundle: {exc}"
        ) from None
    if options.client_cert is not None:
        try:
            context.load_cert_chain(options.client_cert, options.client_key)
        except (OSError, ssl.SSLError) as exc:
            what = f"--client-cert {options.client_cert}"
            if options.client_key:
                what += f" / --client-key {options.client_key}"
            raise ConfigError(f"{what}: {_reason(exc)}") from None
    if options.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def tls_failure(
    exc: ssl.SSLError | ssl.CertificateError, host: str | None = None
) -> tuple[ErrorClass, str]:
    """The error class and one-line reason of a TLS failure (talking to ``host``)."""
    return ErrorClass.TLS, f"TLS{f' with {host}' if host else ''}: {describe(exc)}"


def describe(exc: BaseException) -> str:
    """What went wrong and, where it is the usual cause, what to do about it."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        message = exc.verify_message or _reason(exc)
        if "issuer" in message or "self-signed" in message or "self signed" in message:
            return f"certificate not trusted ({message}); name its CA with --ca-cert"
        if "Hostname mismatch" in message or "IP address mismatch" in message:
            return f"certificate is for another name ({message.rstrip('.')})"
        return f"certificate rejected ({message})"
    reason = _reason(exc)
    lowered = reason.lower()
    if "certificate required" in lowered or "handshake failure" in lowered:
        return f"the server wants a client certificate (--client-cert) or refused it ({reason})"
    if "unknown ca" in lowered or "bad certificate" in lowered:
        return f"the server refused our client certificate ({reason})"
    if "wrong version number" in lowered or "record layer failure" in lowered:
        return f"the server does not speak TLS here; is it http://? ({reason})"
    return reason


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = str(exc)
    if reason and reason not in text:
        text = f"{reason}: {text}"
    return " ".join(text.split()) or type(exc).__name__
