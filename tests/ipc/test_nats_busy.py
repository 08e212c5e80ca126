"""The NATS bridge answers a bounded number of requests from other hosts at once.

Past ``max_concurrent_requests`` (64 by default) a request gets a busy error at
once instead of one more task: a host flooding the subject cannot make the
bridge start tasks without end. Against a real nats-server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from symphony.builtin_plugins.ipc.bus import InProcessBus
from symphony.builtin_plugins.ipc.nats_bridge import DEFAULT_MAX_CONCURRENT_REQUESTS, NatsBridge
from symphony.hookspecs import MessageEnvelope, ResponsePayload, TransportError

from .test_nats import TOKEN, answered, nats_server, request, until

LIMIT = 4


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with nats_server("--auth", TOKEN) as found:
        yield found


class Slow:
    """An endpoint whose answers wait for ``release``; ``running`` counts the requests it holds."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.running = 0

    async def __call__(self, envelope: MessageEnvelope) -> dict[str, Any]:
        self.running += 1
        await self.release.wait()
        return {"done": True}


@pytest.fixture
async def bridged(url: str) -> AsyncIterator[tuple[InProcessBus, NatsBridge, Slow]]:
    asking, answering = InProcessBus(name="asking"), InProcessBus(name="answering")
    client = NatsBridge(asking, url, token=TOKEN, name="asking", request_timeout=30)
    server = NatsBridge(answering, url, token=TOKEN, name="answering", max_concurrent_requests=LIMIT)
    slow = Slow()
    for bus in (asking, answering):
        await bus.start()
    answering.register_endpoint("slow", slow)  # type: ignore[arg-type]
    await server.export("slow")
    client.import_endpoint("slow")
    await server.start()
    await client.start()
    yield asking, server, slow
    slow.release.set()
    for bridge, bus in ((client, asking), (server, answering)):
        await bridge.stop()
        await bus.stop()


def test_the_default_bound_is_64() -> None:
    assert DEFAULT_MAX_CONCURRENT_REQUESTS == 64


async def test_a_request_beyond_the_bound_is_refused_as_busy_at_once(
    bridged: tuple[InProcessBus, NatsBridge, Slow],
) -> None:
    asking, server, slow = bridged
    first = asyncio.ensure_future(answered(asking, request("wait", "slow")))
    await until(lambda: slow.running == 1, timeout=30)  # the subscription is live: no "no responders" below
    held = [first, *(asyncio.ensure_future(asking.request(request("wait", "slow"), timeout=30)) for _ in range(3))]
    await until(lambda: slow.running == LIMIT, timeout=30)
    with pytest.raises(TransportError, match=f"busy: it answers at most {LIMIT} requests"):
        await asking.request(request("one.more", "slow"), timeout=30)
    assert server.refused_busy == 1 and slow.running == LIMIT
    slow.release.set()
    for reply in await asyncio.gather(*held):
        assert reply.payload == ResponsePayload(result={"done": True})
    later = await asking.request(request("later", "slow"), timeout=30)
    assert later.payload == ResponsePayload(result={"done": True})
