"""Length-prefixed framing and the handshake decoder, including fuzzing with hypothesis.

The decoder is sans-I/O, so it is fed bytes directly, in every possible split.
The fuzz tests feed random bytes to the real decoder and the real server
handshake: only SerializationError or TransportError may escape, nothing
hangs (every wait is under ``asyncio.wait_for``), no frame larger than the
maximum is ever returned, and no more than one frame's worth of bytes is held.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symphony.builtin_plugins.ipc.framing import HEADER_SIZE, FrameDecoder, FrameTooLargeError, encode_frame
from symphony.hookspecs import PROTOCOL_VERSION, SerializationError, TransportError
from symphony.hookspecs.wire.frames import FrameProtocol
from symphony.hookspecs.wire.handshake import (
    MAX_HANDSHAKE_SIZE,
    RefusalCounter,
    decode_client_hello,
    decode_server_reply,
    server_handshake,
)

MAX = 1024


def decoded(data: bytes, max_size: int = MAX, **options: int) -> FrameDecoder:
    decoder = FrameDecoder(max_size, **options)
    decoder.feed(data)
    return decoder


def test_a_frame_is_a_big_endian_length_then_the_payload() -> None:
    assert encode_frame(b"abc") == b"\x00\x00\x00\x03abc"
    assert list(decoded(encode_frame(b"abc") + encode_frame(b"")).frames) == [b"abc", b""]


def test_consecutive_frames_come_out_in_order_one_at_a_time() -> None:
    decoder = decoded(encode_frame(b"one") + encode_frame(b"") + encode_frame(b"three"))
    assert [decoder.pop() for _ in range(3)] == [b"one", b"", b"three"]
    assert decoder.queued == 0 and decoder.pending == 0


def test_a_frame_split_byte_by_byte_is_reassembled() -> None:
    decoder = FrameDecoder(MAX)
    for byte in encode_frame(b"hello") + encode_frame(b"world"):
        decoder.feed(bytes([byte]))
    assert list(decoder.frames) == [b"hello", b"world"]


def test_bytes_received_into_the_buffer_and_committed_are_cut_into_frames() -> None:
    decoder = FrameDecoder(MAX)
    data = encode_frame(b"straight from recv_into")
    room = decoder.buffer()
    room[: len(data)] = data
    decoder.commit(len(data))
    assert list(decoder.frames) == [b"straight from recv_into"]


def test_a_frame_larger_than_the_receive_buffer_grows_it_and_it_shrinks_back_afterwards() -> None:
    decoder = FrameDecoder(1 << 20, buffer_size=4096)
    decoder.feed(encode_frame(b"x" * 100_000))
    assert decoder.pop() == b"x" * 100_000
    assert len(decoder.buffer()) == 4096


def test_an_oversized_length_is_refused_before_the_payload_arrives() -> None:
    decoder = FrameDecoder(MAX)
    with pytest.raises(FrameTooLargeError, match=rf"expected at most {MAX} bytes, got .* {MAX + 1} bytes") as caught:
        decoder.feed(struct.pack(">I", MAX + 1))  # no payload: waiting for it would hang
    assert (caught.value.expected, caught.value.got) == (MAX, MAX + 1)
    assert decoder.failed is caught.value


def test_frames_before_an_oversized_one_are_still_delivered() -> None:
    decoder = FrameDecoder(MAX)
    with pytest.raises(FrameTooLargeError):
        decoder.feed(encode_frame(b"fine") + struct.pack(">I", MAX + 1))
    assert list(decoder.frames) == [b"fine"]


def test_a_failed_decoder_refuses_further_bytes() -> None:
    decoder = FrameDecoder(MAX)
    with pytest.raises(FrameTooLargeError):
        decoder.feed(struct.pack(">I", MAX + 1))
    with pytest.raises(FrameTooLargeError):
        decoder.feed(encode_frame(b"late"))


def test_a_frame_of_exactly_the_maximum_is_accepted() -> None:
    assert len(decoded(encode_frame(b"x" * MAX)).pop()) == MAX


def test_the_first_frame_limit_holds_only_the_first_frame() -> None:
    decoder = decoded(encode_frame(b"x" * 8) + encode_frame(b"y" * 100), first_limit=8)
    assert [len(decoder.pop()), len(decoder.pop())] == [8, 100]
    with pytest.raises(FrameTooLargeError, match="at most 8 bytes"):
        decoded(encode_frame(b"x" * 9), first_limit=8)


def test_an_oversized_frame_is_refused_on_the_sending_side_too() -> None:
    with pytest.raises(SerializationError, match="at most 1024"):
        encode_frame(b"x" * (MAX + 1), MAX)


def test_eof_inside_the_payload_is_a_transport_error_mid_frame() -> None:
    error = decoded(b"\x00\x00\x00\x0aabc").eof_error()
    assert isinstance(error, TransportError)
    assert error.message == "peer closed mid-frame: expected 10 payload bytes, got 3"


def test_eof_inside_the_length_prefix_is_a_transport_error_mid_frame() -> None:
    error = decoded(b"\x00\x00").eof_error()
    assert error.message == "peer closed mid-frame: expected a 4-byte length prefix, got 2 bytes"


def test_eof_between_frames_is_a_transport_error_saying_the_peer_closed() -> None:
    assert decoded(encode_frame(b"done")).eof_error().message == "peer closed the connection"


def test_the_handshake_decoder_names_the_bad_field() -> None:
    with pytest.raises(SerializationError, match=r"malformed handshake: .*\$\.codecs"):
        decode_client_hello(b'{"symphony": 1, "codecs": "msgpack"}')


def test_a_server_reply_without_codec_or_error_is_malformed() -> None:
    with pytest.raises(SerializationError, match="needs `error`"):
        decode_server_reply(b'{"symphony": 1}')


def test_unknown_handshake_fields_are_ignored_for_forward_compatibility() -> None:
    hello = decode_client_hello(b'{"symphony": 1, "codecs": ["json"], "token": null, "compression": "zstd"}')
    assert hello.codecs == ["json"]


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(cut % (len(data) + 1) for cut in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=2 * MAX)), st.lists(st.integers(min_value=0)))
def test_any_split_of_a_stream_of_frames_gives_the_same_frames(payloads: list[bytes], cuts: list[int]) -> None:
    fitting = [p[:MAX] for p in payloads]
    decoder = FrameDecoder(MAX, buffer_size=64)
    for chunk in _split(b"".join(encode_frame(p) for p in fitting), cuts):
        decoder.feed(chunk)
    assert list(decoder.frames) == fitting and decoder.pending == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=20_000), max_size=6), st.lists(st.integers(min_value=0)))
def test_frames_larger_than_the_buffer_survive_any_split_as_it_grows_compacts_and_shrinks(
    sizes: list[int], cuts: list[int]
) -> None:
    payloads = [bytes([n % 251]) * n for n in sizes]  # the smallest buffer is 4 KiB: most of these overflow it
    decoder = FrameDecoder(20_000, buffer_size=64)
    for chunk in _split(b"".join(encode_frame(p) for p in payloads), cuts):
        decoder.feed(chunk)
    assert list(decoder.frames) == payloads and decoder.pending == 0
    assert len(decoder.buffer()) == 4096  # back to its resting size once empty


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4 * MAX), st.lists(st.integers(min_value=0), max_size=8))
def test_fuzzed_bytes_give_only_framing_errors_no_frame_above_the_maximum_and_bounded_buffering(
    data: bytes, cuts: list[int]
) -> None:
    decoder = FrameDecoder(MAX, buffer_size=64)
    try:
        for chunk in _split(data, cuts):
            decoder.feed(chunk)
            assert decoder.pending <= MAX + HEADER_SIZE
    except FrameTooLargeError:
        pass
    assert all(len(frame) <= MAX for frame in decoder.frames)
    assert isinstance(decoder.eof_error(), TransportError)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_fuzzed_handshakes_raise_only_serialization_error(data: bytes) -> None:
    try:
        hello = decode_client_hello(data)
    except SerializationError:
        return
    assert isinstance(hello.symphony, int) and all(isinstance(c, str) for c in hello.codecs)


async def _serve_bytes(data: bytes) -> tuple[str | None, RefusalCounter]:
    """Run the real server handshake on a socket pair whose client side sent ``data`` then EOF."""
    server_sock, client_sock = socket.socketpair()
    client_sock.sendall(data)
    client_sock.shutdown(socket.SHUT_WR)
    _, channel = await asyncio.get_running_loop().create_connection(FrameProtocol, sock=server_sock)
    refusals = RefusalCounter()
    codec = await server_handshake(channel, peer="fuzz", refusals=refusals, timeout=0.5)
    await channel.close()
    client_sock.close()
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
    codec, refusals = await _serve_bytes(struct.pack(">I", MAX_HANDSHAKE_SIZE + 1))
    assert codec is None and refusals.by_reason == {"malformed": 1}
