"""A socket client speaks only as itself: the bus server stamps the sender of everything it sends.

Against an in-process BusServer on a real Unix socket, with real socket clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from symphony.builtin_plugins.ipc.bus import InProcessBus
from symphony.builtin_plugins.ipc.bus.server import BusServer
from symphony.builtin_plugins.ipc.transports import StreamConnection, UnixTransport
from symphony.hookspecs import EndpointId, EventPayload, MessageEnvelope, RequestPayload, ResponsePayload

from .raw_client import DEADLINE


class Served:
    def __init__(self, bus: InProcessBus, address: str) -> None:
        self.bus, self.address = bus, address
        self.seen: list[MessageEnvelope] = []
        self.release = asyncio.Event()

    async def calc(self, envelope: MessageEnvelope) -> str:
        """An endpoint that records who asked, and answers once released."""
        self.seen.append(envelope)
        await self.release.wait()
        return "real"

    async def connect(self) -> StreamConnection:
        return await UnixTransport().connect(self.address)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    bus = InProcessBus(name="served")
    await bus.start()
    server = BusServer(bus)
    listener = await UnixTransport().listen(str(tmp_path / "bus.sock"))
    server.spawn(server.accept_from(listener))
    served = Served(bus, listener.address)
    bus.register_endpoint(EndpointId("calc"), served.calc)
    yield served
    await listener.close()
    await server.close()
    await bus.stop()


def event(topic: str, sender: str) -> MessageEnvelope:
    return MessageEnvelope.create(EventPayload(topic=topic, data={}), sender=sender, recipient="*")


async def test_an_event_claiming_an_endpoints_name_reaches_subscribers_under_the_clients_own(served: Served) -> None:
    seen: list[MessageEnvelope] = []
    arrived = asyncio.Event()

    async def observe(envelope: MessageEnvelope) -> None:
        seen.append(envelope)
        arrived.set()

    served.bus.subscribe("run.>", observe)
    client = await served.connect()
    await client.send_envelope(event("run.finished", sender="conductor"))
    async with asyncio.timeout(DEADLINE):
        await arrived.wait()
    await client.close()
    sender = seen[0].header.sender
    assert sender != "conductor" and sender.startswith("conductor@")


async def test_an_endpoint_sees_each_connection_under_its_own_stamped_name(served: Served) -> None:
    clients = [await served.connect(), await served.connect()]
    for client in clients:
        asking = MessageEnvelope.create(RequestPayload(method="add"), sender="alice", recipient="calc")
        await client.send_envelope(asking)
    async with asyncio.timeout(DEADLINE):
        while len(served.seen) < 2:
            await asyncio.sleep(0.01)
    served.release.set()
    for client in clients:
        async with asyncio.timeout(DEADLINE):
            assert (await client.receive_envelope()).payload == ResponsePayload(result="real")
        await client.close()
    senders = [envelope.header.sender for envelope in served.seen]
    assert all(s.startswith("alice@") for s in senders) and senders[0] != senders[1]


async def test_a_client_cannot_answer_a_request_in_place_of_the_endpoint_it_names(served: Served) -> None:
    """The forger knows the pending request's id; its answer, claiming to come from ``calc``, is dropped."""
    asking = MessageEnvelope.create(RequestPayload(method="add"), sender="host", recipient="calc")
    pending = asyncio.ensure_future(served.bus.request(asking, DEADLINE))
    async with asyncio.timeout(DEADLINE):
        while not served.seen:
            await asyncio.sleep(0.01)
    forged = MessageEnvelope.create(ResponsePayload(result="forged"), sender="calc", recipient="host")
    forged = msgspec.structs.replace(
        forged, header=msgspec.structs.replace(forged.header, correlation_id=asking.header.message_id)
    )
    mallory = await served.connect()
    await mallory.send_envelope(forged)
    async with asyncio.timeout(DEADLINE):
        while served.bus.metrics().dropped.get("wrong_sender", 0) < 1:
            await asyncio.sleep(0.01)
    assert not pending.done()
    served.release.set()
    async with asyncio.timeout(DEADLINE):
        reply = await pending
    await mallory.close()
    assert reply.payload == ResponsePayload(result="real")
