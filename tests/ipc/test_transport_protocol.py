"""FrameProtocol over real socket pairs and pipes: reassembly, flow control both ways, how streams end.

One end is the protocol under test (on a real asyncio socket transport), the
other a plain socket driven by the test, as a peer in another language would
be.  Every wait is bounded so a regression fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest

from symphony.builtin_plugins.ipc.framing import FrameTooLargeError, encode_frame
from symphony.hookspecs import TransportError
from symphony.hookspecs.wire.frames import FrameProtocol
from symphony.hookspecs.wire.pipes import PipeReadTransport

WAIT = 5.0
BUFFER = 4096


async def open_pair(**options: Any) -> tuple[FrameProtocol, socket.socket]:
    """A FrameProtocol on one end of a socket pair and a non-blocking raw socket on the other."""
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    settings: dict[str, Any] = {"buffer_size": BUFFER, "handshake_limit": None} | options
    _, protocol = await asyncio.get_running_loop().create_connection(lambda: FrameProtocol(**settings), sock=ours)
    return protocol, theirs


@pytest.fixture
async def pair() -> AsyncIterator[tuple[FrameProtocol, socket.socket]]:
    protocol, theirs = await open_pair()
    yield protocol, theirs
    await protocol.close()
    theirs.close()


async def send_raw(sock: socket.socket, data: bytes) -> None:
    await asyncio.wait_for(asyncio.get_running_loop().sock_sendall(sock, data), WAIT)


async def receive_raw(sock: socket.socket, count: int) -> bytes:
    loop = asyncio.get_running_loop()
    data = b""
    while len(data) < count:
        chunk = await asyncio.wait_for(loop.sock_recv(sock, count - len(data)), WAIT)
        assert chunk, "the protocol closed the connection early"
        data += chunk
    return data


async def receive(protocol: FrameProtocol) -> bytes:
    return await asyncio.wait_for(protocol.receive(), WAIT)


async def test_a_frame_sent_one_byte_at_a_time_arrives_whole(pair: tuple[FrameProtocol, socket.socket]) -> None:
    protocol, raw = pair
    for byte in encode_frame(b"trickled"):
        await send_raw(raw, bytes([byte]))
        await asyncio.sleep(0)
    assert await receive(protocol) == b"trickled"


async def test_many_frames_in_one_write_come_out_one_per_receive(pair: tuple[FrameProtocol, socket.socket]) -> None:
    protocol, raw = pair
    await send_raw(raw, b"".join(encode_frame(b"%d" % i) for i in range(100)))
    assert [await receive(protocol) for _ in range(100)] == [b"%d" % i for i in range(100)]


async def test_a_frame_far_larger_than_the_buffer_crosses_intact_both_ways(
    pair: tuple[FrameProtocol, socket.socket],
) -> None:
    protocol, raw = pair
    big = bytes(range(256)) * 16_384  # 4 MiB
    sending = asyncio.ensure_future(send_raw(raw, encode_frame(big)))
    assert await receive(protocol) == big
    await sending
    echo = asyncio.ensure_future(protocol.send(big))
    assert await receive_raw(raw, len(big) + 4) == encode_frame(big)
    await asyncio.wait_for(echo, WAIT)


async def test_a_consumer_that_falls_behind_stops_the_protocol_reading_then_gets_everything(
    pair: tuple[FrameProtocol, socket.socket],
) -> None:
    protocol, raw = pair
    frames = [bytes([i % 256]) * 1000 for i in range(2000)]  # ~2 MB, far more than 2 x BUFFER
    flood = asyncio.ensure_future(send_raw(raw, b"".join(encode_frame(f) for f in frames)))
    await asyncio.sleep(0.2)
    assert not protocol.reading and protocol.buffered <= 3 * BUFFER and not flood.done()
    assert [await receive(protocol) for _ in frames] == frames
    await flood
    assert protocol.reading


async def test_a_sender_waits_while_the_peer_does_not_read_and_finishes_when_it_does(
    pair: tuple[FrameProtocol, socket.socket],
) -> None:
    protocol, raw = pair
    payload = b"y" * (8 << 20)  # far beyond the socket buffers and the transport's high-water mark
    sending = asyncio.ensure_future(protocol.send(payload))
    await asyncio.sleep(0.2)
    assert not sending.done()
    assert await receive_raw(raw, len(payload) + 4) == encode_frame(payload)
    await asyncio.wait_for(sending, WAIT)


async def test_concurrent_senders_never_interleave_frames(pair: tuple[FrameProtocol, socket.socket]) -> None:
    protocol, raw = pair
    payloads = [bytes([i]) * (10_000 + i) for i in range(50)]
    senders = asyncio.gather(*(protocol.send(p) for p in payloads))
    total = sum(len(p) + 4 for p in payloads)
    data = await receive_raw(raw, total)
    await asyncio.wait_for(senders, WAIT)
    received, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        received.append(data[offset + 4 : offset + 4 + length])
        offset += 4 + length
    assert sorted(received) == sorted(payloads)


async def test_an_oversized_length_raises_on_every_receive_after_the_frames_before_it() -> None:
    protocol, raw = await open_pair(max_frame_size=1024)
    await send_raw(raw, encode_frame(b"hello") + struct.pack(">I", 1 << 30))
    assert await receive(protocol) == b"hello"
    for _ in range(2):
        with pytest.raises(FrameTooLargeError, match="at most 1024 bytes"):
            await receive(protocol)
    assert not protocol.reading
    await protocol.close()
    raw.close()


async def test_the_first_frame_is_held_to_the_handshake_limit_and_later_ones_are_not() -> None:
    protocol, raw = await open_pair(handshake_limit=16)
    await send_raw(raw, encode_frame(b"h" * 16) + encode_frame(b"x" * 1000))
    assert [len(await receive(protocol)), len(await receive(protocol))] == [16, 1000]
    await protocol.close()
    raw.close()
    protocol, raw = await open_pair(handshake_limit=16)
    await send_raw(raw, encode_frame(b"h" * 17))
    with pytest.raises(FrameTooLargeError, match="at most 16 bytes"):
        await receive(protocol)
    await protocol.close()
    raw.close()


async def test_the_peer_closing_between_frames_is_a_clean_transport_error(
    pair: tuple[FrameProtocol, socket.socket],
) -> None:
    protocol, raw = pair
    await send_raw(raw, encode_frame(b"last"))
    raw.shutdown(socket.SHUT_WR)
    assert await receive(protocol) == b"last"
    with pytest.raises(TransportError, match=r"^peer closed the connection$"):
        await receive(protocol)


async def test_the_peer_closing_mid_frame_says_how_much_was_missing(pair: tuple[FrameProtocol, socket.socket]) -> None:
    protocol, raw = pair
    await send_raw(raw, struct.pack(">I", 10) + b"abc")
    raw.close()
    with pytest.raises(TransportError, match="peer closed mid-frame: expected 10 payload bytes, got 3"):
        await receive(protocol)


async def test_we_can_still_reply_after_the_peer_half_closes(pair: tuple[FrameProtocol, socket.socket]) -> None:
    protocol, raw = pair
    await send_raw(raw, encode_frame(b"question"))
    raw.shutdown(socket.SHUT_WR)
    assert await receive(protocol) == b"question"
    await protocol.send(b"answer")
    assert await receive_raw(raw, 10) == encode_frame(b"answer")


async def test_sending_to_a_peer_that_is_gone_raises_transport_error(
    pair: tuple[FrameProtocol, socket.socket],
) -> None:
    protocol, raw = pair
    raw.close()
    with pytest.raises(TransportError):
        for _ in range(100):  # the first writes may still be accepted by the kernel
            await protocol.send(b"anyone there?")
            await asyncio.sleep(0.01)


async def test_a_cancelled_receive_leaves_the_next_frame_for_the_next_receive(
    pair: tuple[FrameProtocol, socket.socket],
) -> None:
    protocol, raw = pair
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(protocol.receive(), 0.05)
    await send_raw(raw, encode_frame(b"later"))
    assert await receive(protocol) == b"later"


async def test_receive_and_send_after_close_raise_transport_error(pair: tuple[FrameProtocol, socket.socket]) -> None:
    protocol, _ = pair
    await protocol.close()
    with pytest.raises(TransportError, match="closed"):
        await receive(protocol)
    with pytest.raises(TransportError, match="closed"):
        await protocol.send(b"x")


async def test_a_receive_waiting_when_the_connection_closes_is_woken_with_transport_error(
    pair: tuple[FrameProtocol, socket.socket],
) -> None:
    protocol, _ = pair
    waiting = asyncio.ensure_future(protocol.receive())
    await asyncio.sleep(0.01)
    await protocol.close()
    with pytest.raises(TransportError, match="closed"):
        await asyncio.wait_for(waiting, WAIT)


# --- pipes (the stdio transport's read side) ---------------------------------------------


async def open_pipe(**options: Any) -> tuple[FrameProtocol, int]:
    """A FrameProtocol reading a real pipe through PipeReadTransport; returns it and the write end's fd."""
    read_end, write_end = os.pipe()
    settings: dict[str, Any] = {"buffer_size": BUFFER, "handshake_limit": None} | options
    protocol = FrameProtocol(**settings)
    PipeReadTransport(asyncio.get_running_loop(), os.fdopen(read_end, "rb", buffering=0), protocol)
    return protocol, write_end


async def test_frames_written_to_a_pipe_in_pieces_arrive_whole_then_eof_is_a_clean_close() -> None:
    protocol, write_end = await open_pipe()
    data = encode_frame(b"first") + encode_frame(b"second")
    for piece in (data[:3], data[3:9], data[9:]):
        os.write(write_end, piece)
        await asyncio.sleep(0.01)
    os.close(write_end)
    assert [await receive(protocol), await receive(protocol)] == [b"first", b"second"]
    with pytest.raises(TransportError, match=r"^peer closed the connection$"):
        await receive(protocol)


async def test_a_pipe_closed_mid_frame_says_how_much_was_missing() -> None:
    protocol, write_end = await open_pipe()
    os.write(write_end, struct.pack(">I", 10) + b"abc")
    os.close(write_end)
    with pytest.raises(TransportError, match="peer closed mid-frame: expected 10 payload bytes, got 3"):
        await receive(protocol)


async def test_a_consumer_that_falls_behind_stops_reading_the_pipe_until_it_catches_up() -> None:
    protocol, write_end = await open_pipe()
    frames = [bytes([i % 256]) * 1000 for i in range(300)]
    os.set_blocking(write_end, False)
    pending = memoryview(b"".join(encode_frame(f) for f in frames))
    written = 0
    for _ in range(50):  # fill the pipe while the protocol reads until it pauses
        with contextlib.suppress(BlockingIOError):
            written += os.write(write_end, pending[written:])
        await asyncio.sleep(0.01)
    assert not protocol.reading and protocol.buffered <= 3 * BUFFER and written < len(pending)
    received: list[bytes] = []
    while written < len(pending) or len(received) < len(frames):
        with contextlib.suppress(BlockingIOError):
            written += os.write(write_end, pending[written:])
        received.append(await receive(protocol))
    os.close(write_end)
    assert received == frames and protocol.reading
