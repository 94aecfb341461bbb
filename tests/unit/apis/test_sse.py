"""SSE parsing: events split across reads, several per read, line endings, UTF-8 splits."""

from __future__ import annotations

import pytest

from loadprofile.client.apis.sse import SSEEvent, SSEParser

STREAM = (
    b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n'
    b'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n'
    b": keep-alive comment\n\n"
    b'data: {"choices":[{"delta":{"content":"lo \xc3\xa9t\xc3\xa9"}}]}\n\n'
    b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n'
    b"data: [DONE]\n\n"
)


def _feed_all(parser: SSEParser, pieces: list[bytes]) -> list[SSEEvent]:
    events: list[SSEEvent] = []
    for piece in pieces:
        events.extend(parser.feed(piece))
    return events + parser.flush()


def _whole() -> list[SSEEvent]:
    return _feed_all(SSEParser(), [STREAM])


def test_whole_stream_in_one_read() -> None:
    events = _whole()
    assert [e.data for e in events][-1] == b"[DONE]"
    assert len(events) == 5  # the comment dispatches nothing
    assert all(e.event == "message" for e in events)
    assert "lo été" in events[2].data.decode("utf-8")


@pytest.mark.parametrize("split", range(1, len(STREAM)))
def test_every_two_way_split_gives_the_same_events(split: int) -> None:
    assert _feed_all(SSEParser(), [STREAM[:split], STREAM[split:]]) == _whole()


def test_byte_by_byte() -> None:
    pieces = [STREAM[i : i + 1] for i in range(len(STREAM))]
    assert _feed_all(SSEParser(), pieces) == _whole()


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_line_endings(eol: bytes) -> None:
    text = STREAM.replace(b"\n", eol)
    assert _feed_all(SSEParser(), [text]) == _whole()
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    assert _feed_all(SSEParser(), pieces) == _whole()


def test_crlf_split_between_reads_is_one_line_end() -> None:
    parser = SSEParser()
    events = parser.feed(b"data: a\r") + parser.feed(b"\n\r") + parser.feed(b"\ndata: b\r\n\r\n")
    assert events == [SSEEvent("message", b"a"), SSEEvent("message", b"b")]


def test_multiline_data_named_event_and_no_space_after_colon() -> None:
    parser = SSEParser()
    events = parser.feed(b"event: content_block_delta\ndata:first\ndata: second\nid: 7\n\n")
    assert events == [SSEEvent("content_block_delta", b"first\nsecond")]


def test_bom_at_stream_start_is_ignored() -> None:
    assert SSEParser().feed(b"\xef\xbb\xbfdata: x\n\n") == [SSEEvent("message", b"x")]


def test_unterminated_last_event_is_pending_and_flushed() -> None:
    parser = SSEParser()
    assert parser.feed(b'data: {"a":1}') == []
    assert parser.has_pending
    assert parser.flush() == [SSEEvent("message", b'{"a":1}')]
    assert not parser.has_pending


def test_event_without_data_is_not_dispatched() -> None:
    assert SSEParser().feed(b"event: ping\n\n: comment\n\n") == []
