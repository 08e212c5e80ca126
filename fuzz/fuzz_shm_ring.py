"""Fuzz the shared-memory transport's reading of a ring its peer controls (docs/wire-format.md, section 7).

The peer maps the same block, so every counter (head, tail, capacity, flags)
and every data byte is the attacker's.  Input: those counters, the receiver's
frame limit and the ring's bytes; the peer has closed its end, so reading ends.
Allowed: frames no longer than the limit, FrameTooLargeError, or
TransportError -- never another exception, a read outside the ring or a hang.
"""

from __future__ import annotations

import asyncio
import socket
from multiprocessing.shared_memory import SharedMemory

from _harness import fuzz, instrumented

with instrumented(__name__):
    from symphony.builtin_plugins.ipc.framing import FrameTooLargeError
    from symphony.builtin_plugins.ipc.transports.shm import CAPACITY, CLOSED, DATA, HEAD, TAIL, Ring, ShmConnection
    from symphony.hookspecs import TransportError

import atheris

_RING = 4096
_U64 = (1 << 64) - 1
#: A live peer may send frames forever; a bounded number is all one input needs.
_MAX_RECEIVES = 64


def _counter(data: atheris.FuzzedDataProvider, plausible: int) -> int:
    return plausible if data.ConsumeBool() else data.ConsumeIntInRange(0, _U64)


def _fill(block: SharedMemory, data: atheris.FuzzedDataProvider) -> None:
    buf = block.buf
    assert buf is not None
    capacity = _counter(data, data.ConsumeIntInRange(0, _RING))
    head = _counter(data, data.ConsumeIntInRange(0, 1 << 20))
    tail = (
        min(_U64, head + data.ConsumeIntInRange(0, _RING + 8))
        if data.ConsumeBool()
        else data.ConsumeIntInRange(0, _U64)
    )
    with buf[:DATA].cast("Q") as counters:
        counters[CAPACITY >> 3], counters[HEAD >> 3], counters[TAIL >> 3] = capacity, head, tail
        counters[CLOSED >> 3] = 1
    payload = data.ConsumeBytes(_RING)
    buf[DATA : DATA + len(payload)] = payload


async def _drain(provider: atheris.FuzzedDataProvider) -> None:
    max_frame_size = provider.ConsumeIntInRange(0, _RING)
    block = SharedMemory(create=True, size=DATA + _RING)
    tx = Ring.create(64)
    try:
        _fill(block, provider)
        try:
            rx = Ring(block)
        except TransportError:
            tx.close()
            return
        ours, theirs = socket.socketpair()
        connection = ShmConnection(tx, rx, ours, codec="msgpack", peer="fuzz", max_frame_size=max_frame_size)
        try:
            for _ in range(_MAX_RECEIVES):
                try:
                    frame = await connection.receive()
                except FrameTooLargeError:
                    continue
                assert len(frame) <= connection.max_frame_size
        except TransportError:
            pass
        finally:
            await connection.close()
            theirs.close()
    finally:
        for ring_block in (block, tx.shm):
            ring_block.close()
            ring_block.unlink()


def target(data: bytes) -> None:
    asyncio.run(_drain(atheris.FuzzedDataProvider(data)))


if __name__ == "__main__":
    fuzz(target)
