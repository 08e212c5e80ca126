"""``symphony conductor serve``: a conductor in its own process, answering over the envelope.

- On stdio (the default): the host started this process through its
  supervisor; requests come from the parent, heartbeats are answered, and the
  process ends when the parent closes the pipe.
- On a Unix socket (``--unix PATH``): any number of clients connect with the
  handshake of docs/wire-format.md and send requests to endpoint
  ``conductor``; run and node events are published on the served bus, so
  ``symphony bus subscribe unix:PATH 'run.>'`` follows the runs.

Either way, when it stops, runs still going are cancelled (and resumable).  While it
serves, it runs the components of a long-lived host (``components``: the stale
manager's collection schedule); one that fails to start is logged and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any, Final

import click

from symphony.hookspecs import EndpointId, Event, MessageEnvelope, NotFoundError, RequestPayload
from symphony.hookspecs.ports import AsyncComponent, ConductorPort

from ..ipc.bus.bus import InProcessBus
from ..ipc.bus.server import BusServer
from ..ipc.cli import StopSignals
from ..ipc.endpoint import serve_endpoint
from ..ipc.transports import TransportConfig, UnixTransport
from .wire import ENDPOINT, Handler, handlers

__all__ = ["serve_stdio", "serve_unix"]

#: How long the socket server keeps a routed request open: ``conductor.orchestrate`` lasts as long as its run.
_SOCKET_REQUEST_TIMEOUT: Final = 7 * 24 * 3600.0

log = logging.getLogger("symphony.conductor")


@contextlib.asynccontextmanager
async def running(components: Sequence[AsyncComponent]) -> AsyncIterator[None]:
    """Run ``components`` while the block runs; a failure to start or stop one is logged, never fatal."""
    started = []
    for component in components:
        try:
            await component.start()
        except Exception:
            log.exception("component %r failed to start; serving without it", component.name)
        else:
            started.append(component)
    try:
        yield
    finally:
        for component in reversed(started):
            try:
                await component.stop()
            except Exception:
                log.exception("component %r failed to stop", component.name)


async def serve_stdio(conductor: ConductorPort, components: Sequence[AsyncComponent] = ()) -> None:
    """Answer the parent over stdin/stdout until it closes the pipe, then close ``conductor``."""
    try:
        async with running(components):
            await serve_endpoint(handlers(conductor), name=ENDPOINT)
    finally:
        await conductor.close()


def endpoint_handler(table: dict[str, Handler]) -> Any:
    """A bus endpoint handler dispatching requests by method to ``table``."""

    async def handle(envelope: MessageEnvelope) -> Any:
        payload = envelope.payload
        if not isinstance(payload, RequestPayload):
            return None
        handler = table.get(payload.method)
        if handler is None:
            raise NotFoundError(f"Endpoint {ENDPOINT!r} has no method {payload.method!r}; it offers {sorted(table)}.")
        return await handler(payload.params)

    return handle


async def serve_unix(
    conductor: ConductorPort, path: str, *, token: str | None = None, components: Sequence[AsyncComponent] = ()
) -> None:
    """Listen on the Unix socket ``path`` until SIGINT or SIGTERM (then close ``conductor``).

    Prints ``listening on unix:PATH`` once it listens.
    """
    bus = InProcessBus(name="conductor-server")
    await bus.start()

    def publish(event: Event) -> None:
        if bus.running:
            bus.publish_nowait(event.topic, event.data, sender=event.source)

    bus.register_endpoint(EndpointId(ENDPOINT), endpoint_handler(handlers(conductor, publish)))
    server = BusServer(bus, request_timeout=_SOCKET_REQUEST_TIMEOUT)
    signals = StopSignals()
    listener = await UnixTransport(TransportConfig(token=token)).listen(path)
    accepting = asyncio.get_running_loop().create_task(server.accept_from(listener))
    try:
        click.echo(f"listening on unix:{listener.address}")
        sys.stdout.flush()
        async with running(components):
            await signals.stopped.wait()
    finally:
        signals.restore()
        accepting.cancel()
        await asyncio.gather(accepting, return_exceptions=True)
        await listener.close()
        await server.close()
        await conductor.close()
        await bus.stop()
