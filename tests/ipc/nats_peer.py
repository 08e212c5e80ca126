"""Host B of the NATS bridge tests, in its own process, run with ``sys.executable``.

::

    nats_peer.py NATS_URL TOKEN

Exports endpoint ``remote-calc`` (methods ``add`` and ``whoami``), forwards its
local ``peer.>`` events, and answers each ``host.>`` event arriving from
another host with a ``peer.ack`` event carrying the same data.  Prints
``READY`` once connected and exits when its standard input closes.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from symphony.builtin_plugins.ipc.bus import InProcessBus
from symphony.builtin_plugins.ipc.nats_bridge import NatsBridge
from symphony.hookspecs import EndpointId, EventPayload, MessageEnvelope, RequestPayload


async def main(url: str, token: str) -> None:
    bus = InProcessBus(name="host-b")
    await bus.start()

    async def calc(envelope: MessageEnvelope) -> Any:
        assert isinstance(envelope.payload, RequestPayload)
        params = envelope.payload.params
        if envelope.payload.method == "whoami":
            return {"pid": os.getpid()}
        return params["x"] + params["y"]

    async def ack(envelope: MessageEnvelope) -> None:
        assert isinstance(envelope.payload, EventPayload)
        await bus.publish("peer.ack", envelope.payload.data)

    bus.register_endpoint(EndpointId("remote-calc"), calc)
    bus.subscribe("host.>", ack)
    bridge = NatsBridge(bus, url, token=token, name="host-b")
    await bridge.export("remote-calc")
    await bridge.forward("peer.>")
    await bridge.start()
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await bridge.stop()
    await bus.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
