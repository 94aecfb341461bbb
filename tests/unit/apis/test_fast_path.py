"""The fast path of chat and completions chunks decides nothing on its own: for every
stream, valid or broken, the consumer ends in the state (and with the error) that the
careful, dict-based path alone gives."""

from __future__ import annotations

import json
from typing import Any

import pytest

from loadprofile.client.apis.openai_chat import ChatStream
from loadprofile.client.apis.openai_completions import CompletionsStream
from loadprofile.client.apis.reply_stream import ReplyStream, StreamError
from loadprofile.client.apis.sse import SSEEvent


class CarefulChat(ChatStream):
    __slots__ = ()

    def _take_fast(self, chunk: Any, t_ns: int) -> bool:
        return False


class CarefulCompletions(CompletionsStream):
    __slots__ = ()

    def _take_fast(self, chunk: Any, t_ns: int) -> bool:
        return False


def _chat(delta: dict[str, Any] | None, finish: Any = None, index: Any = 0, **top: Any) -> bytes:
    obj: dict[str, Any] = {"id": "c1", "object": "chat.completion.chunk", **top}
    if delta is not None:
        obj["choices"] = [{"index": index, "delta": delta, "finish_reason": finish}]
    return json.dumps(obj).encode()


def _text(text: Any, finish: Any = None, index: Any = 0, **top: Any) -> bytes:
    return json.dumps(
        {"id": "c1", "choices": [{"index": index, "text": text, "finish_reason": finish}], **top}
    ).encode()


USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 1}}
CHAT_STREAMS: dict[str, list[bytes]] = {
    "plain": [
        _chat({"role": "assistant", "content": ""}),
        _chat({"content": "Hi"}),
        _chat({"content": " you"}),
        _chat({}, "stop"),
        json.dumps({"id": "c1", "choices": [], "usage": USAGE}).encode(),
        b"[DONE]",
    ],
    "reasoning then text": [
        _chat({"reasoning_content": "hmm"}),
        _chat({"reasoning": "so"}),
        _chat({"content": "A"}),
        _chat({}, "length"),
        b"[DONE]",
    ],
    "tool calls": [
        _chat({"tool_calls": [{"index": 0}]}),
        _chat({"tool_calls": []}),
        _chat({}, "tool_calls"),
        b"[DONE]",
    ],
    "llama.cpp timings": [
        _chat({"content": "x"}, "stop", timings={"prompt_ms": 1.5, "cache_n": 4}),
        b"[DONE]",
    ],
    "usage without choices": [
        _chat({"content": "x"}, "stop"),
        json.dumps({"usage": USAGE}).encode(),
        b"[DONE]",
    ],
    "usage not an object": [_chat({"content": "x"}, "stop", usage="many"), b"[DONE]"],
    "id changes": [_chat({"content": "a"}), _chat({"content": "b"}, id="c2")],
    "id missing": [
        _chat({"content": "a"}),
        json.dumps({"choices": [{"index": 0, "delta": {"content": "b"}}]}).encode(),
    ],
    "id not a string": [_chat({"content": "a"}, id=7)],
    "unknown finish": [_chat({"content": "a"}), _chat({}, "done")],
    "finish not a string": [_chat({"content": "a"}, finish=1)],
    "output after finish": [_chat({"content": "a"}, "stop"), _chat({"content": "b"})],
    "index is a bool": [_chat({"content": "a"}, index=True)],
    "index missing": [json.dumps({"id": "c1", "choices": [{"delta": {"content": "a"}}]}).encode()],
    "delta missing": [json.dumps({"id": "c1", "choices": [{"index": 0}]}).encode()],
    "content not a string": [_chat({"content": 5})],
    "choices not a list": [json.dumps({"id": "c1", "choices": {"0": 1}}).encode()],
    "two choices": [
        json.dumps(
            {
                "id": "c1",
                "choices": [
                    {"index": 0, "delta": {"content": "a"}, "finish_reason": "stop"},
                    {"index": 0, "delta": {"content": "b"}, "finish_reason": None},
                ],
            }
        ).encode()
    ],
    "error object": [_chat({"content": "a"}), json.dumps({"error": {"code": 429}}).encode()],
    "error null": [_chat({"content": "a"}, error=None)],
    "not json": [_chat({"content": "a"}), b'{"id": "c1", "choices": [', b"[DONE]"],
    "NaN is json's": [b'{"id": "c1", "choices": [], "x": NaN}', _chat({}, "stop"), b"[DONE]"],
    "not an object": [b"[1, 2]"],
    "data after done": [_chat({"content": "a"}, "stop"), b"[DONE]", _chat({"content": "b"})],
}
TEXT_STREAMS: dict[str, list[bytes]] = {
    "plain": [
        _text("Hel"),
        _text("lo"),
        _text("", "stop"),
        json.dumps({"id": "c1", "choices": [], "usage": USAGE}).encode(),
        b"[DONE]",
    ],
    "text null": [_text(None), _text("x", "stop"), b"[DONE]"],
    "text not a string": [_text(["x"])],
    "unknown finish": [_text("x", "over")],
    "output after finish": [_text("x", "stop"), _text("y")],
}


def _state(stream: ReplyStream) -> tuple[Any, ...]:
    return (
        stream.content_ns,
        stream.visible_ns,
        stream.text,
        stream.usage,
        stream.finish_reason,
        stream.done,
        stream.server_timings,
        getattr(stream, "stream_id", None),
        sorted(getattr(stream, "finished", ())),
    )


def _run(stream: ReplyStream, datas: list[bytes]) -> tuple[Any, ...]:
    error = None
    for t, data in enumerate(datas):
        try:
            stream.on_event(SSEEvent("message", data), 100 + t)
        except StreamError as exc:
            error = (exc.error_class, str(exc))
            break
    return _state(stream), error


@pytest.mark.parametrize("name", sorted(CHAT_STREAMS))
def test_chat_fast_path_ends_where_the_careful_path_ends(name: str) -> None:
    datas = CHAT_STREAMS[name]
    assert _run(ChatStream(True), datas) == _run(CarefulChat(True), datas)


@pytest.mark.parametrize("name", sorted(TEXT_STREAMS))
def test_completions_fast_path_ends_where_the_careful_path_ends(name: str) -> None:
    datas = TEXT_STREAMS[name]
    assert _run(CompletionsStream(True), datas) == _run(CarefulCompletions(True), datas)


def test_the_fast_path_takes_the_usual_chunks() -> None:
    """The equivalence above would hold trivially if the fast path never took a chunk."""
    taken: list[bytes] = []

    class Watching(ChatStream):
        __slots__ = ()

        def _take_fast(self, chunk: Any, t_ns: int) -> bool:
            took = super()._take_fast(chunk, t_ns)
            if took:
                taken.append(chunk.id.encode())
            return took

    _run(Watching(True), CHAT_STREAMS["plain"])
    assert len(taken) == 5  # every chunk but [DONE]
