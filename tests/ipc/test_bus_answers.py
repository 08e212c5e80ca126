"""Only the endpoint a request was sent to can answer it.

``bus.send`` completes a pending request by the ``correlation_id`` of a response
or error; another endpoint that learns (or guesses) that id must not be able to
answer in its place. A wrong sender's answer is dropped and counted, and the
request still gets the real answer.
"""

from __future__ import annotations

import asyncio

import pytest

from symphony.builtin_plugins.ipc.bus import DEFERRED, InProcessBus
from symphony.hookspecs import EndpointId, ErrorPayload, MessageEnvelope, ResponsePayload, SymphonyError

from .test_bus import SERVER, bus, request

__all__ = ["bus"]  # the fixture, shared with test_bus.py


def answer(to: MessageEnvelope, sender: str, payload: ResponsePayload | ErrorPayload) -> MessageEnvelope:
    return MessageEnvelope.create(
        payload, sender=sender, recipient=to.header.sender, correlation_id=to.header.message_id
    )


@pytest.mark.parametrize(
    "forged",
    [ResponsePayload(result="forged"), ErrorPayload.from_exception(SymphonyError("forged"))],
    ids=["response", "error"],
)
async def test_an_answer_from_another_endpoint_than_the_recipient_does_not_complete_the_request(
    bus: InProcessBus, forged: ResponsePayload | ErrorPayload
) -> None:
    received: asyncio.Queue[MessageEnvelope] = asyncio.Queue()

    async def deferred(envelope: MessageEnvelope) -> object:
        received.put_nowait(envelope)
        return DEFERRED

    bus.register_endpoint(SERVER, deferred)
    bus.register_endpoint(EndpointId("mallory"), deferred)
    sent = request("ask")
    asking = asyncio.ensure_future(bus.request(sent, timeout=30))
    delivered = await asyncio.wait_for(received.get(), 30)
    await bus.send(answer(delivered, "mallory", forged))
    await asyncio.sleep(0)
    assert not asking.done()
    assert bus.metrics().dropped == {"wrong_sender": 1}
    await bus.send(answer(delivered, "server", ResponsePayload(result="real")))
    reply = await asyncio.wait_for(asking, 30)
    assert reply.header.sender == "server" and reply.payload == ResponsePayload(result="real")
