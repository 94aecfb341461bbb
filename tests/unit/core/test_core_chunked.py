"""ChunkedDecoder: payload independent of how the bytes are split, framing errors, `done`."""

from __future__ import annotations

import pytest

from loadprofile.client.http.chunked import ChunkedDecoder, ChunkedError

PAYLOAD_PARTS = [b'data: {"x":1}\n\n', b"hello", b"A" * 26, b"\r\n inside data \r\n"]


def _body(
    parts: list[bytes], *, size_fmt: str = "{:x}", ext: bytes = b"", trailers: bytes = b""
) -> bytes:
    out = b"".join(size_fmt.format(len(p)).encode() + ext + b"\r\n" + p + b"\r\n" for p in parts)
    return out + b"0" + ext + b"\r\n" + trailers + b"\r\n"


BODY = _body(PAYLOAD_PARTS)
PAYLOAD = b"".join(PAYLOAD_PARTS)


def _feed(pieces: list[bytes]) -> tuple[bytes, ChunkedDecoder]:
    decoder = ChunkedDecoder()
    return b"".join(decoder.feed(p) for p in pieces), decoder


def test_whole_body_in_one_feed() -> None:
    payload, decoder = _feed([BODY])
    assert payload == PAYLOAD
    assert decoder.done


def test_byte_by_byte_done_only_at_last_byte() -> None:
    decoder = ChunkedDecoder()
    out = b""
    for i in range(len(BODY)):
        out += decoder.feed(BODY[i : i + 1])
        assert decoder.done == (i == len(BODY) - 1), f"done wrong after byte {i}"
    assert out == PAYLOAD


def test_payload_streams_out_as_soon_as_data_arrives() -> None:
    # Data bytes are handed out before their chunk completes (no buffering per chunk).
    decoder = ChunkedDecoder()
    assert decoder.feed(b"a\r\n01234") == b"01234"
    assert decoder.feed(b"56789") == b"56789"
    assert decoder.feed(b"\r\n") == b""
    assert not decoder.done


@pytest.mark.parametrize("split", range(len(BODY) + 1))
def test_every_two_part_split(split: int) -> None:
    payload, decoder = _feed([BODY[:split], BODY[split:]])
    assert payload == PAYLOAD
    assert decoder.done


@pytest.mark.parametrize(
    ("body", "payload"),
    [
        pytest.param(_body([b"hello", b"world"], ext=b";foo=bar"), b"helloworld", id="extension"),
        pytest.param(_body([b"hello"], ext=b'; a=1 ;b="x;y"'), b"hello", id="extensions-quoted"),
        pytest.param(_body([b"x" * 300], size_fmt="{:X}"), b"x" * 300, id="uppercase-hex"),
        pytest.param(_body([b"x" * 300], size_fmt="{:x}"), b"x" * 300, id="lowercase-hex"),
        pytest.param(_body([b"x" * 17], size_fmt="{:04x}"), b"x" * 17, id="leading-zeros"),
        pytest.param(
            _body([b"abc"], trailers=b"X-Checksum: 1\r\nX-Other: 2\r\n"), b"abc", id="trailers"
        ),
        pytest.param(_body([]), b"", id="empty-body"),
        pytest.param(
            _body([b"\x00\xff\r\n0\r\n\r\n"]),
            b"\x00\xff\r\n0\r\n\r\n",
            id="framing-lookalike-in-data",
        ),
    ],
)
def test_valid_bodies(body: bytes, payload: bytes) -> None:
    for pieces in ([body], [body[i : i + 1] for i in range(len(body))]):
        out, decoder = _feed(pieces)
        assert out == payload
        assert decoder.done


@pytest.mark.parametrize(
    ("prefix", "not_done_yet"),
    [
        (b"5\r\nhello\r\n", b"0\r\n"),
        (b"5\r\nhello\r\n", b"0\r\n\r"),
        (b"5\r\nhello\r\n", b"0\r\nX-T: 1\r\n"),
        (b"", b"0;ext=1\r\n"),
    ],
)
def test_done_only_after_final_empty_line(prefix: bytes, not_done_yet: bytes) -> None:
    decoder = ChunkedDecoder()
    decoder.feed(prefix + not_done_yet)
    assert not decoder.done
    rest = b"\n" if not_done_yet.endswith(b"\r") else b"\r\n"
    assert decoder.feed(rest) == b""
    assert decoder.done


def test_bytes_after_done_are_not_payload() -> None:
    out, decoder = _feed([b"3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n"])
    assert out == b"abc"
    assert decoder.done
    assert decoder.feed(b"more") == b""


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"zz\r\nhello\r\n0\r\n\r\n", id="bad-hex"),
        pytest.param(b"5g\r\nhello\r\n", id="hex-with-junk"),
        pytest.param(b"\r\nhello\r\n", id="empty-size"),
        pytest.param(b";ext\r\nhello\r\n", id="extension-only"),
        pytest.param(b"-5\r\nhello\r\n", id="negative"),
        pytest.param(b"5\r\nhelloXX0\r\n\r\n", id="no-crlf-after-data"),
        pytest.param(b"5\r\nhello\n0\r\n\r\n", id="lf-only-after-data"),
        pytest.param(b"5\r\nhello world\r\n", id="data-longer-than-size"),
        pytest.param(b"1" + b"0" * 2000, id="overlong-size-line"),
        pytest.param(b"5;" + b"x" * 1100, id="overlong-extension-no-crlf"),
        pytest.param(b"0\r\nX-Trailer: " + b"y" * 1100, id="overlong-trailer-line"),
    ],
)
def test_framing_errors(body: bytes) -> None:
    with pytest.raises(ChunkedError):
        ChunkedDecoder().feed(body)
    # The same error surfaces when the bytes trickle in one at a time.
    decoder = ChunkedDecoder()
    with pytest.raises(ChunkedError):
        for i in range(len(body)):
            decoder.feed(body[i : i + 1])


def test_error_is_a_value_error_with_a_message() -> None:
    with pytest.raises(ValueError, match="bad chunk size"):
        ChunkedDecoder().feed(b"xyz\r\n")


def test_size_line_at_the_limit_is_still_waiting() -> None:
    # 1024 bytes without CRLF may still be a legal (long) extension: keep waiting.
    decoder = ChunkedDecoder()
    assert decoder.feed(b"5;" + b"x" * 1022) == b""
    assert not decoder.done


@pytest.mark.parametrize("size", [b"0x5", b"+5", b"0_5", b"-0"])
def test_non_hexdig_chunk_size_is_rejected(size: bytes) -> None:
    with pytest.raises(ChunkedError):
        ChunkedDecoder().feed(size + b"\r\nhello\r\n0\r\n\r\n")
