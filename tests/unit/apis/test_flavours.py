"""The flavour registry and the one send path: endpoint, headers, TTFT and TTFVT per API."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from unittest.mock import patch

import gevent
import pytest

from loadprofile.client.apis.flavours import FLAVOURS, flavour, prompt_chars
from loadprofile.client.apis.openai_completions import render_prompt
from loadprofile.client.streaming import auth_headers, send_chat
from loadprofile.config.run_config import Target
from loadprofile.config.targets import API_FLAVOURS
from loadprofile.core.results import ErrorClass, RequestResult, keep_what_arrived

MS = 1_000_000
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


class FakeResponse:
    """What streaming.py reads of an HttpClient response: status, type, timed chunks."""

    def __init__(
        self,
        pieces: list[tuple[bytes, int]],
        status: int = 200,
        content_type: str = "text/event-stream",
    ) -> None:
        self.pieces, self.status, self.content_type = pieces, status, content_type
        self.connect_ms, self.tls_ms, self.connection = 0.5, None, "new"

    def chunks(self) -> Iterator[tuple[bytes, int]]:
        yield from self.pieces

    def deliver(self, sink: Callable[[bytes, int], None], driver: object = None) -> None:
        for data, t_ns in self.pieces:
            sink(data, t_ns)

    def read(self, limit: int | None = None) -> bytes:
        return b"".join(data for data, _ in self.pieces)

    def close(self) -> None:
        pass


class FakeClient:
    last_connection = "new"  # as HttpClient says how the request's connection came about
    body_driver = None

    def __init__(self, response: FakeResponse, sent_ns: int) -> None:
        self.response, self.sent_ns = response, sent_ns
        self.calls: list[tuple[str, str, Any]] = []

    def request(
        self, method: str, path: str, payload: bytes, headers: dict[str, str]
    ) -> FakeResponse:
        self.calls.append((method, path, json.loads(payload)))
        return self.response

    def redact(self, text: str) -> str:
        return text


def sse(*events: tuple[str | None, Any]) -> bytes:
    out = b""
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        body = data if isinstance(data, str) else json.dumps(data)
        out += f"{head}data: {body}\n\n".encode()
    return out


REAL_CLOCK = time.perf_counter_ns


def send(
    api: str, pieces: list[tuple[bytes, int]], sent: int, *, scheduled: int = 0, **response: Any
) -> tuple[RequestResult, FakeClient]:
    client = FakeClient(FakeResponse(pieces, **response), sent)
    body = flavour(api).request("m", MESSAGES, 16)
    result = RequestResult("m", "c", 1, 0.0, scheduled_ns=scheduled)
    # The request starts at ``sent`` (its first clock reading); the pieces' times follow it.
    clock = iter([sent])
    with patch.object(time, "perf_counter_ns", lambda: next(clock, None) or REAL_CLOCK()):
        return send_chat(client, body, result, api=api), client  # type: ignore[arg-type]


def chat_chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[None, Any]:
    return None, {"id": "c", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def test_the_registry_has_every_flavour_the_cli_offers() -> None:
    assert tuple(FLAVOURS) == API_FLAVOURS
    assert all(flavour(name) is FLAVOURS[name] for name in API_FLAVOURS)


def test_chat_reasoning_first_makes_ttfvt_later_than_ttft() -> None:
    t0 = time.perf_counter_ns()
    usage = {"prompt_tokens": 5, "completion_tokens": 3}
    pieces = [
        (sse(chat_chunk({"role": "assistant", "content": ""})), t0 + 2 * MS),
        (sse(chat_chunk({"reasoning_content": "hm"})), t0 + 10 * MS),
        (sse(chat_chunk({"content": "Hi"})), t0 + 30 * MS),
        (
            sse(
                chat_chunk({}, "stop"),
                (None, {"id": "c", "choices": [], "usage": usage}),
                (None, "[DONE]"),
            ),
            t0 + 31 * MS,
        ),
    ]
    result, client = send("chat", pieces, t0)
    assert client.calls[0][:2] == ("POST", "/chat/completions")  # under the API base
    assert result.ok and (result.ttft_ms, result.ttfvt_ms) == (10.0, 30.0)
    assert (result.output_tokens, result.tokens_estimated, result.content) == (3, False, "Hi")


def test_anthropic_thinking_then_text_timed_from_the_scheduled_start() -> None:
    t0 = time.perf_counter_ns()
    start = {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 9}}}
    pieces = [
        (sse(("message_start", start), ("ping", {"type": "ping"})), t0 + 1 * MS),
        (
            sse(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": 0,
                        "content_block": {"type": "thinking", "thinking": ""},
                    },
                ),
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "thinking_delta", "thinking": "hm"},
                    },
                ),
            ),
            t0 + 5 * MS,
        ),
        (
            sse(
                ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": 1,
                        "content_block": {"type": "text", "text": ""},
                    },
                ),
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 1,
                        "delta": {"type": "text_delta", "text": "Yes"},
                    },
                ),
            ),
            t0 + 20 * MS,
        ),
        (
            sse(
                (
                    "message_delta",
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": "end_turn"},
                        "usage": {"output_tokens": 2},
                    },
                ),
                ("message_stop", {"type": "message_stop"}),
            ),
            t0 + 21 * MS,
        ),
    ]
    result, client = send("anthropic", pieces, t0, scheduled=t0 - 2 * MS)
    assert client.calls[0][:2] == ("POST", "/messages")
    assert client.calls[0][2]["system"] == "Be brief."
    assert result.ok and (result.ttft_ms, result.ttfvt_ms) == (7.0, 22.0)
    assert (result.ttft_service_ms, result.start_delay_ms) == (5.0, 2.0)
    assert (result.prompt_tokens, result.output_tokens, result.finish_reason) == (9, 2, "stop")


def test_completions_text_is_first_token_and_first_visible_token() -> None:
    t0 = time.perf_counter_ns()
    chunk = {"id": "x", "choices": [{"index": 0, "text": "Hi", "finish_reason": "stop"}]}
    result, client = send("completions", [(sse((None, chunk), (None, "[DONE]")), t0 + 4 * MS)], t0)
    assert client.calls[0][1] == "/completions"
    assert result.ok and result.ttft_ms == result.ttfvt_ms == 4.0
    assert result.contract_notes == ("usage_missing",)


def test_a_reply_sent_whole_is_parsed_by_its_flavour() -> None:
    t0 = time.perf_counter_ns()
    body = {
        "type": "message",
        "content": [{"type": "text", "text": "Whole"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 4, "output_tokens": 1},
    }
    result, _ = send(
        "anthropic", [(json.dumps(body).encode(), t0)], t0, content_type="application/json"
    )
    assert result.ok and result.content == "Whole" and result.contract_notes == ("not_streamed",)
    assert result.ttfvt_ms == result.ttft_ms and (result.prompt_tokens, result.output_tokens) == (
        4,
        1,
    )


def test_a_broken_stream_is_a_classified_failure_not_an_exception() -> None:
    t0 = time.perf_counter_ns()
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    result, _ = send("anthropic", [(sse(("error", error)), t0 + MS)], t0)
    assert result.error_class is ErrorClass.HTTP_5XX and "Overloaded" in result.error
    assert result.ttft_ms is None and result.ttfvt_ms is None
    result, _ = send(
        "anthropic",
        [(b'{"type":"error","error":{"type":"rate_limit_error"}}', t0)],
        t0,
        status=429,
        content_type="application/json",
    )
    assert result.error_class is ErrorClass.HTTP_429


def test_auth_headers_follow_the_flavour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LP_KEY", "sk-1")

    def headers(api: str, env: str | None = "LP_KEY") -> dict[str, str]:
        return auth_headers(Target("m", "m", "http://h", env, api=api))

    assert headers("chat") == headers("completions") == {"Authorization": "Bearer sk-1"}
    assert headers("anthropic") == {"x-api-key": "sk-1", "anthropic-version": "2023-06-01"}
    assert headers("chat", None) == {}
    assert headers("anthropic", "LP_UNSET") == {"anthropic-version": "2023-06-01"}


def test_prompt_chars_count_what_each_body_sends() -> None:
    texts = sum(len(m["content"]) for m in MESSAGES)
    assert prompt_chars(flavour("chat").request("m", MESSAGES, 1)) == texts
    assert prompt_chars(flavour("anthropic").request("m", MESSAGES, 1)) == texts
    assert prompt_chars(flavour("completions").request("m", MESSAGES, 1)) == len(
        render_prompt(MESSAGES)
    )


def _content_pieces(t0: int, offsets_ms: list[int]) -> list[tuple[bytes, int]]:
    role = (sse(chat_chunk({"role": "assistant", "content": ""})), t0 + offsets_ms[0] * MS)
    words = [
        (sse(chat_chunk({"content": f"w{i} "})), t0 + at * MS)
        for i, at in enumerate(offsets_ms[1:])
    ]
    return [role, *words]


def test_ttft_and_e2e_run_from_the_request_start_before_its_connection_opened() -> None:
    """A new connection took 40 ms (connect_ms): the user waited for it too, so TTFT and
    E2E start before it, as AIPerf and vLLM's benchmark time them."""
    t0 = time.perf_counter_ns()
    done = (sse(chat_chunk({}, "stop"), (None, "[DONE]")), t0 + 70 * MS)
    pieces = [*_content_pieces(t0, [45, 50, 60]), done]
    response = FakeResponse(pieces)
    response.connect_ms = 40.0

    class NewConnection(FakeClient):
        def request(
            self, method: str, path: str, payload: bytes, headers: dict[str, str]
        ) -> FakeResponse:
            self.calls.append((method, path, json.loads(payload)))
            return response

    client = NewConnection(response, t0)
    result = RequestResult("m", "c", 1, 0.0)
    clock = iter([t0])
    with patch.object(time, "perf_counter_ns", lambda: next(clock, None) or REAL_CLOCK()):
        send_chat(client, flavour("chat").request("m", MESSAGES, 16), result)  # type: ignore[arg-type]
    assert result.ok and result.connect_ms == 40.0
    assert result.ttft_ms == result.ttft_service_ms == 50.0
    assert result.itl_ms == [10.0]
    assert result.sent_ns == t0  # E2E's start too (its end is the real clock's, here)


class _CutOff(FakeResponse):
    """Delivers its pieces, then the run's stop kills the request's greenlet."""

    def deliver(self, sink: Callable[[bytes, int], None], driver: object = None) -> None:
        super().deliver(sink, driver)
        raise gevent.GreenletExit


def test_a_request_cut_off_mid_stream_keeps_its_first_token_tokens_and_gaps() -> None:
    t0 = time.perf_counter_ns()
    client = FakeClient(_CutOff(_content_pieces(t0, [2, 30, 38, 50])), t0)
    result = RequestResult("m", "c", 1, 0.0)
    clock = iter([t0])
    with (
        patch.object(time, "perf_counter_ns", lambda: next(clock, None) or REAL_CLOCK()),
        pytest.raises(gevent.GreenletExit),
    ):
        send_chat(client, flavour("chat").request("m", MESSAGES, 16), result)  # type: ignore[arg-type]
    assert result.ttft_ms is None and result.measure_so_far is not None  # nothing kept yet
    result.error_class = ErrorClass.TIMEOUT  # as the stop records it
    keep_what_arrived(result, t0 + 80 * MS)
    assert result.ttft_ms == 30.0 and result.itl_ms == [8.0, 12.0]
    assert (result.output_tokens, result.tokens_estimated, result.chunks) == (3, True, 4)
    assert result.tpot_ms is None  # no complete reply to spread over its tokens
    assert result.e2e_service_ms == 80.0
    assert result.measure_so_far is None
    keep_what_arrived(result, t0 + 999 * MS)  # once only
    assert result.e2e_service_ms == 80.0


def test_a_finished_request_leaves_nothing_to_measure_later() -> None:
    t0 = time.perf_counter_ns()
    done = (sse(chat_chunk({}, "stop"), (None, "[DONE]")), t0 + 40 * MS)
    result, _ = send("chat", [*_content_pieces(t0, [2, 30]), done], t0)
    assert result.ok and result.ttft_ms == 30.0 and result.measure_so_far is None
