"""What an attacker on the socket can do to ``symphony bus serve``, and that none of it hurts it.

Connection floods, clients that never finish the handshake, oversized frames and garbage
after the handshake: each is refused or answered, the server stays up and keeps serving
the others, and its memory stays bounded. The conductor's socket server is the same
server, held to the same backpressure.
"""

from __future__ import annotations

import asyncio
import json
import select
import selectors
import socket
import struct
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Final, cast

import msgspec
import pytest

from symphony.builtin_plugins.ipc.bus import InProcessBus
from symphony.builtin_plugins.ipc.bus.server import BusServer
from symphony.builtin_plugins.ipc.transports import UnixTransport
from symphony.hookspecs import EndpointId, MessageEnvelope, RequestPayload, ResponsePayload

from .raw_client import DEADLINE, Client, Server, frame, receive_frame, request, serve, wait_for

pytestmark = pytest.mark.slow  # each test starts a server process; the handshake ones wait out its 10 s timeout

MAX_CONNECTIONS: Final = 256
RSS_GROWTH_BOUND: Final = 48 * 1024 * 1024


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[Server]:
    yield from serve(tmp_path, "bus", "serve", "--tcp", "127.0.0.1:0")


def refusal(sock: socket.socket) -> str:
    """The server's handshake refusal on a raw socket (waits for it)."""
    sock.settimeout(DEADLINE)
    reason: str = json.loads(receive_frame(sock))["error"]
    return reason


def test_connections_beyond_the_limit_are_refused_at_once_and_the_server_keeps_serving(bus: Server) -> None:
    served = Client(bus.addresses["unix"])
    extra = 20
    flood = []
    for _ in range(MAX_CONNECTIONS + extra):  # the one served above takes a place too
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(bus.addresses["unix"][1])
        flood.append(sock)
    busy: list[socket.socket] = []
    waiting = selectors.DefaultSelector()  # not select(): a busy test process may hold descriptors past 1024
    for sock in flood:
        waiting.register(sock, selectors.EVENT_READ)
    deadline = time.monotonic() + DEADLINE
    while len(busy) < extra + 1 and time.monotonic() < deadline:
        for key, _ in waiting.select(1.0):
            sock = cast(socket.socket, key.fileobj)
            assert "too many connections" in refusal(sock)
            busy.append(sock)
            waiting.unregister(sock)
    waiting.close()
    assert len(busy) == extra + 1  # refused before any handshake timeout could have run out
    assert served.ask(request("m", "echo"))["payload"]["result"] == {"method": "m", "params": {}}
    assert served.ask(request("ping", "bus"))["payload"]["result"]["others"]["refused"] == {"busy": extra + 1}
    for sock in flood:
        sock.close()
    wait_for(
        lambda: served.ask(request("ping", "bus"))["payload"]["result"]["others"]["handshaking"] == 0,
        "the closed connections to free their places",
    )
    assert Client(bus.addresses["unix"]).ask(request("ping", "bus"))["payload"]["result"]["pong"] is True
    served.close()


@pytest.mark.parametrize("trickle", [False, True], ids=["silent", "trickling"])
def test_a_client_that_does_not_finish_its_hello_in_time_is_refused(bus: Server, trickle: bool) -> None:
    hello = frame(json.dumps({"symphony": 1, "codecs": ["msgpack"], "token": None}).encode())
    sock = socket.create_connection(tuple(bus.addresses["tcp"][1].rsplit(":", 1)))  # type: ignore[arg-type]
    if trickle:  # one byte every half second: the 10 s bound covers the whole hello, not each read
        answered = select.poll()  # not select(): a busy test process may hold descriptors past 1024
        answered.register(sock, select.POLLIN)
        for byte in hello[:-1]:
            sock.sendall(bytes([byte]))
            if answered.poll(500):
                break
    assert refusal(sock) == "no handshake within 10.0 s"
    sock.close()
    assert bus.others()["refused"]["timeout"] == 1


def test_a_frame_longer_than_the_limit_is_refused_and_the_connection_closed(bus: Server) -> None:
    client = Client(bus.addresses["unix"])
    client.sock.sendall(struct.pack(">I", 1 << 30))
    answer = client.receive_envelope()
    assert answer["payload"]["category"] == "ipc.serialization"
    assert "frame too large" in answer["payload"]["message"]
    with pytest.raises(ConnectionError):
        client.receive()
    client.close()
    assert Client(bus.addresses["unix"]).ask(request("ping", "bus"))["payload"]["result"]["pong"] is True


def test_garbage_after_the_handshake_is_answered_frame_by_frame_without_growing_the_server(bus: Server) -> None:
    before = bus.settled_rss()
    client = Client(bus.addresses["tcp"])
    sent = client.flood(50_000, lambda: b"\xc1" * 8000)  # 0xc1: never valid msgpack
    assert sent < 50_000, "the server kept reading garbage from a client that reads none of its answers"
    assert bus.rss - before < RSS_GROWTH_BOUND
    answer = client.receive_envelope()
    assert answer["header"]["message_type"] == "error"
    assert answer["payload"]["category"] == "ipc.serialization"
    client.close()
    other = Client(bus.addresses["tcp"])
    assert other.ask(request("ping", "bus"))["payload"]["result"]["pong"] is True
    other.close()


def test_the_conductor_socket_stops_reading_from_a_client_that_reads_no_answers(tmp_path: Path) -> None:
    for conductor in serve(tmp_path, "conductor", "serve"):
        client = Client(conductor.addresses["unix"])
        sent = client.flood(50_000, lambda: request("ping", "bus", pad="x" * 8000))
        assert sent < 50_000, "the conductor's server kept reading from a client that reads none of its answers"
        client.close()


def keepalive_timer(local_port: int, remote_port: int) -> bool:
    """Whether the kernel runs a keepalive timer on the server's socket of this loopback connection.

    /proc/net/tcp: ``local rem st ... tr:when``; timer kind 2 is keepalive.
    """
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, timer = fields[1], fields[2], fields[5]
        if local == f"0100007F:{local_port:04X}" and remote == f"0100007F:{remote_port:04X}":
            return timer.startswith("02:")
    raise AssertionError(f"no socket 127.0.0.1:{local_port} <- 127.0.0.1:{remote_port} in /proc/net/tcp")


def test_an_idle_tcp_peer_is_probed_so_one_that_vanished_without_closing_is_dropped(bus: Server) -> None:
    client = Client(bus.addresses["tcp"])
    server_port = int(bus.addresses["tcp"][1].rsplit(":", 1)[1])
    client_port = client.sock.getsockname()[1]
    assert keepalive_timer(server_port, client_port)
    client.close()


class Served:
    """An in-process BusServer on a real Unix socket, with an endpoint ``slow`` that answers once released."""

    def __init__(self, bus: InProcessBus, server: BusServer, address: str) -> None:
        self.bus, self.server, self.address = bus, server, address
        self.release = asyncio.Event()

    async def slow(self, envelope: MessageEnvelope) -> dict[str, Any]:
        await self.release.wait()
        payload = envelope.payload
        assert isinstance(payload, RequestPayload)
        return dict(payload.params)

    async def until(self, condition: Callable[[dict[str, Any]], bool]) -> None:
        async with asyncio.timeout(DEADLINE):
            while not condition(self.server.load()):
                await asyncio.sleep(0.01)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    bus = InProcessBus(name="served")
    await bus.start()
    server = BusServer(bus, max_in_flight=2, request_timeout=3600.0)  # longer than any wait here
    listener = await UnixTransport().listen(str(tmp_path / "bus.sock"))
    server.spawn(server.accept_from(listener))
    served = Served(bus, server, listener.address)
    bus.register_endpoint(EndpointId("slow"), served.slow)
    yield served
    await listener.close()
    await server.close()
    await bus.stop()


async def test_clients_cannot_collide_with_or_answer_each_others_requests(served: Served) -> None:
    """Both clients use the id "m1" (as the doc's example does); the second forges an answer to it."""
    alice = await UnixTransport().connect(served.address)
    mallory = await UnixTransport().connect(served.address)

    def asking(who: str) -> MessageEnvelope:
        envelope = request("ask", "slow", who=who)
        return msgspec.structs.replace(envelope, header=msgspec.structs.replace(envelope.header, message_id="m1"))

    await alice.send_envelope(asking("alice"))
    await mallory.send_envelope(asking("mallory"))
    await served.until(lambda load: load["requests"] == 2)
    forged = MessageEnvelope.create(ResponsePayload(result={"who": "forged"}), sender="slow", recipient="test")
    await mallory.send_envelope(
        msgspec.structs.replace(forged, header=msgspec.structs.replace(forged.header, correlation_id="m1"))
    )
    ping = request("ping", "bus")
    await mallory.send_envelope(ping)  # answered after the forgery was handled: frames are read in order
    async with asyncio.timeout(DEADLINE):
        assert (await mallory.receive_envelope()).header.correlation_id == ping.header.message_id
    served.release.set()
    for client, who in ((alice, "alice"), (mallory, "mallory")):
        async with asyncio.timeout(DEADLINE):
            answer = await client.receive_envelope()
        assert answer.header.correlation_id == "m1"
        assert isinstance(answer.payload, ResponsePayload), answer.payload
        assert answer.payload.result == {"who": who}
        await client.close()


async def test_a_client_that_leaves_while_its_requests_fill_every_slot_is_freed_at_once(served: Served) -> None:
    """With every slot taken the server is not reading this client; it must still notice it left."""
    client = await UnixTransport().connect(served.address)
    for _ in range(3):  # two run (max_in_flight=2), the third waits for room
        await client.send_envelope(request("ask", "slow"))
    await served.until(lambda load: load["requests"] == 2)
    await client.close()
    await served.until(lambda load: load["connections"] == 0 and load["requests"] == 0)


def test_one_connection_holds_at_most_128_subscriptions_of_at_most_1024_characters(bus: Server) -> None:
    client = Client(bus.addresses["unix"])
    for index in range(128):
        answer = client.ask(request("subscribe", "bus", pattern=f"t{index}.>"))
        assert answer["payload"]["result"] == {"subscribed": f"t{index}.>"}
    refused = client.ask(request("subscribe", "bus", pattern="one.more"))["payload"]
    assert refused["category"] == "ipc.serialization" and "already has 128 subscriptions" in refused["message"]
    client.ask(request("unsubscribe", "bus", pattern="t0.>"))
    assert client.ask(request("subscribe", "bus", pattern="one.more"))["payload"]["result"] == {
        "subscribed": "one.more"
    }
    long = client.ask(request("subscribe", "bus", pattern="a." * 512 + "b"))["payload"]
    assert long["category"] == "ipc.serialization" and "1 to 1024 characters" in long["message"]
    assert bus.others()["subscriptions"] == 128
    client.close()
