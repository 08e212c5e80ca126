"""The shared-memory transport across real processes.

The peer is ``tests/ipc/peer.py serve shm PATH`` run with this interpreter.
Every wait is bounded by ``asyncio.wait_for`` so a regression shows up as a
failure, not a hang.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.ipc.framing import FrameTooLargeError
from symphony.builtin_plugins.ipc.transports.shm import CONSUMER_SLEEPING, TAIL, Ring, ShmConnection, ShmTransport
from symphony.hookspecs import MessageEnvelope, RequestPayload, ResponsePayload, SerializationError, TransportError
from symphony.hookspecs.ports import Connection, Listener, Transport

PEER = Path(__file__).with_name("peer.py")
WAIT = 10.0
SHM_DIR = Path("/dev/shm")


def request(method: str = "add", **params: Any) -> MessageEnvelope:
    return MessageEnvelope.create(RequestPayload(method=method, params=params), sender="test", recipient="peer")


@asynccontextmanager
async def shm_peer(path: Path, *options: str) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """Run ``peer.py serve shm PATH`` and yield its address and process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(PEER), "serve", "shm", str(path), *options, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), WAIT)
        assert line.startswith(b"READY "), line
        yield line.split()[1].decode(), process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        # Its output read to the end: the pipe's end of file is handled on this loop, which then closes the process's
        # transport; left for the collector after the loop closed, it would fail ("Event loop is closed").
        assert process.stdout is not None
        await asyncio.wait_for(process.stdout.read(), WAIT)


async def round_trip(connection: ShmConnection, envelope: MessageEnvelope) -> MessageEnvelope:
    await connection.send_envelope(envelope)
    return await asyncio.wait_for(connection.receive_envelope(), WAIT)


def shm_entries() -> set[str]:
    return set(os.listdir(SHM_DIR)) if SHM_DIR.is_dir() else set()


def _publish_tails(name: str, count: int) -> None:
    ring = Ring.attach(name)
    for i in range(1, count):
        ring.put(TAIL, i * 0x0101_0101_0101)  # every byte changes: a torn store would show
    ring.close()


def test_ring_counters_are_never_seen_half_written_by_another_process() -> None:
    ring = Ring.create(4096)
    writer = multiprocessing.get_context("fork").Process(target=_publish_tails, args=(ring.shm.name, 300_000))
    writer.start()
    seen, bad, last = 0, 0, 0
    while writer.is_alive() or seen == 0:
        for _ in range(10_000):
            value = ring.get(TAIL)
            bad += value % 0x0101_0101_0101 != 0 or value < last
            last = value
            seen += 1
    writer.join()
    ring.unlink()
    ring.close()
    assert bad == 0, f"{bad} of {seen} reads saw a torn or stale counter"


async def test_a_request_over_shm_gets_a_correlated_response_from_another_process(tmp_path: Path) -> None:
    async with shm_peer(tmp_path / "peer.sock") as (address, _):
        connection = await ShmTransport().connect(address)
        sent = request(a=1, b=2)
        reply = await round_trip(connection, sent)
        await connection.close()
    assert connection.codec == "msgpack"
    assert reply.header.correlation_id == sent.header.message_id
    assert isinstance(reply.payload, ResponsePayload)
    assert reply.payload.result["params"] == {"a": 1, "b": 2}


async def test_many_messages_arrive_in_order_and_wrap_around_a_small_ring(tmp_path: Path) -> None:
    async with shm_peer(tmp_path / "peer.sock", "--ring", "4096") as (address, _):
        connection = await ShmTransport().connect(address)
        assert connection.max_frame_size == 4092  # the server's ring capacity decides
        sent = [request(n=n, pad="x" * (n % 300)) for n in range(2_000)]

        async def produce() -> None:
            for envelope in sent:
                await connection.send_envelope(envelope)

        async def consume() -> list[MessageEnvelope]:
            return [await connection.receive_envelope() for _ in sent]

        producer = asyncio.create_task(produce())
        replies = await asyncio.wait_for(consume(), WAIT * 3)
        await producer
        await connection.close()
    assert [r.header.correlation_id for r in replies] == [s.header.message_id for s in sent]
    assert all(isinstance(r.payload, ResponsePayload) for r in replies)


async def test_a_frame_bigger_than_the_ring_is_refused_and_the_connection_still_works(tmp_path: Path) -> None:
    async with shm_peer(tmp_path / "peer.sock", "--ring", "4096") as (address, _):
        connection = await ShmTransport().connect(address)
        with pytest.raises(FrameTooLargeError) as refused:
            await connection.send(b"x" * 5000)
        reply = await round_trip(connection, request())
        await connection.close()
    assert isinstance(refused.value, SerializationError)
    assert (refused.value.expected, refused.value.got) == (4092, 5000)
    assert isinstance(reply.payload, ResponsePayload)


async def test_a_peer_that_dies_mid_request_gives_a_transport_error_not_a_hang(tmp_path: Path) -> None:
    async with shm_peer(tmp_path / "peer.sock") as (address, process):
        connection = await ShmTransport().connect(address)
        await connection.send_envelope(request("die"))
        with pytest.raises(TransportError):
            await asyncio.wait_for(connection.receive_envelope(), WAIT)
        assert await asyncio.wait_for(process.wait(), WAIT) == 3
        with pytest.raises(TransportError):
            await connection.send_envelope(request())
        await connection.close()


async def test_a_closed_client_ends_the_servers_receive_with_a_transport_error(tmp_path: Path) -> None:
    transport = ShmTransport({"timeout": 5.0})
    async with await transport.listen(str(tmp_path / "s.sock")) as listener:
        client_task = asyncio.create_task(transport.connect(listener.address))
        server = await asyncio.wait_for(listener.accept(), WAIT)
        client = await asyncio.wait_for(client_task, WAIT)
        await client.send(b"last words")
        await client.close()
        assert await asyncio.wait_for(server.receive(), WAIT) == b"last words"
        with pytest.raises(TransportError):
            await asyncio.wait_for(server.receive(), WAIT)
        await server.close()


async def until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds, failing with ``what`` after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"not within {WAIT:g} s: {what}"
        await asyncio.sleep(0.005)


async def test_idle_sides_block_on_their_doorbells_instead_of_spinning(tmp_path: Path) -> None:
    """Past its short spin, a side with nothing to read flags itself asleep and waits for the doorbell.

    The flag is what the producer reads before ringing, so both idle sides (ours and
    the peer process) blocked on their sockets is the promise "an idle link uses no
    CPU"; how little CPU it is, is measured by the benchmarks, not asserted here.
    """
    async with shm_peer(tmp_path / "peer.sock") as (address, _):
        connection = await ShmTransport().connect(address)
        await round_trip(connection, request())
        waiting = asyncio.create_task(connection.receive())
        await until(lambda: connection._rx.get(CONSUMER_SLEEPING) == 1, "our receiver asleep on its doorbell")
        await until(lambda: connection._tx.get(CONSUMER_SLEEPING) == 1, "the idle peer asleep on its doorbell")
        assert not waiting.done()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        reply = await round_trip(connection, request())  # the doorbell wakes the peer; the link still works
        await connection.close()
    assert isinstance(reply.payload, ResponsePayload)


async def test_no_shared_memory_block_is_left_behind(tmp_path: Path) -> None:
    before = shm_entries()
    async with shm_peer(tmp_path / "peer.sock") as (address, _):
        connection = await ShmTransport().connect(address)
        during = shm_entries() - before
        await round_trip(connection, request())
        await connection.close()
    transport = ShmTransport()
    async with await transport.listen(str(tmp_path / "s.sock")) as listener:
        client_task = asyncio.create_task(transport.connect(listener.address))
        server = await asyncio.wait_for(listener.accept(), WAIT)
        client = await asyncio.wait_for(client_task, WAIT)
        await server.close()
        await client.close()
    assert during == set()  # names are unlinked as soon as both sides have mapped them
    assert shm_entries() - before == set()
    assert not (tmp_path / "s.sock").exists()


async def test_the_setup_socket_is_owner_only(tmp_path: Path) -> None:
    async with await ShmTransport().listen(str(tmp_path / "s.sock")) as listener:
        assert os.stat(listener.address).st_mode & 0o777 == 0o600


async def test_the_plugin_contributes_shm_satisfying_the_ports(tmp_path: Path) -> None:
    from symphony.builtin_plugins.ipc.transports import plugin

    spec = next(spec for spec in plugin.TRANSPORTS if spec.name == "shm")
    transport = spec.factory({"timeout": 2.0, "ring_capacity": 8192, "spin_us": 10})
    assert isinstance(transport, Transport) and isinstance(transport, ShmTransport)
    assert (transport.ring_capacity, transport.spin_us) == (8192, 10.0)
    async with await transport.listen(str(tmp_path / "p.sock")) as listener:
        assert isinstance(listener, Listener)
        client_task = asyncio.create_task(transport.connect(listener.address))
        server = await asyncio.wait_for(listener.accept(), WAIT)
        client = await asyncio.wait_for(client_task, WAIT)
        assert isinstance(client, Connection) and isinstance(server, Connection)
        await client.send(b"ping")
        assert await asyncio.wait_for(server.receive(), WAIT) == b"ping"
        await client.close()
        await server.close()


async def test_the_peer_helper_leaves_its_process_output_read_to_the_end(tmp_path: Path) -> None:
    async with shm_peer(tmp_path / "peer.sock") as (_, process):
        pass
    assert process.stdout is not None and process.stdout.at_eof()  # so its pipe and transport are closed on this loop
