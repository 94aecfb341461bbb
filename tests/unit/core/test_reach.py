"""How targets are reached: the TLS and proxy flags, the proxy rules of curl and requests,
and the HTTP client driven through its transport seam without a socket."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from loadprofile.client.http.client import HttpClient
from loadprofile.client.http.proxy import authorization, proxy_for
from loadprofile.client.http.response import parse_head
from loadprofile.client.http.transport import Opened, Origin, Route
from loadprofile.config.reach import (
    ProxyOptions,
    ProxyUrl,
    ReachOptions,
    TlsOptions,
    parse_proxy_url,
    proxy_options,
    reach_record,
    tls_options,
)
from loadprofile.errors import ConfigError


def test_the_ca_bundle_comes_from_the_flag_then_requests_then_openssl_variables(
    tmp_path: Path,
) -> None:
    a, b, c = (tmp_path / n for n in ("a.pem", "b.pem", "c.pem"))
    for path in (a, b, c):
        path.write_text("x")
    env = {"REQUESTS_CA_BUNDLE": str(b), "SSL_CERT_FILE": str(c)}
    assert tls_options(str(a), None, None, False, env).ca_source == "--ca-cert"
    assert tls_options(None, None, None, False, env) == TlsOptions(str(b), "$REQUESTS_CA_BUNDLE")
    only_ssl = tls_options(None, None, None, False, {"SSL_CERT_FILE": str(c)})
    assert only_ssl == TlsOptions(str(c), "$SSL_CERT_FILE")
    assert tls_options(None, None, None, True, env) == TlsOptions(insecure=True)
    assert tls_options(None, None, None, False, {}) == TlsOptions()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("missing.pem", None, None, False), "--ca-cert missing.pem: no such file"),
        ((None, None, "key.pem", False), "--client-key goes with --client-cert"),
        ((None, "missing.crt", None, False), "--client-cert missing.crt: no such file"),
        (("ca.pem", None, None, True), "contradict"),
    ],
)
def test_bad_tls_flags_are_one_line_errors(
    args: tuple[str | None, str | None, str | None, bool],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ca.pem").write_text("x")
    with pytest.raises(ConfigError, match=message):
        tls_options(*args, environ={})


def test_a_ca_variable_naming_no_file_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\$SSL_CERT_FILE .*: no such file"):
        tls_options(None, None, None, False, {"SSL_CERT_FILE": str(tmp_path / "none.pem")})


def test_proxy_urls_keep_their_credentials_apart_and_show_only_host_and_port() -> None:
    proxy = parse_proxy_url("http://us%40er:p%3Ass@proxy.corp:3128")
    assert proxy == ProxyUrl("proxy.corp", 3128, "us@er", "p:ss")
    assert proxy.display == "proxy.corp:3128"
    assert parse_proxy_url("proxy.corp") == ProxyUrl("proxy.corp", 80)
    assert authorization(proxy) == {"Proxy-Authorization": "Basic dXNAZXI6cDpzcw=="}
    assert authorization(ProxyUrl("h", 1)) == {}
    for bad, message in (
        ("socks5://h:1", "only http:// proxies"),
        ("https://h:1", "only http:// proxies"),
        ("http://h:99999", "bad proxy URL"),
        ("http://h:1/path", "scheme://"),
        ("http://:1", "names no host"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_proxy_url(bad)
    with pytest.raises(ConfigError, match="contradict"):
        proxy_options("http://h:1", True)


def test_run_json_records_the_proxy_by_host_never_its_password() -> None:
    options = ReachOptions(
        TlsOptions(insecure=True), proxy_options("http://u:secret-pw@p.corp:8080", False)
    )
    record = reach_record(options)
    assert record == {"insecure": True, "proxy": "p.corp:8080"}
    assert "secret-pw" not in repr(record)
    assert reach_record(ReachOptions()) == {}


SECURE = Origin("https", "api.example.com", 443, "/v1")
PLAIN = Origin("http", "127.0.0.1", 8000, "")


@pytest.mark.parametrize(
    ("env", "origin", "expected"),
    [
        ({}, SECURE, None),
        ({"HTTPS_PROXY": "http://p:1"}, SECURE, "p:1"),
        ({"HTTPS_PROXY": "http://p:1"}, PLAIN, None),  # the http scheme's variable is unset
        ({"https_proxy": "http://low:1", "HTTPS_PROXY": "http://up:1"}, SECURE, "low:1"),
        ({"ALL_PROXY": "http://all:1"}, PLAIN, "all:1"),
        # loopback is proxied too, as with curl and requests, unless NO_PROXY names it
        ({"HTTP_PROXY": "http://p:1"}, PLAIN, "p:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "127.0.0.1"}, PLAIN, None),
        ({"HTTP_PROXY": "http://p:1", "no_proxy": "127.0.0.0/8"}, PLAIN, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".example.com"}, SECURE, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "example.com"}, SECURE, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, SECURE, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "xample.com"}, SECURE, "p:1"),
    ],
)
def test_proxy_variables_are_read_as_curl_and_requests_read_them(
    env: dict[str, str], origin: Origin, expected: str | None
) -> None:
    proxy = proxy_for(origin, ProxyOptions(), env)
    assert (proxy.display if proxy else None) == expected


def test_the_proxy_flag_wins_over_the_variables_and_no_proxy_ignores_them() -> None:
    env = {"HTTPS_PROXY": "http://env:1", "NO_PROXY": "127.0.0.1"}
    flag = ProxyOptions(ProxyUrl("flag", 2))
    assert proxy_for(SECURE, flag, env) == ProxyUrl("flag", 2)
    assert proxy_for(PLAIN, flag, env) is None  # NO_PROXY still exempts, as with curl
    assert proxy_for(SECURE, ProxyOptions(ignore_environment=True), env) is None
    with pytest.raises(ConfigError, match=r"\$HTTPS_PROXY"):
        proxy_for(SECURE, ProxyOptions(), {"HTTPS_PROXY": "socks5://x:1"})


# -- the client through its transport seam ------------------------------------------------


@dataclass
class ScriptedConnection:
    """A connection that answers with prepared bytes and keeps what was sent."""

    replies: list[bytes]
    sent: list[bytes] = field(default_factory=list)
    closed: bool = False

    def sendall(self, data: bytes, /) -> None:
        self.sent.append(data)

    def recv(self, size: int, /) -> bytes:
        return self.replies.pop(0) if self.replies else b""

    def settimeout(self, value: float | None, /) -> None:
        pass

    def close(self) -> None:
        self.closed = True


@dataclass
class ScriptedTransport:
    replies: list[list[bytes]]
    route_for: Route = field(default_factory=Route)
    opened: list[ScriptedConnection] = field(default_factory=list)

    def route(self, origin: Origin) -> Route:
        return self.route_for

    def open(self, origin: Origin, timeout_s: float) -> Opened:
        connection = ScriptedConnection(self.replies.pop(0))
        self.opened.append(connection)
        return Opened(connection, connect_ms=12.5, tls_ms=7.25)

    def usable(self, connection: object) -> bool:
        return True


ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Trace: a\r\nSet-Cookie: s=1\r\n"
    b"X-Trace: b\r\nSet-Cookie: t=2\r\n\r\nok"
)


def test_the_client_runs_over_any_transport_and_keeps_its_connection_costs() -> None:
    transport = ScriptedTransport([[ANSWER, ANSWER]])
    client = HttpClient("https://api.example.com/v1", 5.0, transport=transport)
    first = client.request("GET", "/models")
    assert (first.status, first.read(), first.connect_ms, first.tls_ms) == (200, b"ok", 12.5, 7.25)
    second = client.request("GET", "/models")  # the kept-alive connection: no new costs
    assert (second.read(), second.connect_ms, second.tls_ms) == (b"ok", None, None)
    assert len(transport.opened) == 1
    assert transport.opened[0].sent[0].startswith(b"GET /v1/models HTTP/1.1\r\n")


def test_repeated_response_headers_are_all_kept() -> None:
    _, _, headers, _ = parse_head(ANSWER.split(b"\r\n\r\n")[0])
    assert headers["x-trace"] == "a, b"
    assert headers["set-cookie"] == "s=1, t=2"


def test_through_a_plain_http_proxy_requests_go_in_absolute_form_with_its_credentials() -> None:
    route = Route(absolute_form=True, headers={"Proxy-Authorization": "Basic abc"})
    transport = ScriptedTransport([[ANSWER]], route)
    client = HttpClient("http://127.0.0.1:8000/v1", 5.0, transport=transport)
    client.request("POST", "/chat/completions", b"{}").read()
    sent = transport.opened[0].sent[0].decode()
    assert sent.startswith("POST http://127.0.0.1:8000/v1/chat/completions HTTP/1.1\r\n")
    assert "Proxy-Authorization: Basic abc\r\n" in sent and "Host: 127.0.0.1:8000\r\n" in sent


def test_a_fresh_tls_connection_closed_before_any_answer_is_a_tls_failure() -> None:
    from loadprofile.client.http.client import TransportError
    from loadprofile.core.results import ErrorClass

    client = HttpClient("https://h", 5.0, transport=ScriptedTransport([[b""]]))
    with pytest.raises(TransportError) as caught:
        client.request("GET", "/")
    assert caught.value.error_class is ErrorClass.TLS
    assert "client certificate" in str(caught.value)
