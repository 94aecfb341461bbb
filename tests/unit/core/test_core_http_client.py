"""HttpClient against a scripted TCP server on 127.0.0.1: framing, timing, reuse, failures.

Each test scripts, per accepted connection, what the server reads and sends and when; the
server records the raw request bytes so the tests can check what the client wrote.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from loadprofile.client.http.client import HttpClient, Origin, TransportError
from loadprofile.core.results import ErrorClass

TIMEOUT_S = 0.3


class Peer:
    """The server's side of one accepted connection."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self.sock = sock
        self.stop = stop
        self.buf = b""
        self.requests: list[bytes] = []
        self.sent_ns: list[int] = []

    def read_request(self, timeout: float = 2.0) -> bytes:
        """One whole request (head and Content-Length body); b'' if the client closed."""
        self.sock.settimeout(timeout)
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                return b""
            self.buf += data
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            data = self.sock.recv(65536)
            if not data:
                break
            rest += data
        raw = head + b"\r\n\r\n" + rest[:length]
        self.buf = rest[length:]
        self.requests.append(raw)
        return raw

    def send(self, data: bytes, delay: float = 0.0) -> None:
        if delay:
            time.sleep(delay)
        self.sent_ns.append(time.perf_counter_ns())  # before: the client may read first
        self.sock.sendall(data)

    def close(self, reset: bool = False) -> None:
        if reset:  # RST instead of FIN
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
        self.sock.close()

    def saw_eof(self, within_s: float) -> bool:
        """True if the client closed its end within `within_s` (anything it sent is ignored)."""
        deadline = time.monotonic() + within_s
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                if not self.sock.recv(65536):
                    return True
            except TimeoutError:
                return False
            except OSError:
                return True
        return False

    def hang(self) -> None:
        self.stop.wait(5)


Handler = Callable[[Peer], None]


class ScriptedServer:
    """Accepts connections; the n-th connection runs handlers[n] (extra ones are closed)."""

    def __init__(self, handlers: list[Handler]) -> None:
        self.handlers = handlers
        self.peers: list[Peer] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.5)
        self.port = self.listener.getsockname()[1]
        self.threads = [threading.Thread(target=self._accept_loop, daemon=True)]
        self.threads[0].start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept_loop(self) -> None:
        while not self.stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.stop.is_set():  # the wake-up connection from shutdown()
                sock.close()
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            peer = Peer(sock, self.stop)
            index = len(self.peers)
            self.peers.append(peer)
            if index >= len(self.handlers):
                peer.close()
                continue
            thread = threading.Thread(target=self._run, args=(index, peer), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _run(self, index: int, peer: Peer) -> None:
        try:
            self.handlers[index](peer)
        except Exception as exc:
            if not self.stop.is_set():
                self.errors.append(exc)

    def shutdown(self) -> None:
        self.stop.set()
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
            pass  # wakes the accept loop now rather than at its next poll
        self.threads[0].join(2)
        self.listener.close()
        for peer in self.peers:
            with contextlib.suppress(OSError):
                peer.sock.close()
        for thread in self.threads:
            thread.join(2)


@pytest.fixture
def serve() -> Iterator[Callable[..., ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(*handlers: Handler) -> ScriptedServer:
        server = ScriptedServer(list(handlers))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
    for server in servers:
        assert not server.errors, f"server script failed: {server.errors!r}"


def head(status: str = "200 OK", *headers: str, version: str = "HTTP/1.1") -> bytes:
    return (f"{version} {status}\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode()


CHUNKED = "Transfer-Encoding: chunked"


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


LAST_CHUNK = b"0\r\n\r\n"


def respond_sized(body: bytes, *headers: str, version: str = "HTTP/1.1") -> Handler:
    def handler(peer: Peer) -> None:
        if peer.read_request():
            peer.send(
                head("200 OK", f"Content-Length: {len(body)}", *headers, version=version) + body
            )

    return handler


def keep_answering(*bodies: bytes) -> Handler:
    """One connection answering several requests in turn (Content-Length framing)."""

    def handler(peer: Peer) -> None:
        for body in bodies:
            if not peer.read_request():
                return
            peer.send(head("200 OK", f"Content-Length: {len(body)}") + body)
        peer.hang()

    return handler


def client_for(server: ScriptedServer, path: str = "", timeout_s: float = TIMEOUT_S) -> HttpClient:
    return HttpClient(server.url + path, timeout_s=timeout_s)


def body_of(client: HttpClient, method: str = "GET", path: str = "/") -> bytes:
    return b"".join(data for data, _ in client.request(method, path).chunks())


# --------------------------------------------------------------------------- body framing


SSE_EVENTS = [
    b'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n',
    b'data: {"choices":[{"delta":{"content":"lo"}}]}\n\n',
    b'data: {"choices":[{"delta":{"content":" world"}}]}\n\n',
    b"data: [DONE]\n\n",
]
SSE_DELAYS = [0.04, 0.07, 0.03, 0.05]


def test_chunked_sse_pieces_carry_their_receive_times(serve: Callable[..., ScriptedServer]) -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(head("200 OK", "Content-Type: text/event-stream", CHUNKED))
        for delay, event in zip(SSE_DELAYS, SSE_EVENTS, strict=True):
            peer.send(chunk(event), delay)
        peer.send(LAST_CHUNK, 0.01)
        peer.hang()

    server = serve(handler)
    client = client_for(server, timeout_s=5.0)
    asked_ns = time.perf_counter_ns()
    response = client.request("POST", "/v1/chat/completions", body=b"{}")
    assert response.status == 200
    assert response.content_type == "text/event-stream"
    pieces = list(response.chunks())

    assert [data for data, _ in pieces] == SSE_EVENTS
    times = [t for _, t in pieces]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert times[0] > asked_ns
    sent = server.peers[0].sent_ns[1:5]  # send times of the four data chunks
    # Bounds that hold when another process competes for the CPU (a read can wait ~10 ms
    # for its turn); still far below the 30-70 ms between pieces, so a client that buffered
    # the stream would fail them. Tight figures: benchmarks/client_sweep.py.
    slack_ms = 12.0
    for i in range(1, len(times)):
        gap_ms = (times[i] - times[i - 1]) / 1e6
        sent_gap_ms = (sent[i] - sent[i - 1]) / 1e6
        assert gap_ms == pytest.approx(sent_gap_ms, abs=slack_ms), f"piece {i}"
        # A piece received late (below) shortens the next gap by as much.
        assert SSE_DELAYS[i] * 1e3 - slack_ms <= gap_ms <= SSE_DELAYS[i] * 1e3 + 30.0, f"piece {i}"
    # Each piece was received right after it was sent, not at the end of the stream.
    for t_recv, t_sent in zip(times, sent, strict=True):
        assert 0 <= (t_recv - t_sent) / 1e6 < slack_ms


def test_content_length_body_in_several_sends(serve: Callable[..., ScriptedServer]) -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(head("200 OK", "Content-Length: 11", "Content-Type: application/json") + b"hel")
        peer.send(b"lo wo", 0.02)
        peer.send(b"rld", 0.02)
        peer.hang()

    server = serve(handler)
    response = client_for(server).request("GET", "/")
    pieces = list(response.chunks())
    assert b"".join(d for d, _ in pieces) == b"hello world"
    assert [d for d, _ in pieces] == [b"hel", b"lo wo", b"rld"]
    assert response.content_type == "application/json"


def test_zero_content_length(serve: Callable[..., ScriptedServer]) -> None:
    server = serve(keep_answering(b"", b"second"))
    client = client_for(server)
    assert body_of(client) == b""
    assert body_of(client) == b"second"
    assert client.connections_opened == 1


def test_body_until_close(serve: Callable[..., ScriptedServer]) -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(head("200 OK", "Content-Type: text/plain") + b"part one, ")
        peer.send(b"part two", 0.02)
        peer.close()

    server = serve(handler, respond_sized(b"again"))
    client = client_for(server)
    assert client.request("GET", "/").read() == b"part one, part two"
    # A body delimited by close can never leave a reusable connection behind.
    assert body_of(client) == b"again"
    assert client.connections_opened == 2


def test_read_with_limit_stops_early(serve: Callable[..., ScriptedServer]) -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(head("200 OK", CHUNKED) + chunk(b"x" * 100))
        peer.send(chunk(b"y" * 100), 0.01)
        peer.hang()  # never ends the body: read(limit) must not wait for it

    server = serve(handler)
    assert client_for(server).request("GET", "/").read(limit=150) == b"x" * 100 + b"y" * 50


def test_response_head_is_parsed(serve: Callable[..., ScriptedServer]) -> None:
    server = serve(
        respond_sized(
            b"{}", "Content-Type: Application/JSON; charset=utf-8", "X-Request-Id:   abc  "
        )
    )
    response = client_for(server).request("GET", "/")
    assert (response.status, response.reason) == (200, "OK")
    assert response.headers["x-request-id"] == "abc"
    assert response.content_type == "application/json"
    assert response.connect_ms is not None and response.connect_ms >= 0


@pytest.mark.parametrize(
    ("interim", "separate_sends"),
    [
        pytest.param(b"HTTP/1.1 100 Continue\r\n\r\n", True, id="100-two-sends"),
        pytest.param(
            b"HTTP/1.1 100 Continue\r\n\r\n",
            False,
            id="100-one-send",
        ),
        pytest.param(
            b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n",
            True,
            id="103-two-sends",
        ),
    ],
)
def test_interim_1xx_is_skipped(
    serve: Callable[..., ScriptedServer], interim: bytes, separate_sends: bool
) -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        final = head("201 Created", "Content-Length: 2") + b"ok"
        if separate_sends:
            peer.send(interim)
            peer.send(final, 0.02)
        else:
            peer.send(interim + final)
        peer.hang()

    server = serve(handler)
    response = client_for(server).request("POST", "/", body=b"{}")
    assert (response.status, response.reason) == (201, "Created")
    assert response.read() == b"ok"


# --------------------------------------------------------------------------- connection reuse


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_keep_alive_reuses_one_connection(
    serve: Callable[..., ScriptedServer], framing: str
) -> None:
    def handler(peer: Peer) -> None:
        for body in (b"first", b"second"):
            peer.read_request()
            if framing == "chunked":
                peer.send(head("200 OK", CHUNKED) + chunk(body) + LAST_CHUNK)
            else:
                peer.send(head("200 OK", f"Content-Length: {len(body)}") + body)
        peer.hang()

    server = serve(handler)
    client = client_for(server)
    assert body_of(client, path="/a") == b"first"
    assert body_of(client, path="/b") == b"second"
    assert client.connections_opened == 1
    assert len(server.peers) == 1
    assert [r.split(b" ")[1] for r in server.peers[0].requests] == [b"/a", b"/b"]


@pytest.mark.parametrize(
    ("version", "headers", "reused"),
    [
        ("HTTP/1.1", (), True),
        ("HTTP/1.1", ("Connection: keep-alive",), True),
        ("HTTP/1.1", ("Connection: close",), False),
        ("HTTP/1.1", ("Connection: Close",), False),
        ("HTTP/1.0", (), False),
        ("HTTP/1.0", ("Connection: keep-alive",), True),
    ],
)
def test_connection_header_decides_reuse(
    serve: Callable[..., ScriptedServer], version: str, headers: tuple[str, ...], reused: bool
) -> None:
    def first(peer: Peer) -> None:
        peer.read_request()
        peer.send(head("200 OK", "Content-Length: 3", *headers, version=version) + b"one")
        if reused:
            if peer.read_request():
                peer.send(head("200 OK", "Content-Length: 3") + b"two")
            peer.hang()
        else:
            peer.close()

    server = serve(first, respond_sized(b"two"))
    client = client_for(server)
    assert body_of(client) == b"one"
    assert body_of(client) == b"two"
    assert client.connections_opened == (1 if reused else 2)
    assert len(server.peers) == (1 if reused else 2)


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_stale_pooled_connection_is_replaced(
    serve: Callable[..., ScriptedServer], reset: bool
) -> None:
    """llama.cpp: keep-alive announced, connection closed after every stream."""
    closed = threading.Event()

    def llama_like(peer: Peer) -> None:
        peer.read_request()
        peer.send(head("200 OK", CHUNKED) + chunk(b"data: 1\n\n") + LAST_CHUNK)
        time.sleep(0.02)
        peer.close(reset=reset)
        closed.set()

    server = serve(llama_like, respond_sized(b"fresh"))
    client = client_for(server, timeout_s=2.0)
    assert body_of(client, "POST") == b"data: 1\n\n"
    assert closed.wait(2)
    time.sleep(0.05)  # let the FIN/RST reach the client's socket
    response = client.request("POST", "/again", body=b"{}")
    assert response.status == 200
    assert response.read() == b"fresh"
    assert client.connections_opened == 2
    assert server.peers[1].requests[0].startswith(b"POST /again HTTP/1.1\r\n")
    assert response.connect_ms is not None  # timed on the new connection


def test_stale_retry_happens_only_once(serve: Callable[..., ScriptedServer]) -> None:
    def answer_then_close(peer: Peer) -> None:
        peer.read_request()
        peer.send(head("200 OK", "Content-Length: 2") + b"ok")
        peer.close()

    def close_without_answer(peer: Peer) -> None:
        peer.read_request()
        peer.close()

    server = serve(answer_then_close, close_without_answer, close_without_answer)
    client = client_for(server)
    assert body_of(client) == b"ok"
    time.sleep(0.05)
    with pytest.raises(TransportError) as info:
        client.request("GET", "/")
    assert info.value.error_class is ErrorClass.STREAM_INCOMPLETE
    assert client.connections_opened == 2
    assert len(server.peers) == 2
    assert client.last_connection == "stale"  # the failed request still says how it went


def test_a_pooled_connection_the_server_closed_is_seen_before_sending(
    serve: Callable[..., ScriptedServer],
) -> None:
    """The peek finds the FIN: the request goes out once, on a new connection."""

    def answer_then_close(peer: Peer) -> None:
        peer.read_request()
        peer.send(head("200 OK", "Content-Length: 3", "Connection: keep-alive") + b"one")
        peer.close()

    server = serve(answer_then_close, respond_sized(b"two"))
    client = client_for(server)
    first = client.request("GET", "/")
    assert first.read() == b"one" and client.last_connection == "new"
    time.sleep(0.05)  # the FIN reaches the client
    second = client.request("GET", "/second")
    assert second.read() == b"two" and client.last_connection == "stale"
    assert [len(peer.requests) for peer in server.peers] == [1, 1]


def test_a_connection_closed_while_the_request_was_sent_is_resent_once(
    serve: Callable[..., ScriptedServer],
) -> None:
    def answer_then_drop_the_next(peer: Peer) -> None:
        peer.read_request()
        peer.send(head("200 OK", "Content-Length: 3") + b"one")
        peer.read_request()  # taken in, never answered: the server went away
        peer.close()

    server = serve(answer_then_drop_the_next, respond_sized(b"two"))
    client = client_for(server)
    first = client.request("GET", "/")
    assert first.read() == b"one" and client.last_connection == "new"
    response = client.request("POST", "/again", body=b"{}")
    assert response.read() == b"two" and client.last_connection == "stale"
    assert [len(peer.requests) for peer in server.peers] == [2, 1]


@pytest.mark.parametrize(("timeout", "reused"), [("5", True), ("1", False)])
def test_idle_connections_are_not_reused_near_the_announced_keep_alive_timeout(
    serve: Callable[..., ScriptedServer], timeout: str, reused: bool
) -> None:
    def handler(peer: Peer) -> None:
        for body in (b"one", b"two"):
            if not peer.read_request():
                return
            peer.send(head("200 OK", "Content-Length: 3", f"Keep-Alive: timeout={timeout}") + body)
        peer.hang()

    server = serve(handler, handler)
    client = client_for(server)
    assert body_of(client) == b"one"
    second = client.request("GET", "/")
    assert client.last_connection == ("reused" if reused else "expired")
    assert second.read() == (b"two" if reused else b"one")
    assert client.connections_opened == (1 if reused else 2)


# --------------------------------------------------------------------------- failures


def test_connection_refused_is_connect() -> None:
    with socket.socket() as bound:  # bound but not listening: the port refuses connections
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        client = HttpClient(f"http://127.0.0.1:{port}", timeout_s=TIMEOUT_S)
        with pytest.raises(TransportError) as info:
            client.request("GET", "/")
    assert info.value.error_class is ErrorClass.CONNECT
    assert client.connections_opened == 0


def test_server_that_never_answers_times_out(serve: Callable[..., ScriptedServer]) -> None:
    def silent(peer: Peer) -> None:
        peer.read_request()
        peer.hang()

    server = serve(silent)
    client = client_for(server)
    t0 = time.perf_counter()
    with pytest.raises(TransportError) as info:
        client.request("POST", "/", body=b"{}")
    elapsed = time.perf_counter() - t0
    assert info.value.error_class is ErrorClass.TIMEOUT
    assert TIMEOUT_S - 0.01 <= elapsed < TIMEOUT_S + 0.15


def test_stall_mid_body_times_out_at_the_request_deadline(
    serve: Callable[..., ScriptedServer],
) -> None:
    def stall(peer: Peer) -> None:
        peer.read_request()
        peer.send(head("200 OK", CHUNKED) + chunk(b"first"))
        peer.hang()

    server = serve(stall)
    client = client_for(server)
    t0 = time.perf_counter()
    response = client.request("GET", "/")
    pieces = []
    with pytest.raises(TransportError) as info:
        for data, _ in response.chunks():
            pieces.append(data)
    elapsed = time.perf_counter() - t0
    assert pieces == [b"first"]
    assert info.value.error_class is ErrorClass.TIMEOUT
    assert TIMEOUT_S - 0.01 <= elapsed < TIMEOUT_S + 0.15


def _expect_body_error(server: ScriptedServer) -> tuple[list[bytes], TransportError]:
    response = client_for(server).request("GET", "/")
    pieces: list[bytes] = []
    with pytest.raises(TransportError) as info:
        for data, _ in response.chunks():
            pieces.append(data)
    return pieces, info.value


def test_half_chunked_body_then_close_is_incomplete(serve: Callable[..., ScriptedServer]) -> None:
    def cut(peer: Peer) -> None:
        peer.read_request()
        peer.send(head("200 OK", CHUNKED) + chunk(b"data: 1\n\n"))
        peer.send(b"20\r\npartial", 0.01)  # announces 32 bytes, sends 7
        peer.close()

    pieces, error = _expect_body_error(serve(cut))
    assert error.error_class is ErrorClass.STREAM_INCOMPLETE
    assert b"".join(pieces) == b"data: 1\n\npartial"


def test_chunked_body_without_last_chunk_is_incomplete(
    serve: Callable[..., ScriptedServer],
) -> None:
    def cut(peer: Peer) -> None:
        peer.read_request()
        peer.send(head("200 OK", CHUNKED) + chunk(b"a") + chunk(b"b"))
        peer.close()

    pieces, error = _expect_body_error(serve(cut))
    assert error.error_class is ErrorClass.STREAM_INCOMPLETE
    assert b"".join(pieces) == b"ab"


def test_short_content_length_body_is_incomplete(serve: Callable[..., ScriptedServer]) -> None:
    def cut(peer: Peer) -> None:
        peer.read_request()
        peer.send(head("200 OK", "Content-Length: 100") + b"only this")
        peer.close()

    pieces, error = _expect_body_error(serve(cut))
    assert error.error_class is ErrorClass.STREAM_INCOMPLETE
    assert b"".join(pieces) == b"only this"


@pytest.mark.parametrize(
    "sent",
    [b"", b"HTTP/1.1 200 OK\r\nContent-Le"],
    ids=["nothing", "half-a-head"],
)
def test_close_before_headers_complete_is_incomplete(
    serve: Callable[..., ScriptedServer], sent: bytes
) -> None:
    def cut(peer: Peer) -> None:
        peer.read_request()
        if sent:
            peer.send(sent)
        peer.close()

    server = serve(cut)
    client = client_for(server)
    with pytest.raises(TransportError) as info:
        client.request("GET", "/")
    assert info.value.error_class is ErrorClass.STREAM_INCOMPLETE
    assert client.connections_opened == 1  # a fresh connection is not retried


@pytest.mark.parametrize("size_line", [b"zz\r\n", b"5\r\nhelloXX\r\n", b"1" + b"0" * 1100])
def test_garbage_chunk_framing_is_malformed(
    serve: Callable[..., ScriptedServer], size_line: bytes
) -> None:
    def garbage(peer: Peer) -> None:
        peer.read_request()
        peer.send(head("200 OK", CHUNKED) + chunk(b"good"))
        peer.send(size_line, 0.01)
        peer.hang()

    pieces, error = _expect_body_error(serve(garbage))
    assert error.error_class is ErrorClass.STREAM_MALFORMED
    assert pieces[0] == b"good"


@pytest.mark.parametrize(
    "status_line",
    [b"garbage", b"HTTP/1.1 abc OK", b"ICY 200 OK", b"HTTP/1.1", b""],
)
def test_bad_status_line_is_malformed(
    serve: Callable[..., ScriptedServer], status_line: bytes
) -> None:
    def bad(peer: Peer) -> None:
        peer.read_request()
        peer.send(status_line + b"\r\nContent-Length: 0\r\n\r\n")
        peer.hang()

    server = serve(bad)
    with pytest.raises(TransportError) as info:
        client_for(server).request("GET", "/")
    assert info.value.error_class is ErrorClass.STREAM_MALFORMED


def test_oversized_response_head_is_malformed(serve: Callable[..., ScriptedServer]) -> None:
    def huge(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"p" * 70_000)
        peer.hang()

    with pytest.raises(TransportError) as info:
        client_for(serve(huge)).request("GET", "/")
    assert info.value.error_class is ErrorClass.STREAM_MALFORMED


def test_bad_status_line_closes_the_connection(serve: Callable[..., ScriptedServer]) -> None:
    eof = threading.Event()

    def bad(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"garbage\r\n\r\n")
        if peer.saw_eof(0.5):
            eof.set()

    server = serve(bad)
    with pytest.raises(TransportError) as info:  # the caller keeps the error (e.g. logs it)
        client_for(server).request("GET", "/")
    server.threads[-1].join(2)
    assert info.value.error_class is ErrorClass.STREAM_MALFORMED
    assert eof.is_set(), "client left the connection open after a malformed response"


@pytest.mark.parametrize("value", ["abc", "", "-5"])
def test_bad_content_length_is_malformed(serve: Callable[..., ScriptedServer], value: str) -> None:
    def bad(peer: Peer) -> None:
        peer.read_request()
        peer.send(head("200 OK", f"Content-Length: {value}") + b"hello")
        peer.hang()

    response = client_for(serve(bad)).request("GET", "/")
    with pytest.raises(TransportError) as info:
        response.read()
    assert info.value.error_class is ErrorClass.STREAM_MALFORMED


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_bodyless_status_has_empty_body(serve: Callable[..., ScriptedServer], status: str) -> None:
    def bodyless(peer: Peer) -> None:
        peer.read_request()
        peer.send(head(status))
        peer.hang()

    response = client_for(serve(bodyless)).request("GET", "/")
    assert response.read() == b""


# --------------------------------------------------------------------------- request bytes


def _parse_request(raw: bytes) -> tuple[str, dict[str, str], list[str], bytes]:
    head_bytes, _, body = raw.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    names = [line.split(":", 1)[0] for line in lines[1:]]
    headers = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in lines[1:]}
    return lines[0], headers, names, body


def test_request_bytes(serve: Callable[..., ScriptedServer]) -> None:
    server = serve(keep_answering(b"1", b"2"))
    client = HttpClient(
        f"{server.url}/v1/",
        timeout_s=TIMEOUT_S,
        headers={"Authorization": "Bearer tok", "X-Client": "client-level"},
    )
    body = b'{"model":"m","stream":true}'
    body_of_post = client.request(
        "POST", "/chat/completions", body=body, headers={"X-Client": "per-request", "X-Req": "7"}
    )
    body_of_post.read()
    client.request("GET", "/models").read()

    line, headers, names, sent_body = _parse_request(server.peers[0].requests[0])
    assert line == "POST /v1/chat/completions HTTP/1.1"
    assert headers["host"] == f"127.0.0.1:{server.port}"
    assert headers["content-length"] == str(len(body))
    assert headers["content-type"] == "application/json"
    assert headers["authorization"] == "Bearer tok"
    assert headers["x-client"] == "per-request"
    assert headers["x-req"] == "7"
    assert headers["accept-encoding"] == "identity"
    assert headers["user-agent"].startswith("loadprofile/")
    assert len(names) == len({n.lower() for n in names}), "a header was sent twice"
    assert sent_body == body

    line, headers, _, sent_body = _parse_request(server.peers[0].requests[1])
    assert line == "GET /v1/models HTTP/1.1"
    assert "content-length" not in headers and "content-type" not in headers
    assert headers["x-client"] == "client-level"
    assert sent_body == b""


def test_request_with_explicit_content_type_and_empty_body(
    serve: Callable[..., ScriptedServer],
) -> None:
    server = serve(keep_answering(b"1"))
    client = client_for(server)
    client.request("PUT", "/x", body=b"", headers={"Content-Type": "text/plain"}).read()
    line, headers, _, _ = _parse_request(server.peers[0].requests[0])
    assert line == "PUT /x HTTP/1.1"
    assert headers["content-length"] == "0"
    assert headers["content-type"] == "text/plain"


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "base_path", "host_header"),
    [
        ("http://example.com", "http", "example.com", 80, "", "example.com"),
        ("http://example.com:80/", "http", "example.com", 80, "", "example.com"),
        ("http://example.com:8000/v1/", "http", "example.com", 8000, "/v1", "example.com:8000"),
        ("https://api.example.com/v1", "https", "api.example.com", 443, "/v1", "api.example.com"),
        ("https://h:8443/a/b/", "https", "h", 8443, "/a/b", "h:8443"),
        ("http://127.0.0.1:8080", "http", "127.0.0.1", 8080, "", "127.0.0.1:8080"),
        ("http://[::1]:8080/v1", "http", "::1", 8080, "/v1", "[::1]:8080"),
        ("http://[::1]", "http", "::1", 80, "", "[::1]"),
        ("https://[2001:db8::1]:443", "https", "2001:db8::1", 443, "", "[2001:db8::1]"),
        ("HTTP://Example.COM:81", "http", "example.com", 81, "", "example.com:81"),
    ],
)
def test_origin_from_url(
    url: str, scheme: str, host: str, port: int, base_path: str, host_header: str
) -> None:
    origin = Origin.from_url(url)
    assert (origin.scheme, origin.host, origin.port, origin.base_path) == (
        scheme,
        host,
        port,
        base_path,
    )
    assert origin.host_header == host_header


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com",
        "ws://example.com",
        "example.com:8000",
        "localhost",
        "",
        "http://",
        "//example.com",
        "file:///etc/passwd",
        "http://example.com:99999",
    ],
)
def test_origin_rejects_non_http_urls(url: str) -> None:
    with pytest.raises(ValueError):
        Origin.from_url(url)
    with pytest.raises(ValueError):
        HttpClient(url, timeout_s=1.0)
