"""The mock target as a real process on loopback, spoken to over a raw socket.

A raw HTTP/1.1 client (no aiohttp, no locust) lets the tests see what a load tester sees:
each HTTP chunk with its receive time, the chunked terminator or its absence, and whether
the server closed the connection.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

API_KEY = "sk-test"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
READY_RE = re.compile(r"^loadprofile mock listening on http://127\.0\.0\.1:(\d+) models=(\S+)$")
PROFILES_TOML = """
[models.one-slot]
base = "mock-fixed"
max_concurrency = 1
max_queue = 1

[models.one-slot-unbounded]
base = "mock-fixed"
max_concurrency = 1

[models.always-429]
base = "mock-fixed"
error_429 = 1.0

[models.always-500]
base = "mock-fixed"
error_500 = 1.0

[models.cut]
base = "mock-fixed"
truncate = 1.0

[models.garbled]
base = "mock-fixed"
malformed = 1.0

[models.closer]
base = "mock-fixed"
close_after_stream = true

[models.every-third-slow]
base = "mock-fixed"
ttft_base_ms = 5.0
itl_ms = 1.0
slow_every = 3
slow_ms = 60.0
"""


@dataclass
class Mock:
    proc: subprocess.Popen[str]
    port: int
    models: list[str]


def start_mock(tmp_path: Path, *args: str) -> Mock:
    """Start `python -m loadprofile.mock` and wait for its ready line."""
    stderr = (tmp_path / f"mock-{time.monotonic_ns()}.err").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "loadprofile.mock", "--port", "0", "--quiet", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=15):
            proc.kill()
            pytest.fail("mock did not print its ready line within 15 s")
    line = proc.stdout.readline().rstrip("\n")
    match = READY_RE.match(line)
    if match is None:
        proc.kill()
        pytest.fail(f"unexpected ready line {line!r}")
    return Mock(proc, int(match.group(1)), match.group(2).split(","))


def stop_mock(mock: Mock) -> int:
    if mock.proc.poll() is None:
        mock.proc.send_signal(signal.SIGTERM)
        try:
            mock.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            mock.proc.kill()
            mock.proc.wait()
    return mock.proc.returncode


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mock]:
    tmp = tmp_path_factory.mktemp("mock")
    (tmp / "profiles.toml").write_text(PROFILES_TOML)
    server = start_mock(
        tmp, "--record", "--api-key", API_KEY, "--profiles", str(tmp / "profiles.toml")
    )
    try:
        yield server
    finally:
        code = stop_mock(server)
    # Aborted, malformed and rejected streams must not leave tracebacks in the server log.
    assert code == 0
    assert "Traceback" not in "".join(p.read_text() for p in tmp.glob("mock-*.err"))


class Conn:
    """A minimal HTTP/1.1 client over one socket that exposes chunk boundaries and timing."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("server closed the connection")
        self.buf += data

    def _until(self, sep: bytes) -> bytes:
        while sep not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(sep)
        return head

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> int:
        """Send one request; returns its perf_counter_ns send time."""
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        lines = [
            f"{method} {path} HTTP/1.1",
            "Host: 127.0.0.1",
            f"Content-Length: {len(payload)}",
            "Content-Type: application/json",
        ]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        sent = time.perf_counter_ns()
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        return sent

    def head(self) -> tuple[int, dict[str, str]]:
        lines = self._until(b"\r\n\r\n").decode().split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}

    def body(self, headers: dict[str, str]) -> bytes:
        return self._take(int(headers["content-length"]))

    def chunk(self) -> bytes | None:
        """The next HTTP chunk's data, or None at the chunked terminator."""
        size = int(self._until(b"\r\n"), 16)
        data = self._take(size + 2)
        assert data.endswith(b"\r\n")
        return data[:-2] if size else None

    def is_closed(self) -> bool:
        self.sock.settimeout(1)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True


@dataclass
class Stream:
    status: int
    headers: dict[str, str]
    sent_ns: int
    events: list[tuple[int, bytes]]  # (receive time, chunk data)
    complete: bool  # the chunked terminator arrived
    error: str | None = None
    http_chunks: int = 0

    def add(self, received_ns: int, chunk: bytes) -> None:
        """Split one HTTP chunk into its SSE events; an event never spans two chunks."""
        assert chunk.endswith(b"\n\n"), chunk
        self.http_chunks += 1
        for event in chunk.split(b"\n\n")[:-1]:
            self.events.append((received_ns, event + b"\n\n"))

    def payloads(self) -> list[Any]:
        out: list[Any] = []
        for _, data in self.events:
            assert data.startswith(b"data: ") and data.endswith(b"\n\n"), data
            text = data[6:-2].decode()
            out.append(text if text == "[DONE]" else json.loads(text))
        return out


def read_stream(conn: Conn, sent_ns: int) -> Stream:
    status, headers = conn.head()
    if "content-length" in headers:
        return Stream(status, headers, sent_ns, [(0, conn.body(headers))], True)
    stream = Stream(status, headers, sent_ns, [], False)
    try:
        while (data := conn.chunk()) is not None:
            stream.add(time.perf_counter_ns(), data)
        stream.complete = True
    except (EOFError, ConnectionResetError) as exc:
        stream.error = type(exc).__name__
    return stream


def chat(model: str, stream: bool = True, usage: bool = False, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "stream": stream,
        "messages": [{"role": "user", "content": f"Say something, {time.monotonic_ns()}."}],
        **extra,
    }
    if usage:
        body["stream_options"] = {"include_usage": True}
    return body


def post(
    port: int, body: Any, headers: dict[str, str] | None = None, request_id: str | None = None
) -> Stream:
    conn = Conn(port)
    try:
        hdrs = {**AUTH, **(headers or {})}
        if request_id:
            hdrs["X-Request-Id"] = request_id
        return read_stream(conn, conn.send("POST", "/v1/chat/completions", body, hdrs))
    finally:
        conn.close()


def get_json(port: int, path: str, method: str = "GET") -> tuple[int, Any]:
    conn = Conn(port)
    try:
        conn.send(method, path, headers=AUTH)
        status, headers = conn.head()
        return status, json.loads(conn.body(headers))
    finally:
        conn.close()


def record_of(port: int, request_id: str) -> dict[str, Any]:
    status, records = get_json(port, f"/mock/requests?request_id={request_id}")
    assert status == 200
    found = [r for r in records if r["request_id"] == request_id]
    assert len(found) == 1
    return found[0]


def test_models_and_health(mock: Mock) -> None:
    assert mock.models[:3] == ["mock-small", "mock-large", "mock-fixed"]
    status, body = get_json(mock.port, "/v1/models")
    assert status == 200 and body["object"] == "list"
    assert [m["id"] for m in body["data"]] == mock.models
    assert body["data"][0] == {
        "id": "mock-small",
        "object": "model",
        "created": 0,
        "owned_by": "loadprofile-mock",
    }
    assert get_json(mock.port, "/health")[0] == 200


def test_stream_event_sequence(mock: Mock) -> None:
    s = post(mock.port, chat("mock-fixed", usage=True), request_id="seq-1")
    assert s.status == 200 and s.complete
    assert s.headers["content-type"].startswith("text/event-stream")
    assert s.headers["transfer-encoding"] == "chunked"
    events = s.payloads()
    role, content, finish = events[0], events[1:21], events[21]
    usage, done = events[22], events[23:]
    assert role["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [e["choices"][0]["delta"].keys() for e in content] == [{"content"}] * 20
    texts = [e["choices"][0]["delta"]["content"] for e in content]
    assert not texts[0].startswith(" ") and all(t.strip() for t in texts)
    assert finish["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 20
    assert done == ["[DONE]"]
    # Each content token is its own HTTP chunk; the closing events share the last one.
    assert s.http_chunks == 1 + 20 + 1
    chunks = events[:23]
    assert {e["id"] for e in chunks} == {role["id"]} and role["id"].startswith("chatcmpl-")
    assert {e["object"] for e in chunks} == {"chat.completion.chunk"}
    assert {e["model"] for e in chunks} == {"mock-fixed"}


def test_no_usage_chunk_unless_asked_and_max_tokens_cuts(mock: Mock) -> None:
    events = post(mock.port, chat("mock-fixed", max_tokens=5)).payloads()
    assert len(events) == 1 + 5 + 1 + 1
    assert events[-2]["choices"][0]["finish_reason"] == "length"


def test_stream_timing_matches_fixed_profile(mock: Mock) -> None:
    s = post(mock.port, chat("mock-fixed"), request_id="timing-1")
    rec = record_of(mock.port, "timing-1")
    assert rec["status"] == 200 and rec["output_tokens"] == 20 and rec["injected"] is None
    start = rec["service_start_ns"]
    late_ms = [(t - start) / 1e6 - (50 + 10 * i) for i, t in enumerate(rec["token_ns"])]
    # Never early; typically < 1 ms late; a busy shared CI core may delay single wake-ups.
    assert min(late_ms) >= -0.1 and max(late_ms) < 15, late_ms
    assert statistics.median(late_ms) < 3, late_ms
    role_rx, first_rx = s.events[0][0], s.events[1][0]
    # The role chunk comes before the TTFT delay, on arrival; content only after it.
    assert (role_rx - s.sent_ns) / 1e6 < 25
    assert (first_rx - role_rx) / 1e6 > 40
    # Same clock in both processes: the client receives each chunk around the write's
    # completion (the receiver may even wake a few µs before the writer takes its stamp).
    for (rx, _), tx in zip(s.events[1:21], rec["token_ns"], strict=True):
        assert -1 < (rx - tx) / 1e6 < 10


def test_non_streaming_shape(mock: Mock) -> None:
    s = post(mock.port, chat("mock-fixed", stream=False), request_id="unary-1")
    assert s.status == 200 and s.headers["content-type"].startswith("application/json")
    body = json.loads(s.events[0][1])
    assert body["object"] == "chat.completion" and body["model"] == "mock-fixed"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == 20
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + 20
    rec = record_of(mock.port, "unary-1")
    assert (rec["end_ns"] - rec["service_start_ns"]) / 1e6 >= 50 + 19 * 10


@pytest.mark.parametrize(
    ("raw", "headers", "status", "code"),
    [
        (json.dumps(chat("nope")).encode(), AUTH, 404, "model_not_found"),
        (b"{not json", AUTH, 400, "invalid_json"),
        (json.dumps({"model": "mock-fixed"}).encode(), AUTH, 400, "invalid_messages"),
        (json.dumps(chat("mock-fixed")).encode(), {}, 401, "invalid_api_key"),
        (
            json.dumps(chat("mock-fixed")).encode(),
            {"Authorization": "Bearer x"},
            401,
            "invalid_api_key",
        ),
        (json.dumps(chat("always-429")).encode(), AUTH, 429, "rate_limit_exceeded"),
        (json.dumps(chat("always-500")).encode(), AUTH, 500, "internal_error"),
    ],
)
def test_error_answers(
    mock: Mock, raw: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    conn = Conn(mock.port)
    try:
        conn.send("POST", "/v1/chat/completions", raw=raw, headers=headers)
        got, hdrs = conn.head()
        error = json.loads(conn.body(hdrs))["error"]
    finally:
        conn.close()
    assert got == status
    assert error["code"] == code and error["message"] and error["type"]


def test_models_endpoint_needs_the_key(mock: Mock) -> None:
    conn = Conn(mock.port)
    try:
        conn.send("GET", "/v1/models")
        assert conn.head()[0] == 401
    finally:
        conn.close()


def open_stream(port: int, model: str) -> tuple[Conn, int, dict[str, str]]:
    """Start a stream and read up to its role chunk."""
    conn = Conn(port)
    sent = conn.send("POST", "/v1/chat/completions", chat(model), AUTH)
    status, headers = conn.head()
    assert status == 200
    assert b'"role":"assistant"' in (conn.chunk() or b"")
    return conn, sent, headers


def test_full_queue_answers_429_before_any_stream(mock: Mock) -> None:
    a, _, _ = open_stream(mock.port, "one-slot")  # holds the slot
    b, _, _ = open_stream(mock.port, "one-slot")  # waits in the queue of 1
    try:
        c = post(mock.port, chat("one-slot"))
        assert c.status == 429 and c.headers["content-type"].startswith("application/json")
        assert json.loads(c.events[0][1])["error"]["code"] == "queue_full"
        for conn in (a, b):
            stream = read_stream_rest(conn)
            assert stream.complete and len(stream.events) == 20 + 2
    finally:
        a.close()
        b.close()
    stats = get_json(mock.port, "/mock/stats")[1]["one-slot"]
    assert stats["rejected_429"] == 1 and stats["max_in_flight_seen"] == 1
    assert stats["max_queue_seen"] == 1 and stats["in_flight"] == 0


def read_stream_rest(conn: Conn) -> Stream:
    stream = Stream(200, {}, 0, [], False)
    while (data := conn.chunk()) is not None:
        stream.add(time.perf_counter_ns(), data)
    stream.complete = True
    return stream


def test_burst_beyond_slots_waits_and_ttft_grows(mock: Mock) -> None:
    a, a_sent, _ = open_stream(mock.port, "one-slot-unbounded")
    b, b_sent, _ = open_stream(mock.port, "one-slot-unbounded")
    try:
        a_stream, b_stream = read_stream_rest(a), read_stream_rest(b)
    finally:
        a.close()
        b.close()
    a_ttft = (a_stream.events[0][0] - a_sent) / 1e6
    b_ttft = (b_stream.events[0][0] - b_sent) / 1e6
    # b waits for a's whole generation (50 + 19 * 10 ms) before its own 50 ms TTFT.
    assert 45 <= a_ttft < 90
    assert b_ttft >= 50 + 190 + 50 - 5


def test_disconnects_free_slot_and_queue_place(mock: Mock) -> None:
    a, _, _ = open_stream(mock.port, "one-slot")  # holds the slot
    b, _, _ = open_stream(mock.port, "one-slot")  # waits in the queue of 1
    assert a.chunk() is not None  # a is past its TTFT, mid-stream
    b.close()
    a.close()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        stats = get_json(mock.port, "/mock/stats")[1]["one-slot"]
        if stats["in_flight"] == stats["queued"] == 0:
            break
        time.sleep(0.02)
    assert stats["in_flight"] == stats["queued"] == 0 and stats["disconnected"] >= 2
    # Both places are free again: a new stream is served at once, not queued or refused.
    s = post(mock.port, chat("one-slot"))
    assert s.status == 200 and s.complete
    assert (s.events[1][0] - s.sent_ns) / 1e6 < 50 + 40


def test_truncate_cuts_without_terminator(mock: Mock) -> None:
    s = post(mock.port, chat("cut", usage=True), request_id="cut-1")
    assert s.status == 200 and not s.complete and s.error is not None
    events = s.payloads()
    assert "[DONE]" not in events
    assert all(e["choices"] and e["choices"][0]["finish_reason"] is None for e in events)
    rec = record_of(mock.port, "cut-1")
    assert rec["injected"] == "truncate"
    assert 1 <= rec["output_tokens"] == len(events) - 1 < 20


def test_malformed_event_then_normal_end(mock: Mock) -> None:
    s = post(mock.port, chat("garbled", usage=True), request_id="bad-1")
    assert s.status == 200 and s.complete
    bad = []
    for i, (_, data) in enumerate(s.events):
        try:
            json.loads(data[6:-2]) if data != b"data: [DONE]\n\n" else None
        except json.JSONDecodeError:
            bad.append(i)
    assert len(bad) == 1 and 2 <= bad[0] <= 20
    assert s.events[-1][1] == b"data: [DONE]\n\n"
    assert record_of(mock.port, "bad-1")["injected"] == "malformed"


def test_non_streaming_faults(mock: Mock) -> None:
    conn = Conn(mock.port)
    try:
        conn.send("POST", "/v1/chat/completions", chat("cut", stream=False), AUTH)
        status, headers = conn.head()
        assert status == 200
        with pytest.raises((EOFError, ConnectionResetError)):
            conn.body(headers)  # fewer bytes than Content-Length, then the connection ends
    finally:
        conn.close()
    s = post(mock.port, chat("garbled", stream=False))
    assert s.status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(s.events[0][1])


def test_close_after_stream(mock: Mock) -> None:
    conn = Conn(mock.port)
    try:
        s = read_stream(conn, conn.send("POST", "/v1/chat/completions", chat("closer"), AUTH))
        assert s.complete and s.headers.get("connection", "").lower() == "close"
        assert conn.is_closed()
    finally:
        conn.close()


def test_keep_alive_by_default(mock: Mock) -> None:
    conn = Conn(mock.port)
    try:
        for _ in range(2):
            s = read_stream(
                conn,
                conn.send("POST", "/v1/chat/completions", chat("mock-fixed", max_tokens=2), AUTH),
            )
            assert s.complete and s.status == 200
    finally:
        conn.close()


def test_copies_of_a_request_are_counted(mock: Mock) -> None:
    body = chat("mock-fixed", max_tokens=1)
    for i in range(2):
        post(mock.port, body, request_id=f"copy-{i}")
    assert [record_of(mock.port, f"copy-{i}")["repeat"] for i in range(2)] == [0, 1]


def test_every_nth_request_is_slow_by_its_arrival(mock: Mock) -> None:
    """slow_every: exactly every n-th request the model receives waits slow_ms more for its
    first token (a tail of known size for benchmarks), whatever the request says."""
    ttfts = []
    for i in range(6):
        post(mock.port, chat("every-third-slow", max_tokens=2), request_id=f"slow-{i}")
        rec = record_of(mock.port, f"slow-{i}")
        ttfts.append((rec["first_content_ns"] - rec["service_start_ns"]) / 1e6)
    slow = [i for i, ms in enumerate(ttfts) if ms >= 65.0]
    assert slow == [2, 5], ttfts
    assert all(ms < 50.0 for i, ms in enumerate(ttfts) if i not in slow), ttfts


def test_records_can_be_cleared(mock: Mock) -> None:
    post(mock.port, chat("mock-fixed", max_tokens=1))
    assert len(get_json(mock.port, "/mock/requests?last=1")[1]) == 1
    assert get_json(mock.port, "/mock/requests?last=x")[0] == 400
    assert get_json(mock.port, "/mock/requests", method="DELETE")[0] == 200
    assert get_json(mock.port, "/mock/requests")[1] == []


def test_sigterm_mid_stream_exits_zero_without_traceback(tmp_path: Path) -> None:
    server = start_mock(tmp_path, "--models", "mock-fixed")
    try:
        assert server.models == ["mock-fixed"]
        conn, _, _ = open_stream(server.port, "mock-fixed")
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=5) == 0
        conn.close()
    finally:
        stop_mock(server)
    errors = "".join(p.read_text() for p in tmp_path.glob("mock-*.err"))
    assert "Traceback" not in errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "--port"),
        (["--models", "mock-fixed,nope"], "nope"),
        (["--profiles", "/nonexistent/p.toml"], "cannot read profile file"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loadprofile.mock", *args],
        capture_output=True,
        text=True,
        timeout=15,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_port_in_use_exits_1_with_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "loadprofile.mock", "--port", str(port), "--quiet"],
            capture_output=True,
            text=True,
            timeout=15,
        )
    assert proc.returncode == 1 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0]


@pytest.fixture(scope="module")
def freezable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mock]:
    """A mock of its own: a freeze stops the whole server, so none is shared with others."""
    tmp = tmp_path_factory.mktemp("freezable")
    server = start_mock(tmp, "--record", "--api-key", API_KEY, "--models", "mock-fixed")
    try:
        yield server
    finally:
        code = stop_mock(server)
    assert code == 0
    assert "Traceback" not in "".join(p.read_text() for p in tmp.glob("mock-*.err"))


CHAT = "/v1/chat/completions"


def tagged(request_id: str) -> dict[str, str]:
    return {**AUTH, "X-Request-Id": request_id}


def lateness_ms(
    token_ns: list[int], start_ns: int, held_ns: int = 0, held_after: int = 20
) -> list[float]:
    """How late mock-fixed wrote each token: due 50 + 10 i ms after its service start,
    and `held_ns` later still after index `held_after`."""
    return [
        (t - start_ns - (held_ns if i > held_after else 0)) / 1e6 - (50 + 10 * i)
        for i, t in enumerate(token_ns)
    ]


def freeze_server(port: int, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
    conn = Conn(port)
    try:
        conn.send("POST", "/mock/freeze", body, raw=raw)
        status, headers = conn.head()
        return status, json.loads(conn.body(headers))
    finally:
        conn.close()


def test_freeze_holds_new_requests_then_serves_them_on_time(freezable: Mock) -> None:
    port = freezable.port
    before = get_json(port, "/mock/stats")[1]["mock-fixed"]
    first = freeze_server(port, {"seconds": 0.6})[1]
    shorter = freeze_server(port, {"seconds": 0.2})[1]  # would end sooner: no change
    for key in ("frozen_from_ns", "frozen_until_ns"):
        assert shorter[key] == first[key]
    status, frozen = freeze_server(port, {"seconds": 1})  # extends the same stall
    assert status == 200 and frozen["frozen_from_ns"] == first["frozen_from_ns"]
    since, until = frozen["frozen_from_ns"], frozen["frozen_until_ns"]
    assert 0.9e9 < until - time.perf_counter_ns() < 1e9
    unix_span = frozen["frozen_until_unix"] - frozen["frozen_from_unix"]
    assert abs(unix_span - (until - since) / 1e9) < 1e-3
    left_s = (until - time.perf_counter_ns()) / 1e9
    assert abs(frozen["frozen_until_unix"] - time.time() - left_s) < 0.05
    assert get_json(port, "/health")[0] == 200  # only chat requests are held
    streamed, unary = Conn(port), Conn(port)
    try:
        sent = streamed.send("POST", CHAT, chat("mock-fixed"), tagged("frozen-stream"))
        unary.send("POST", CHAT, chat("mock-fixed", stream=False), tagged("frozen-unary"))
        with selectors.DefaultSelector() as sel:
            for conn in (streamed, unary):
                sel.register(conn.sock, selectors.EVENT_READ)
            # Not a byte, not even the headers, on either connection until the freeze ends.
            assert sel.select(timeout=(until - time.perf_counter_ns()) / 1e9 - 0.01) == []
        s = read_stream(streamed, sent)
        u = read_stream(unary, 0)
    finally:
        streamed.close()
        unary.close()
    assert s.status == 200 and s.complete and len(s.events) == 1 + 20 + 2
    assert u.status == 200 and json.loads(u.events[0][1])["usage"]["completion_tokens"] == 20
    role_rx, first_rx = s.events[0][0], s.events[1][0]
    assert role_rx >= until
    # Normal timing once the freeze is over: TTFT counts from its end.
    assert 50 <= (first_rx - until) / 1e6 < 50 + 40
    rec = record_of(port, "frozen-stream")
    assert rec["received_ns"] < until <= rec["role_ns"] and rec["service_start_ns"] >= until
    late_ms = lateness_ms(rec["token_ns"], rec["service_start_ns"])
    assert min(late_ms) >= -0.1 and max(late_ms) < 15, late_ms
    urec = record_of(port, "frozen-unary")
    assert urec["service_start_ns"] >= until
    assert (urec["end_ns"] - urec["service_start_ns"]) / 1e6 >= 50 + 19 * 10
    after = get_json(port, "/mock/stats")[1]["mock-fixed"]
    assert after["freezes"] == before["freezes"] + 3
    assert abs(after["frozen_s"] - before["frozen_s"] - (until - since) / 1e9) < 1e-6


def test_freeze_pauses_a_stream_in_progress_without_a_burst(freezable: Mock) -> None:
    port = freezable.port
    conn = Conn(port)
    try:
        sent = conn.send("POST", CHAT, chat("mock-fixed"), tagged("paused-stream"))
        s = Stream(*conn.head(), sent, [], False)
        for _ in range(1 + 3):  # the role chunk and 3 tokens: mid-stream
            s.add(time.perf_counter_ns(), conn.chunk() or b"")
        frozen = freeze_server(port, {"seconds": 0.5})[1]
        rest = read_stream_rest(conn)
    finally:
        conn.close()
    since, until = frozen["frozen_from_ns"], frozen["frozen_until_ns"]
    held_ns = until - since
    assert rest.complete and len(s.events) + len(rest.events) == 1 + 20 + 2
    rx = [t for t, _ in (s.events + rest.events)[1:21]]
    rec = record_of(port, "paused-stream")
    tx = rec["token_ns"]
    assert rec["status"] == 200 and len(tx) == 20
    assert not [t for t in tx if since <= t < until], "a token was written while frozen"
    j = max(i for i, t in enumerate(tx) if t < since)  # the last token before the freeze
    assert 2 <= j < 18, j
    # Server side: the rest of the schedule shifted by exactly the time frozen.
    late_ms = lateness_ms(tx, rec["service_start_ns"], held_ns, held_after=j)
    assert min(late_ms) >= -0.1 and max(late_ms) < 15, late_ms
    # Client side: one gap holds what was left of the freeze, then 10 ms gaps again.
    gap_ms = [(b - a) / 1e6 for a, b in pairwise(rx)]
    assert rx[j + 1] >= until and gap_ms[j] >= (until - rx[j]) / 1e6
    assert held_ns / 1e6 - 30 <= gap_ms[j] < held_ns / 1e6 + 10 + 40, gap_ms
    assert 7 <= statistics.median(gap_ms[j + 1 :]) <= 13, gap_ms
    for i in range(j + 2, 20):  # not a burst: each token on its own time after the freeze
        assert abs((rx[i] - rx[j + 1]) / 1e6 - 10 * (i - j - 1)) < 25, gap_ms


@pytest.mark.parametrize(
    "raw",
    [
        b'{"seconds": 0}',
        b'{"seconds": -0.5}',
        b'{"seconds": 61}',
        b'{"seconds": NaN}',
        b'{"seconds": Infinity}',
        b'{"seconds": "1"}',
        b'{"seconds": true}',
        b'{"seconds": 1, "model": "mock-fixed"}',
        b"{}",
        b"[1]",
        b"{not json",
        b"",
    ],
)
def test_freeze_rejects_bad_bodies(freezable: Mock, raw: bytes) -> None:
    status, body = freeze_server(freezable.port, raw=raw)
    assert status == 400
    assert body["error"]["code"] in ("invalid_freeze", "invalid_json"), body
    assert body["error"]["message"] and body["error"]["type"] == "invalid_request_error"
    start = time.perf_counter_ns()
    assert post(freezable.port, chat("mock-fixed", max_tokens=1)).status == 200
    assert (time.perf_counter_ns() - start) / 1e6 < 50 + 100  # not frozen
