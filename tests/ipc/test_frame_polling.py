"""FrameProtocol polls for an answer that is due instead of sleeping, and only then.

An answer is due once this side has written a frame and none has arrived
since.  These tests put the peer's bytes in the socket *before* the event loop
gets a turn, so the only way ``next_frame`` can return them is by reading the
socket itself: no timing is involved.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator

import pytest

from symphony.builtin_plugins.ipc.framing import encode_frame
from symphony.hookspecs import TransportError
from symphony.hookspecs.wire.frames import FrameProtocol
from symphony.hookspecs.wire.pipes import PipeReadTransport

WAIT = 5.0


@pytest.fixture
async def pair() -> AsyncIterator[tuple[FrameProtocol, socket.socket]]:
    """A FrameProtocol on one end of a socket pair; a blocking raw socket, driven by the test, on the other."""
    ours, theirs = socket.socketpair()
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(lambda: FrameProtocol(handshake_limit=None), sock=ours)
    yield protocol, theirs
    await protocol.close()
    theirs.close()


def answer(theirs: socket.socket, protocol: FrameProtocol, payload: bytes) -> None:
    """Take the protocol's request off the raw end and write ``payload`` back, without the loop turning."""
    assert protocol.offer(b"request")
    assert theirs.recv(64) == encode_frame(b"request")
    theirs.sendall(encode_frame(payload))


async def test_an_answer_already_sent_is_taken_without_waiting_for_the_event_loop(
    pair: tuple[FrameProtocol, socket.socket],
) -> None:
    protocol, theirs = pair
    answer(theirs, protocol, b"answer")
    assert protocol.next_frame() == b"answer"


async def test_frames_nobody_waits_an_answer_for_are_left_to_the_event_loop(
    pair: tuple[FrameProtocol, socket.socket],
) -> None:
    protocol, theirs = pair
    theirs.sendall(encode_frame(b"unasked"))
    assert protocol.next_frame() is None  # nothing was sent: no answer is due, so the socket is not read
    assert await asyncio.wait_for(protocol.receive(), WAIT) == b"unasked"


async def test_an_answer_arriving_in_pieces_is_reassembled_by_the_poll(
    pair: tuple[FrameProtocol, socket.socket],
) -> None:
    protocol, theirs = pair
    assert protocol.offer(b"request")
    theirs.recv(64)
    frame = encode_frame(b"a longer answer")
    theirs.sendall(frame[:3])
    theirs.sendall(frame[3:])
    assert protocol.next_frame() == b"a longer answer"


async def test_a_peer_that_closes_instead_of_answering_ends_the_stream_as_before(
    pair: tuple[FrameProtocol, socket.socket],
) -> None:
    protocol, theirs = pair
    assert protocol.offer(b"request")
    theirs.shutdown(socket.SHUT_WR)
    assert protocol.next_frame() is None  # the end of stream is left for the transport to report
    with pytest.raises(TransportError, match="peer closed the connection"):
        await asyncio.wait_for(protocol.receive(), WAIT)


async def test_an_answer_on_a_read_pipe_is_taken_without_waiting_for_the_event_loop() -> None:
    read_end, write_end = os.pipe()
    loop = asyncio.get_running_loop()
    protocol = FrameProtocol(handshake_limit=None)
    PipeReadTransport(loop, os.fdopen(read_end, "rb", buffering=0), protocol)
    ours, theirs = socket.socketpair()  # the request goes out on a socket; the pipe carries only the answer
    out, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
    protocol.use_writer(out)
    try:
        assert protocol.offer(b"request")
        os.write(write_end, encode_frame(b"answer"))
        assert protocol.next_frame() == b"answer"
    finally:
        os.close(write_end)
        await protocol.close()
        out.close()
        theirs.close()
