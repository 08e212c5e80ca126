"""FrameProtocol's output bound and stall rule over a real socket pair, with a short stall timeout.

The subprocess tests (test_backpressure.py) prove the rules through ``symphony bus
serve`` with its 30 s default; these prove the mechanism itself, including that a
peer which keeps draining, however slowly, is never cut.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from symphony.hookspecs import TransportError

from .test_transport_protocol import WAIT, open_pair

LIMIT = 64 * 1024
STALL = 0.5


async def fill(protocol: object, sock: socket.socket) -> None:
    """Write frames until the output is full (the raw peer reads nothing meanwhile)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    async with asyncio.timeout(WAIT):
        while protocol.offer(b"x" * 8192):  # type: ignore[attr-defined]
            await asyncio.sleep(0)


async def test_concurrent_senders_exceed_the_output_limit_by_at_most_one_frame_each_time() -> None:
    protocol, raw = await open_pair(output_limit=LIMIT)
    await fill(protocol, raw)
    senders = [asyncio.ensure_future(protocol.send(b"y" * 8192)) for _ in range(100)]
    await asyncio.sleep(0.1)
    assert not any(sender.done() for sender in senders)
    assert protocol.output_size < LIMIT + 2 * 8192  # nothing of the 100 waiting frames was buffered
    for sender in senders:
        sender.cancel()
    await protocol.close()
    raw.close()


async def test_an_offer_to_a_full_output_writes_nothing_and_says_so() -> None:
    protocol, raw = await open_pair(output_limit=LIMIT)
    await fill(protocol, raw)
    size = protocol.output_size
    assert protocol.offer(b"z" * 8192) is False
    assert protocol.output_size == size
    await protocol.close()
    raw.close()


async def test_a_peer_that_drains_nothing_of_a_full_output_is_cut_after_the_stall_timeout() -> None:
    protocol, raw = await open_pair(output_limit=LIMIT, stall_timeout=STALL)
    await fill(protocol, raw)
    with pytest.raises(TransportError, match=r"read nothing for 0\.5 s"):
        async with asyncio.timeout(WAIT):
            await protocol.send(b"y")
    raw.close()


async def test_a_peer_that_keeps_draining_slowly_is_never_cut() -> None:
    protocol, raw = await open_pair(output_limit=LIMIT, stall_timeout=STALL)
    await fill(protocol, raw)
    loop = asyncio.get_running_loop()
    sending = asyncio.ensure_future(protocol.send(b"y" * 8192))
    drained = 0
    async with asyncio.timeout(10 * WAIT):
        while not sending.done():  # a segment at a time (the kernel counts whole ones), for many stall timeouts
            drained += len(await loop.sock_recv(raw, 8192))
            await asyncio.sleep(STALL / 5)
    await sending  # raises if the protocol cut the peer
    assert drained > 0
    await protocol.close()
    raw.close()
