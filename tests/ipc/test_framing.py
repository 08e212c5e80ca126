"""Length-prefixed framing and the handshake decoder, including fuzzing with hypothesis.

The fuzz tests feed random bytes to the real readers: only SerializationError
or TransportError may escape, nothing hangs (every read is under
``asyncio.wait_for``), and no frame larger than the maximum is ever returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symphony.builtin_plugins.ipc.framing import FrameTooLargeError, encode_frame, read_frame
from symphony.builtin_plugins.ipc.handshake import (
    RefusalCounter,
    decode_client_hello,
    decode_server_reply,
    server_handshake,
)
from symphony.hookspecs import PROTOCOL_VERSION, SerializationError, TransportError

MAX = 1024


def stream(data: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


async def test_a_frame_is_a_big_endian_length_then_the_payload() -> None:
    assert encode_frame(b"abc") == b"\x00\x00\x00\x03abc"
    assert await read_frame(stream(encode_frame(b"abc") + encode_frame(b""))) == b"abc"


async def test_consecutive_frames_are_read_one_at_a_time() -> None:
    reader = stream(encode_frame(b"one") + encode_frame(b"") + encode_frame(b"three"))
    assert [await read_frame(reader) for _ in range(3)] == [b"one", b"", b"three"]


async def test_an_oversized_length_is_refused_before_the_payload_arrives() -> None:
    reader = stream(struct.pack(">I", MAX + 1), eof=False)  # no payload, no EOF: reading it would hang
    with pytest.raises(FrameTooLargeError, match=rf"expected at most {MAX} bytes, got .* {MAX + 1} bytes") as caught:
        await asyncio.wait_for(read_frame(reader, MAX), 1.0)
    assert (caught.value.expected, caught.value.got) == (MAX, MAX + 1)


async def test_a_frame_of_exactly_the_maximum_is_accepted() -> None:
    assert len(await read_frame(stream(encode_frame(b"x" * MAX)), MAX)) == MAX


def test_an_oversized_frame_is_refused_on_the_sending_side_too() -> None:
    with pytest.raises(SerializationError, match="at most 1024"):
        encode_frame(b"x" * (MAX + 1), MAX)


async def test_eof_inside_the_payload_is_a_transport_error_mid_frame() -> None:
    with pytest.raises(TransportError, match="peer closed mid-frame: expected 10 payload bytes, got 3"):
        await read_frame(stream(b"\x00\x00\x00\x0aabc"))


async def test_eof_inside_the_length_prefix_is_a_transport_error_mid_frame() -> None:
    with pytest.raises(TransportError, match="peer closed mid-frame"):
        await read_frame(stream(b"\x00\x00"))


async def test_eof_between_frames_is_a_transport_error_saying_the_peer_closed() -> None:
    with pytest.raises(TransportError, match=r"^peer closed the connection$"):
        await read_frame(stream(b""))


def test_the_handshake_decoder_names_the_bad_field() -> None:
    with pytest.raises(SerializationError, match=r"malformed handshake: .*\$\.codecs"):
        decode_client_hello(b'{"symphony": 1, "codecs": "msgpack"}')


def test_a_server_reply_without_codec_or_error_is_malformed() -> None:
    with pytest.raises(SerializationError, match="needs `error`"):
        decode_server_reply(b'{"symphony": 1}')


def test_unknown_handshake_fields_are_ignored_for_forward_compatibility() -> None:
    hello = decode_client_hello(b'{"symphony": 1, "codecs": ["json"], "token": null, "compression": "zstd"}')
    assert hello.codecs == ["json"]


async def _read_all(data: bytes) -> list[bytes]:
    reader = stream(data)
    frames: list[bytes] = []
    try:
        while True:
            frames.append(await read_frame(reader, MAX))
    except (SerializationError, TransportError):
        return frames


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4 * MAX))
def test_fuzzed_bytes_give_only_framing_errors_no_hang_and_no_frame_above_the_maximum(data: bytes) -> None:
    frames = asyncio.run(asyncio.wait_for(_read_all(data), 2.0))
    assert all(len(f) <= MAX for f in frames)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_fuzzed_handshakes_raise_only_serialization_error(data: bytes) -> None:
    try:
        hello = decode_client_hello(data)
    except SerializationError:
        return
    assert isinstance(hello.symphony, int) and all(isinstance(c, str) for c in hello.codecs)


async def _serve_bytes(data: bytes) -> tuple[str | None, RefusalCounter]:
    """Run the real server handshake against a socket pair whose client side sends ``data`` then EOF."""
    server_sock, client_sock = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=server_sock)
    _, client_writer = await asyncio.open_connection(sock=client_sock)
    client_writer.write(data)
    client_writer.write_eof()
    refusals = RefusalCounter()
    codec = await server_handshake(reader, writer, peer="fuzz", refusals=refusals, timeout=0.5)
    for each in (writer, client_writer):
        each.close()
        with contextlib.suppress(OSError):
            await each.wait_closed()
    return codec, refusals


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=256) | st.builds(encode_frame, st.binary(max_size=256)))
def test_a_server_fed_fuzzed_handshake_bytes_refuses_or_accepts_and_never_hangs(data: bytes) -> None:
    codec, refusals = asyncio.run(asyncio.wait_for(_serve_bytes(data), 3.0))
    if codec is None:
        assert refusals.total <= 1  # refused (counted) or the client went away first (not a refusal)
    else:
        assert codec in ("msgpack", "json") and refusals.total == 0


async def test_a_valid_handshake_frame_is_accepted_by_the_server() -> None:
    hello = f'{{"symphony": {PROTOCOL_VERSION}, "codecs": ["json"]}}'.encode()
    codec, refusals = await _serve_bytes(encode_frame(hello))
    assert codec == "json" and refusals.total == 0


async def test_an_oversized_handshake_is_refused_as_malformed_without_reading_it() -> None:
    codec, refusals = await _serve_bytes(struct.pack(">I", 1 << 20))
    assert codec is None and refusals.by_reason == {"malformed": 1}
