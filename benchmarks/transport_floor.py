"""The least an asyncio request/response over a Unix socket costs: the floor under ``transport_rtt.unix``.

Both ends run the stock asyncio event loop with the same shape as a
Connection's ``receive`` (a BufferedProtocol whose ``buffer_updated`` resolves
the future a task awaits; so two loop turns per message) and the same codec
work as the pyzmq baseline (MessagePack encode and decode of the envelope on
each side), and nothing else: no framing, no handshake, no checks.  The
exchange is a strict ping-pong of one small message, so each read holds
exactly one whole message (a short or long read is an error, not a retry).
This is what sleeping in the event loop costs: a transport that waits for
every message in ``epoll_wait`` cannot beat it, whatever its own code does;
the unix transport gets below it by polling for an answer that is due
instead of sleeping (see ``symphony.hookspecs.wire.frames``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from benchmarks._measure import no_gc
from symphony.builtin_plugins.ipc.codecs import CODECS
from symphony.hookspecs import MessageEnvelope

__all__ = ["measure", "serve"]

_MSGPACK = next(codec for codec in CODECS if codec.name == "msgpack")


class _Messages(asyncio.BufferedProtocol):
    """Each read is one message (ping-pong); ``receive`` awaits the next, as a Connection's does."""

    def __init__(self) -> None:
        self._buffer = memoryview(bytearray(64 * 1024))
        self._loop = asyncio.get_running_loop()
        self._count = 0
        self._waiter: asyncio.Future[None] | None = None
        self.transport: Any = None
        self.closed = self._loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        self._count = nbytes
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(EOFError())
        if not self.closed.done():
            self.closed.set_result(None)

    async def receive(self) -> bytes:
        if not self._count:
            self._waiter = self._loop.create_future()
            await self._waiter
        count, self._count = self._count, 0
        return self._buffer[:count].tobytes()


async def serve(path: str) -> None:
    """Echo (decode, encode) each message of the one client on ``path``, until it leaves."""
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[_Messages] = loop.create_future()

    def factory() -> _Messages:
        protocol = _Messages()
        accepted.set_result(protocol)
        return protocol

    server = await loop.create_unix_server(factory, path)
    print("READY", path, flush=True)
    protocol = await accepted
    try:
        while True:
            request = _MSGPACK.decode(await protocol.receive())
            protocol.transport.write(_MSGPACK.encode(request))
    except EOFError:
        pass
    server.close()


async def measure(path: str, envelope: MessageEnvelope, count: int) -> list[float]:
    """``count`` round-trip times (µs) of ``envelope`` to the peer serving ``path``."""
    _, protocol = await asyncio.get_running_loop().create_unix_connection(_Messages, path)
    size = len(_MSGPACK.encode(envelope))
    clock = time.perf_counter_ns

    async def once() -> None:
        protocol.transport.write(_MSGPACK.encode(envelope))
        reply = await protocol.receive()
        if len(reply) != size:
            raise RuntimeError(f"floor peer: expected one {size}-byte message per read, got {len(reply)} bytes")
        _MSGPACK.decode(reply)

    try:
        for _ in range(min(1_000, count)):
            await once()
        samples = [0] * count
        with no_gc():
            for i in range(count):
                start = clock()
                await once()
                samples[i] = clock() - start
    finally:
        protocol.transport.close()
        await protocol.closed
    return [ns / 1000 for ns in samples]
